"""Questions about time: "i går", "last week", "i januar 2022", "latest on …".

A question's time expression becomes a `TimeFilter`: a period of days (resolved against today,
a setting so that tests can fix it) that restricts which articles answer, or a wish for the
newest articles first. The expression is taken out of the question, so that retrieval and the
gate weigh what is asked about, not when. Month names come from CLDR (babel), the relative
expressions from `bot/data/time_words.json`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache

from babel import Locale

from bot.data import load_json
from bot.types import ArticleRef

STRICT_PERIODS = frozenset({"today", "yesterday", "day_before", "this_week", "last_week"})


@dataclass(frozen=True)
class TimeFilter:
    """What a question says about time."""

    start: date | None  # first day of the period asked about (inclusive), or None
    end: date | None  # last day (inclusive)
    newest: bool  # "latest on …": the newest articles first
    label: str  # the expression as asked ("i går")
    rest: str  # the question without a relative expression (articles don't say "yesterday"); else the question
    # A day or week counted back from today ("i går", "last week") can only mean the reader's time.
    # "Last year", "in March" or "i 2021" may also be the time an article reports on ("What was the
    # profit last year?"): those prefer the articles of the period when there are any, and else
    # leave the question to the whole archive.
    strict: bool = False

    @property
    def period(self) -> bool:
        return self.start is not None


@cache
def _months() -> dict[str, int]:
    """Month names and abbreviations of both languages → month number."""
    names: dict[str, int] = {}
    for language in ("da", "en"):
        months = Locale.parse(language).months["format"]
        for width in ("wide", "abbreviated"):
            for number, name in months[width].items():
                names[name.lower().rstrip(".")] = number
    return names


def _month_pattern() -> str:
    return "|".join(sorted(map(re.escape, _months()), key=len, reverse=True))


def _month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _relative(kind: str, today: date) -> tuple[date, date]:
    week_start = today - timedelta(days=today.weekday())
    if kind == "today":
        return today, today
    if kind == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if kind == "day_before":
        return today - timedelta(days=2), today - timedelta(days=2)
    if kind == "this_week":
        return week_start, today
    if kind == "last_week":
        return week_start - timedelta(days=7), week_start - timedelta(days=1)
    if kind == "this_month":
        return today.replace(day=1), today
    if kind == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return _month_span(last.year, last.month)
    if kind == "this_year":
        return date(today.year, 1, 1), today
    if kind == "last_year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    raise ValueError(f"unknown period {kind}")


def _without(text: str, match: re.Match[str]) -> str:
    rest = f"{text[: match.start()]} {text[match.end() :]}"
    return " ".join(rest.split()).replace(" ?", "?").replace(" ,", ",").strip(" ,")


def _absolute(question: str, today: date) -> tuple[date, date, re.Match[str]] | None:
    """A date, month or year named in the question ("6. januar 2022", "in March", "i 2021")."""
    months = _month_pattern()
    prepositions = "|".join(map(re.escape, load_json("time_words")["prepositions"]))
    patterns = (
        rf"\b(?:(?:{prepositions})\s+)?(?P<day>\d{{1,2}})\.?\s+(?P<month>{months})\.?(?:\s+(?P<year>\d{{4}}))?\b",
        rf"\b(?:(?:{prepositions})\s+)?(?P<month>{months})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<year>\d{{4}}))?\b",
        rf"\b(?:{prepositions})\s+(?P<month>{months})\.?(?:\s+(?P<year>\d{{4}}))?\b",
        rf"\b(?:(?:{prepositions})\s+)?(?P<year>\d{{4}})-(?P<monthnumber>\d{{2}})-(?P<day>\d{{2}})\b",
        rf"\b(?:{prepositions})\s+(?P<year>(?:19|20)\d{{2}})\b",
    )
    for pattern in patterns:
        match = re.search(pattern, question, flags=re.IGNORECASE)
        if not match:
            continue
        groups = match.groupdict()
        if groups.get("monthnumber"):
            month = int(groups["monthnumber"])
        elif groups.get("month"):
            month = _months()[groups["month"].lower().rstrip(".")]
        else:
            year = int(groups["year"])
            return date(year, 1, 1), date(year, 12, 31), match
        # Without a year, the most recent such month: "in March" asked in January means last March.
        year = int(groups["year"]) if groups.get("year") else today.year - (month > today.month)
        try:
            if groups.get("day"):
                day = date(year, month, int(groups["day"]))
                return day, day, match
        except ValueError:  # "31. februar": not a date
            continue
        start, end = _month_span(year, month)
        return start, end, match
    return None


def time_filter(question: str, today: date) -> TimeFilter | None:
    """The question's time expression, or None when it names no time."""
    words = load_json("time_words")
    lowered = question.lower()
    newest = None
    for phrase in sorted((p for ps in words["newest"].values() for p in ps), key=len, reverse=True):
        newest = re.search(rf"\b{re.escape(phrase)}\b", lowered)
        if newest:
            question, lowered = _without(question, newest), _without(lowered, newest)
            break
    for phrases in words["periods"].values():
        for phrase, kind in sorted(phrases.items(), key=lambda item: -len(item[0])):
            match = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered)
            if match:
                start, end = _relative(kind, today)
                strict = kind in STRICT_PERIODS
                return TimeFilter(start, end, bool(newest), match.group(0), _without(question, match), strict)
    found = _absolute(question, today)
    if found:
        start, end, match = found
        return TimeFilter(start, end, bool(newest), match.group(0), question)
    if newest:
        return TimeFilter(None, None, True, newest.group(0), question)
    return None


@lru_cache(maxsize=1 << 16)  # asked for every article on every time question
def article_span(article_date: str) -> tuple[date, date] | None:
    """The days an article's date stands for ("2022-01": all of January), or None when undated."""
    match = re.match(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", article_date)
    if not match:
        return None
    year, month, day = int(match.group(1)), match.group(2), match.group(3)
    try:
        if day and month:
            one = date(year, int(month), int(day))
            return one, one
        if month:
            return _month_span(year, int(month))
        return date(year, 1, 1), date(year, 12, 31)
    except ValueError:  # "2022-13", "2022-02-30": no period
        return None


def life_span(article: ArticleRef) -> tuple[date, date] | None:
    """The days from an article's first filing to its last update (a story filed late on the 18th
    and updated on the 19th is of both days), or its date's alone; None when undated."""
    last = article_span(article.date)
    first = article_span(article.first_filed) if article.first_filed else None
    if last is None or first is None:
        return last
    return min(first[0], last[0]), max(first[1], last[1])


def within(article: ArticleRef, when: TimeFilter) -> bool:
    """Whether an article may be from the period asked about: its life overlaps it."""
    span = life_span(article)
    if span is None or when.start is None or when.end is None:
        return False
    return span[0] <= when.end and when.start <= span[1]
