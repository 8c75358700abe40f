"""What a briefing is asked to cover, and the articles of a period: light to import, so that a
cached briefing is found without the index or any model.

A briefing request ("Grønland", "i dag", "storm i januar 2022") is read with the time
expressions of questions (`bot.answering.when`); what remains is the topic, which
`bot.answering.brief` looks up by retrieval. At most `MAX_ARTICLES` are briefed — the newest,
or with a topic the closest — so a briefing stays short however large the archive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.answering.when import life_span, time_filter
from bot.documents import newest_key
from bot.types import ArticleRef

MAX_ARTICLES = 5  # a briefing's articles at most: one bullet each at 5 bullets


@dataclass(frozen=True)
class BriefRequest:
    """What a briefing is asked to cover: a topic, a period (either end may be open), or neither."""

    topic: str = ""
    start: date | None = None
    end: date | None = None
    label: str = ""  # the period as asked ("last week"); "" when given as dates

    @property
    def period(self) -> bool:
        return self.start is not None or self.end is not None

    @property
    def dates(self) -> str:
        """ "2023-03-14", "2023-03-06 – 2023-03-12", or with an open end "2023-03-06 –"."""
        if self.start is not None and self.start == self.end:
            return str(self.start)
        return f"{self.start or ''} – {self.end or ''}".strip()

    @property
    def period_text(self) -> str:
        """ "last week (2023-03-06 – 2023-03-12)", or the dates alone."""
        return f"{self.label} ({self.dates})" if self.label else self.dates

    @property
    def key(self) -> str:
        """What the briefing's cache key holds of the request."""
        return f"{self.topic}|{self.start}|{self.end}|{self.label}" if self.topic or self.period else ""

    def covers(self, article: ArticleRef) -> bool:
        """Whether an article may be from the period, its life from first filed to last updated
        overlapping it (any dated article without one)."""
        span = life_span(article)
        if span is None:
            return not self.period
        return (self.end is None or span[0] <= self.end) and (self.start is None or self.start <= span[1])


def _without(text: str, label: str) -> str:
    """The text without the time expression (which `time_filter` leaves in for a date or month)."""
    rest = re.sub(re.escape(label), " ", text, count=1, flags=re.IGNORECASE) if label else text
    return " ".join(rest.split()).strip(" ,.;:!?")


def read_request(text: str, today: date) -> BriefRequest:
    """A briefing request as typed after /brief: a period ("i dag", "last week", "i januar 2022",
    or one named alone: "januar 2022", "2021") and the topic that remains."""
    text = " ".join(text.split())
    when = time_filter(text, today)
    if when is None or not when.period:
        # A month or year alone ("januar 2022") is a period here, as it would be after "in".
        alone = time_filter(f"in {text}", today)
        if alone is not None and alone.period and alone.label.lower() == f"in {text}".lower():
            return BriefRequest("", alone.start, alone.end, text)
    if when is None:
        return BriefRequest(text)
    topic = _without(when.rest, when.label)
    if not when.period:  # "the latest on …": a briefing is of the newest anyway
        return BriefRequest(topic)
    return BriefRequest(topic, when.start, when.end, when.label)


@dataclass(frozen=True)
class Selection:
    """The articles a briefing covers (newest first), and how many the request found before the cap."""

    request: BriefRequest
    doc_ids: tuple[str, ...]
    found: int
    topic: str  # the topic as searched ("" when it holds no content word)

    @property
    def capped(self) -> bool:
        return self.found > len(self.doc_ids)

    @property
    def key(self) -> str:
        """What the briefing's cache key holds besides the articles: the request and how many it
        found, which the header says."""
        return f"{self.request.key}|{self.found}"


def newest_ids(articles: dict[str, ArticleRef]) -> list[str]:
    """Doc ids newest first; among articles of one date by id, so every reader of the archive agrees."""
    ordered = sorted(articles.values(), key=lambda article: (newest_key(article.date), article.doc_id), reverse=True)
    return [article.doc_id for article in ordered]


def select_by_period(articles: dict[str, ArticleRef], request: BriefRequest) -> Selection:
    """The newest articles of the request's period (all articles without one), from `articles` by
    doc id. Needs no index: a cached briefing is found without one."""
    ordered = [d for d in newest_ids(articles) if request.covers(articles[d])]
    return Selection(request, tuple(ordered[:MAX_ARTICLES]), len(ordered), "")
