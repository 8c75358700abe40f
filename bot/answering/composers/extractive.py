"""The extractive composer: the answer is the article's own sentences, quoted and numbered."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.answering.composers.base import Composer, Composition, OnText
from bot.answering.features import asks_two_things, same_story, wording_overlap
from bot.answering.thresholds import THRESHOLDS
from bot.lang import numbers_in
from bot.texts import language_name, reply
from bot.types import Citation, Lang


def quoted(citation: Citation, name_article: bool) -> str:
    label = f" ({citation.source}, {citation.date})" if name_article else ""
    return f"«{citation.quote}» [{citation.n}]{label}"


def shown_citations(citations: list[Citation], two_things: bool = False) -> list[Citation]:
    """The best citation, plus the next one when it is about as good, or when the question asks two
    things (each part may have its own sentence)."""
    if not citations:
        return []
    best = citations[0].score
    return [c for c in citations[:2] if c.n == 1 or two_things or c.score >= best * THRESHOLDS.close_share]


SAME_WORDING = 0.5  # share of the shorter quote's words (names and numbers aside) the other one holds


def disagreement(citations: list[Citation]) -> list[Citation]:
    """When another article's quote among the best is a version of the best one (the same story,
    `SAME_STORY`, in nearly the same words, `SAME_WORDING`, names and numbers aside: a wire update)
    with other numbers, the best quote of each article, newest first; otherwise []. Other stories
    that tell the same kind of fact with other numbers never differ."""
    if not citations:
        return []
    best = citations[0]
    rival = next(
        (
            c
            for c in citations[1:]
            if c.doc_id != best.doc_id
            and same_story(c.story, best.story)
            and wording_overlap(c.quote, best.quote) >= SAME_WORDING
        ),
        None,
    )
    if rival is None:
        return []
    ours, theirs = numbers_in(best.quote), numbers_in(rival.quote)
    if not ours or not theirs or ours == theirs:
        return []
    return sorted([best, rival], key=lambda c: c.date, reverse=True)


@dataclass
class ExtractiveComposer(Composer):
    """Always available and instant. An English question gets the Danish quote, honestly labelled.
    With several articles indexed, each quote names its article (source, date); when two
    articles disagree, both are quoted, newest first."""

    name_articles: bool = False
    name = "extractive"

    def compose(
        self,
        question: str,
        language: Lang,
        citations: list[Citation],
        retry: tuple[str, str] | None = None,
        on_text: OnText | None = None,
    ) -> Composition:
        differing = disagreement(citations)
        shown = differing or shown_citations(citations, asks_two_things(question))
        name = self.name_articles or len({c.doc_id for c in shown}) > 1
        quotes = " ".join(quoted(c, name) for c in shown)
        article_language = Counter(c.language for c in shown).most_common(1)[0][0]
        label = "" if article_language == language else language_name(article_language, language)
        if differing:
            in_language = reply("in_language", language, language_name=label) if label else ""
            return Composition(reply("articles_differ", language, quotes=quotes, in_language=in_language), self.name)
        if not label:
            return Composition(quotes, self.name)
        return Composition(reply("extractive", language, quotes=quotes, article_language=label), self.name)
