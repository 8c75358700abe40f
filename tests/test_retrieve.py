import pytest

from bot.answering.retrieve import _neighbour
from bot.store.news_index import open_index
from bot.types import Sentence


@pytest.mark.slow
def test_a_sentence_leaning_back_across_a_long_split_paragraph_finds_its_last_sentence(embeddings, tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    long_paragraph = " ".join(f"Sætning nummer {i} handler om en lang og detaljeret sag i byen." for i in range(30))
    (seeds / "long.txt").write_text(
        f" date 2023-05 {long_paragraph}\n\nDet oplyser politiet.\n\n/dpa/\n", encoding="utf-8"
    )
    index, _ = open_index(seeds, tmp_path / "index", embeddings)
    assert len(index.chunks.get_by_ids(["long:p1.1"])) == 1  # the paragraph really is split
    leaning = Sentence("Det oplyser politiet.", "long", "dpa", "2023-05", "", paragraph=2, index=0)
    previous = _neighbour(index, leaning, -1)
    assert previous is not None and previous.page_content.startswith("Sætning nummer 29 ")


def _hit(text: str, doc: str, date: str, score: float):
    from langchain_core.documents import Document

    metadata = {"doc_id": doc, "date": date, "title": f"Nyt fra {doc}"}
    return Document(id=f"{doc}:p1.s0", page_content=text, metadata=metadata), score


def _versions(sentence: str) -> list:
    """Five versions of one sentence, in five towns, the first the best match and the last the newest."""
    return [
        _hit(sentence.format(town=town, n=n), f"v{n}", f"2022-01-{n:02d}", 0.9 - n / 100)
        for n, town in enumerate(["Aarhus", "Odense", "Vejle", "Skive", "Thisted"], start=1)
    ]


def _doc_ids(hits: list) -> list[str]:
    return [doc.metadata["doc_id"] for doc, _ in hits]


def test_versions_of_one_sentence_leave_the_candidates_to_other_sentences():
    from bot.answering.retrieve import versions_thinned

    versions = _versions("Forhandlingerne i {town} har stået på i fem uger og varede {n} timer.")
    answer = _hit("Løbet var 254 kilometer langt.", "race", "2021-05-02", 0.8)
    # the best match and the newest version stay, and the answer keeps its slot
    assert _doc_ids(versions_thinned([*versions, answer], at_most=3)) == ["v1", "v5", "race"]


def test_different_sentences_are_all_candidates():
    from bot.answering.retrieve import versions_thinned

    hits = [
        _hit("Stormen væltede træer i Esbjerg.", "a", "2022-01-01", 0.9),
        _hit("Stormen lukkede broen over Limfjorden.", "b", "2022-01-02", 0.85),
        _hit("Strømmen er væk i 4.000 hjem.", "c", "2022-01-03", 0.8),
    ]
    assert versions_thinned(hits, at_most=16) == hits


def test_two_versions_of_one_date_that_disagree_both_stay():
    from bot.answering.retrieve import versions_thinned

    hits = [
        _hit(f"Ventetiden var {n} uger i Aarhus.", doc, "2023-04", 0.9 - n / 1000)
        for doc, n in zip("abc", (30, 31, 32))
    ]
    assert _doc_ids(versions_thinned(hits, at_most=16)) == ["a", "b"]


def test_the_version_naming_the_asked_for_place_or_from_the_asked_for_period_stays():
    from bot.answering.retrieve import favouring, versions_thinned

    versions = _versions("Forhandlingerne i {town} varede {n} timer.")
    assert _doc_ids(versions_thinned(versions, 16, favouring(["Vejle"], set()))) == ["v1", "v3", "v5"]
    assert _doc_ids(versions_thinned(versions, 16, favouring([], {"v2"}))) == ["v1", "v2", "v5"]


def test_results_without_words_are_not_taken_for_versions_of_each_other():
    from bot.answering.retrieve import versions_thinned

    scores = [_hit(score, doc, "2022-01-01", 0.9) for doc, score in zip("abc", ("2-1.", "0-0.", "3-3."))]
    assert len(versions_thinned(scores, at_most=16)) == 3
