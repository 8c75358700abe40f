"""The citations a reader sees: one per paragraph, numbered in the order the answer uses them."""

from __future__ import annotations

from dataclasses import replace

from bot.answering.citing import headline, merge_citations
from bot.frontends.render import source_label, telegram_html
from bot.types import Answer, Citation


def quote(n: int, text: str, paragraph: int, span: tuple[int, int], doc: str = "a", score: float = 0.8) -> Citation:
    title = "Regeringen er faldet efter flere dages uro i landet" if doc == "a" else "Priserne stiger igen"
    return Citation(n, text, doc, "ritzau", "2022-01", paragraph, score, title=title, span=span)


def test_two_sentences_of_one_paragraph_are_one_citation_in_reading_order():
    passages = [quote(1, "B.", 12, (3, 3)), quote(2, "X.", 4, (0, 0)), quote(3, "A.", 12, (2, 2))]
    text, shown = merge_citations("It was B [1] and A [3].", passages)
    assert [(c.n, c.paragraph) for c in shown] == [(1, 12), (2, 4)]
    assert shown[0].quote == "A. B."  # adjacent sentences, as the article reads
    assert text == "It was B [1] and A [1]."


def test_sentences_apart_in_one_paragraph_are_joined_with_an_ellipsis():
    _, shown = merge_citations("[1]", [quote(1, "First.", 3, (0, 0)), quote(2, "Third.", 3, (2, 2))])
    assert shown[0].quote == "First. … Third."


def test_citations_are_numbered_in_the_order_the_answer_uses_them():
    passages = [quote(1, "One.", 1, (0, 0)), quote(2, "Two.", 2, (0, 0)), quote(3, "Three.", 3, (0, 0))]
    text, shown = merge_citations("Troops came [3], then talks [1, 3].", passages)
    assert text == "Troops came [1], then talks [1, 2]."
    assert [c.quote for c in shown] == ["Three.", "One.", "Two."]  # the uncited one last


def test_the_same_paragraph_of_two_articles_stays_two_citations_labelled_by_their_first_words():
    passages = [quote(1, "A.", 12, (0, 0), doc="a"), quote(2, "B.", 12, (0, 0), doc="b")]
    _, shown = merge_citations("[1] [2]", passages, name_articles=True)
    labels = [source_label(c, "en") for c in shown]
    assert labels == [
        "ritzau, 2022-01, “Regeringen er faldet efter flere dages…”, ¶12",
        "ritzau, 2022-01, “Priserne stiger igen”, ¶12",
    ]
    _, alone = merge_citations("[1]", passages[:1])
    assert source_label(alone[0], "en") == "ritzau, 2022-01, ¶12"  # one article: nothing to tell apart


def test_a_headline_is_the_first_words():
    assert headline("En to tre fire fem seks syv otte") == "En to tre fire fem seks…"
    assert headline("Kort titel") == "Kort titel"


def test_the_sources_line_names_each_paragraph_once():
    passages = [quote(1, "B.", 12, (3, 3)), quote(2, "A.", 12, (1, 1)), quote(3, "X.", 4, (0, 0))]
    text, shown = merge_citations("«B.» [1] «A.» [2]", passages)
    html = telegram_html(Answer("q", "en", text, True, shown, passages=passages))
    assert html.count("¶12") == 1 and "[3]" not in html


def test_two_articles_of_one_source_and_month_are_told_apart_by_as_many_words_as_it_takes():
    same = "Regeringen er faldet efter flere dages uro i"
    a = Citation(1, "A.", "a", "ritzau", "2022-01", 2, 0.9, title=f"{same} hovedstaden")
    b = Citation(2, "B.", "b", "ritzau", "2022-01", 2, 0.8, title=f"{same} landet")
    _, shown = merge_citations("[1] [2]", [a, b], name_articles=True)
    assert [c.headline for c in shown] == [f"{same} hovedstaden", f"{same} landet"]


def _passage(text: str, doc: str, date: str, score: float):
    from bot.answering.retrieve import Passage
    from bot.types import Sentence

    return Passage([Sentence(text, doc, "ritzau", date, f"Title {doc}", 3, 0, score)], score, score)


BACKGROUND = "Loven blev vedtaget i Folketinget i 2021 efter lange forhandlinger mellem partierne."


