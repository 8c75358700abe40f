"""The extractive composer: the answer is the article's own sentences, quoted and numbered."""

from __future__ import annotations

from bot.answering.composers.base import Composer, Composition
from bot.lang import detect_language
from bot.texts import LANGUAGE_NAMES, reply
from bot.types import Citation, Lang

CLOSE_SCORE = 0.015  # a second quote is shown when it scores this close to the best


def quoted(citation: Citation) -> str:
    return f"«{citation.quote}» [{citation.n}]"


def shown_citations(citations: list[Citation]) -> list[Citation]:
    """The best citation, plus the next one when it is about as good."""
    if not citations:
        return []
    best = citations[0].score
    return [c for c in citations[:2] if c.n == 1 or c.score >= best - CLOSE_SCORE]


class ExtractiveComposer(Composer):
    """Always available and instant. An English question gets the Danish quote, honestly labelled."""

    name = "extractive"

    def compose(self, question: str, language: Lang, citations: list[Citation], retry: tuple[str, str] | None = None) -> Composition:
        shown = shown_citations(citations)
        quotes = " ".join(quoted(c) for c in shown)
        article_language = detect_language(" ".join(c.quote for c in shown), default="da")
        if article_language == language:
            return Composition(quotes, self.name)
        label = LANGUAGE_NAMES[language][article_language]
        return Composition(reply("extractive", language, quotes=quotes, article_language=label), self.name)
