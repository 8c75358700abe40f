from bot.answering.retrieve import _neighbour
from bot.store.news_index import open_index
from bot.types import Sentence


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