def test_a_background_sentence_repeated_by_a_newer_story_is_one_passage_from_the_newest():
    from bot.answering.retrieve import distinct

    passages = [
        _passage(BACKGROUND, "old", "2022-01-05 08:00", 0.91),
        _passage("Ministeren vil ikke kommentere sagen.", "old", "2022-01-05 08:00", 0.85),
        _passage(BACKGROUND.replace("lange", "langvarige"), "new", "2022-01-07 10:30", 0.90),
    ]
    kept = distinct(passages)
    assert [(p.lead.doc_id, p.score) for p in kept] == [("new", 0.91), ("old", 0.85)]


def test_near_identical_sentences_with_other_numbers_disagree_and_both_stay():
    from bot.answering.retrieve import distinct

    passages = [
        _passage("Stormen har kostet 12 mennesker livet, oplyser politiet.", "old", "2022-01-05", 0.91),
        _passage("Stormen har kostet 14 mennesker livet, oplyser politiet.", "new", "2022-01-06", 0.90),
    ]
    assert len(distinct(passages)) == 2


def test_a_wire_update_repeating_the_background_takes_one_citation_slot(embeddings, tmp_path):
    from bot.answering.chain import Answerer
    from bot.config import Settings
    from bot.store.news_index import open_index

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    background = (
        "Havnen i Frederikshavn blev udvidet i 2019 for 400 millioner kroner. "
        "Udvidelsen blev betalt af kommunen og staten i fællesskab."
    )
    (seeds / "a_first.txt").write_text(
        f" date 2023-04-02 Et containerskib gik på grund ved havnen søndag.\n\n{background}\n\n/ritzau/\n",
        encoding="utf-8",
    )
    (seeds / "b_update.txt").write_text(
        f" date 2023-04-03 Containerskibet er bugseret fri af to slæbebåde mandag.\n\n{background}\n\n/ritzau/\n",
        encoding="utf-8",
    )
    (seeds / "c_other.txt").write_text(
        " date 2023-01-10 Kommunen bygger en ny skole i Skagen.\n\n"
        "Skolen skal stå færdig i 2025 og koste 90 millioner kroner.\n\n/ritzau/\n",
        encoding="utf-8",
    )
    index, _ = open_index(seeds, tmp_path / "index", embeddings)
    settings = Settings(
        seeds_dir=seeds, index_dir=tmp_path / "index", data_dir=tmp_path, llm="extractive", _env_file=None
    )
    answer = Answerer(settings, index).answer("Hvad kostede udvidelsen af havnen i Frederikshavn?")
    assert answer.answerable
    repeated = [c for c in answer.passages if "400 millioner" in c.quote]
    assert [c.doc_id for c in repeated] == ["b_update"]  # once, from the newest story
    assert "2023-04-03" in answer.answer


def test_a_citation_names_its_byline_and_links_its_article_where_the_archive_has_them():
    from bot.frontends.render import plain, slack_blocks, telegram_html, telegram_quotes_html

    cited = Citation(
        1,
        "Loven træder i kraft 1. juli.",
        "ninjs-1",
        "ritzau",
        "2023-03-14 09:42",
        2,
        0.9,
        byline="Anna Holm",
        url="https://example.org/vind?a=1&b=2",
    )
    answer = Answer("Hvornår?", "da", "Den 1. juli [1].", True, [cited])
    assert "ritzau, Anna Holm, 2023-03-14 09:42, ¶2" in plain(answer)
    assert "https://example.org/vind?a=1&b=2" in plain(answer)
    assert '<a href="https://example.org/vind?a=1&amp;b=2">' in telegram_html(answer)
    assert '<a href="https://example.org/vind?a=1&amp;b=2">' in telegram_quotes_html(answer)
    assert "<https://example.org/vind?a=1&amp;b=2|ritzau, Anna Holm" in str(slack_blocks(answer))
    unsafe = Answer("Hvornår?", "da", "Den 1. juli [1].", True, [replace(cited, url="javascript:alert(1)")])
    assert "href" not in telegram_html(unsafe) and "javascript" not in str(slack_blocks(unsafe))


