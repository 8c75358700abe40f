"""The citations a reader sees: one per paragraph, numbered in the order the answer uses them."""

from __future__ import annotations

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
    labels = [source_label(c) for c in shown]
    assert labels == [
        "ritzau, 2022-01, “Regeringen er faldet efter flere dages…”, ¶12",
        "ritzau, 2022-01, “Priserne stiger igen”, ¶12",
    ]
    _, alone = merge_citations("[1]", passages[:1])
    assert source_label(alone[0]) == "ritzau, 2022-01, ¶12"  # one article: nothing to tell apart


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
