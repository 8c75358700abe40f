"""Citations as a reader sees them: one per paragraph of an article, numbered in the order the
answer cites them.

Retrieval may quote two sentences of one paragraph as two passages, and the generator and the
verifier read them so, numbered by rank. What is shown merges them ("[1] ritzau, 2022-01, ¶12"
once, not twice) and renumbers the answer's [n] to match, so the first source named is the first
one the answer leans on. With several articles indexed, each label also carries the article's
first words, so "¶12" is never ambiguous.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

from bot.answering.marks import CITATION_MARK, mark_numbers
from bot.types import Citation

HEADLINE_WORDS = 6


def headline(title: str, words: int = HEADLINE_WORDS) -> str:
    """An article's first `words` words."""
    parts = title.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def headlines(citations: list[Citation]) -> dict[str, str]:
    """Each cited article's first words (doc_id → words): six, or as many as it takes to tell it
    from another cited article of the same source and month."""
    found: dict[str, str] = {}
    for c in citations:
        rivals = {o.title for o in citations if o.doc_id != c.doc_id and (o.source, o.date) == (c.source, c.date)}
        words = HEADLINE_WORDS
        while any(headline(r, words) == headline(c.title, words) for r in rivals) and words < len(c.title.split()):
            words += 1
        found[c.doc_id] = headline(c.title, words)
    return found


def _joined(quotes: list[Citation]) -> str:
    """The quotes of one paragraph in reading order; a gap between them is marked with an ellipsis."""
    ordered = sorted(quotes, key=lambda c: c.span)
    text = ordered[0].quote
    for before, after in itertools.pairwise(ordered):
        text += (" " if after.span[0] == before.span[1] + 1 else " … ") + after.quote
    return text


def merge_citations(text: str, passages: list[Citation], name_articles: bool = False) -> tuple[str, list[Citation]]:
    """`text` with its [n] renumbered, and the citations to show under it: the passages of one
    paragraph of one article merged into one, cited ones first in the order `text` cites them."""
    groups: dict[tuple[str, int], list[Citation]] = {}
    for passage in passages:
        groups.setdefault((passage.doc_id, passage.paragraph), []).append(passage)
    group_of = {p.n: key for key, members in groups.items() for p in members}
    order: list[tuple[str, int]] = []
    for mark in CITATION_MARK.findall(text):
        for n in mark_numbers(mark):
            if n in group_of and group_of[n] not in order:
                order.append(group_of[n])
    order += [key for key in groups if key not in order]
    number = {key: i for i, key in enumerate(order, start=1)}

    def renumbered(match: re.Match[str]) -> str:
        cited = sorted({number[group_of[n]] if n in group_of else n for n in mark_numbers(match.group(1))})
        return "[" + ", ".join(str(n) for n in cited) + "]"

    titles = headlines(passages) if name_articles else {}
    citations = []
    for key in order:
        members = groups[key]
        best = max(members, key=lambda c: c.score)
        citations.append(
            replace(
                best,
                n=number[key],
                quote=_joined(members),
                span=(min(c.span[0] for c in members), max(c.span[1] for c in members)),
                headline=titles.get(best.doc_id, ""),
            )
        )
    return CITATION_MARK.sub(renumbered, text), citations