def test_a_source_label_names_the_day_a_story_was_first_filed_when_that_was_another_day():
    from bot.frontends.render import plain, slack_blocks, telegram_quotes_html

    updated = Citation(
        4, "Broen er åbnet igen.", "storm", "Ritzau", "2025-11-19", 4, 0.9, first_filed="2025-11-18 22:10"
    )
    assert source_label(updated, "en") == "Ritzau, 2025-11-19 (first filed 2025-11-18), ¶4"
    assert source_label(updated, "da") == "Ritzau, 2025-11-19 (først udsendt 2025-11-18), ¶4"
    same_day = replace(updated, date="2025-11-18 23:55")
    assert source_label(same_day, "en") == "Ritzau, 2025-11-18 23:55, ¶4"
    assert updated.to_json()["first_filed"] == "2025-11-18 22:10"
    danish = Answer("Hvornår åbnede broen?", "da", "Broen er åbnet igen [1].", True, [updated])
    for shown in (plain(danish), telegram_html(danish), telegram_quotes_html(danish), str(slack_blocks(danish))):
        assert "(først udsendt 2025-11-18)" in shown
    english = Answer("When did the bridge open?", "en", "The article (in Danish) says: «…» [1]", True, [updated])
    assert "Ritzau, 2025-11-19 (first filed 2025-11-18), ¶4" in plain(english)


def test_unrelated_stories_that_both_hold_numbers_never_differ():
    from bot.answering.composers.extractive import disagreement
    from bot.types import Citation

    story = frozenset({"statistics", "denmark"})
    inflation = Citation(
        1, "Danish inflation fell to 2.1 percent in February.", "a", "wire", "2024-03", 1, 0.5, story=story
    )
    herring = Citation(
        2, "Denmark and Norway agreed a herring quota of 40,000 tonnes.", "b", "wire", "2024-04", 1, 0.45, story=story
    )
    update = Citation(
        2, "Danish inflation fell to 1.9 percent in February.", "c", "wire", "2024-04", 1, 0.45, story=story
    )
    elsewhere = Citation(
        2, "Swedish inflation fell to 1.9 percent in February.", "d", "wire", "2024-04", 1, 0.45, story={"sweden"}
    )
    assert disagreement([inflation, herring]) == []
    assert disagreement([inflation, elsewhere]) == []  # the same kind of fact about another story
    assert [c.doc_id for c in disagreement([inflation, update])] == ["c", "a"]  # a real update: newest first


def test_no_two_stories_of_the_corpus_ever_differ():
    """Every pair of sentences from two different corpus stories (a story's versions aside)."""
    from itertools import combinations
    from pathlib import Path

    from bot.answering.composers.extractive import disagreement
    from bot.answering.features import story_names
    from bot.documents import load_articles, split_sentences
    from bot.types import Citation

    articles = load_articles(Path(__file__).parent / "corpus" / "articles")
    story = {a.doc_id: a.file_name.split(".")[0].removesuffix("_v2") for a in articles}
    quotes = [
        Citation(1, sentence, a.doc_id, a.source, a.date, number, 0.5, story=story_names(a.paragraphs[0]))
        for a in articles
        for number, paragraph in enumerate(a.paragraphs, 1)
        for sentence in split_sentences(paragraph)
    ]
    assert len(story) == 47 and len(quotes) > 800
    differing = [
        (one.quote, other.quote)
        for one, other in combinations(quotes, 2)
        if story[one.doc_id] != story[other.doc_id] and disagreement([one, other])
    ]
    assert differing == []
    versions = [
        (one.quote, other.quote)
        for one, other in combinations(quotes, 2)
        if one.doc_id != other.doc_id and story[one.doc_id] == story[other.doc_id] and disagreement([one, other])
    ]
    assert len(versions) >= 5  # what one story's versions report differently is still shown


def test_one_grammar_reads_every_citation_mark():
    from bot.answering.marks import cited
    from bot.answering.verify import cited_numbers

    assert cited("A [1], B [2, 4] and C [1–3]; D [5-6] and E [7; 8].") == [1, 2, 4, 1, 2, 3, 5, 6, 7, 8]
    assert cited_numbers("Both [1–3].", 3) == ([1, 2, 3], [])  # a range cites what lies between
    assert cited_numbers("A typo [1–999].", 3) == ([1], [999])
    assert cited("No marks [a] or [ ] here, a year [2024 is open.") == []
