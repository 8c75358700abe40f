"""Numbers from the answer log: questions per day, decline rate, generated answers verified or
fallen back, time to reply, the most asked and most declined questions, 👍/👎 — as a rich table
with a bar chart of questions per day (`newsbot stats`), or a few lines (the admins' /stats)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from rich import console
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from bot.operations.answer_log import Entry
from bot.texts import printable, reply
from bot.types import Lang

TOP = 5
BAR_WIDTH = 40


@dataclass
class Stats:
    per_day: dict[str, int] = field(default_factory=dict)  # YYYY-MM-DD -> questions answered or declined
    outcomes: Counter[str] = field(default_factory=Counter)
    generated: int = 0  # answers a generator wrote or tried to
    fallbacks: int = 0  # of those, rejected for the quotes
    reply_ms: list[float] = field(default_factory=list)
    asked: Counter[str] = field(default_factory=Counter)
    declined: Counter[str] = field(default_factory=Counter)
    up: int = 0
    down: int = 0

    @property
    def questions(self) -> int:
        return self.outcomes["answered"] + self.outcomes["closest"] + self.outcomes["declined"]

    @property
    def decline_rate(self) -> float:
        return self.outcomes["declined"] / self.questions if self.questions else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.reply_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _normalised(question: str) -> str:
    return " ".join(question.lower().rstrip("?!. ").split())


def compute(entries: Iterable[Entry]) -> Stats:
    stats = Stats()
    for entry in entries:
        stats.outcomes[entry.outcome] += 1
        stats.up += entry.up
        stats.down += entry.down
        if entry.outcome not in ("answered", "closest", "declined"):
            continue
        day = datetime.fromtimestamp(entry.at).strftime("%Y-%m-%d")
        stats.per_day[day] = stats.per_day.get(day, 0) + 1
        if entry.backend != "extractive" or entry.fallback:
            stats.generated += 1
            stats.fallbacks += bool(entry.fallback)
        if (ms := entry.timings_ms.get("reply", entry.timings_ms.get("total"))) is not None:
            stats.reply_ms.append(ms)
        if entry.question:
            stats.asked[_normalised(entry.question)] += 1
            if entry.outcome == "declined":
                stats.declined[_normalised(entry.question)] += 1
    return stats


def start_of_today() -> float:
    now = datetime.now()
    return datetime(now.year, now.month, now.day).timestamp()


def day_chart(per_day: dict[str, int], width: int = BAR_WIDTH) -> Text:
    """Questions per day as horizontal bars, a line a day."""
    chart = Text()
    most = max(per_day.values(), default=0)
    for day, count in sorted(per_day.items()):
        bar = "█" * max(1, round(count / most * width)) if count else ""
        chart.append(f"{day} ", style="dim")
        chart.append(bar, style="cyan")
        chart.append(f" {count}\n")
    return chart


def stats_table(stats: Stats) -> RenderableType:
    """`newsbot stats`: the numbers, the chart, and the top questions."""
    numbers = Table(title="Answer log", show_header=False)
    numbers.add_column("what")
    numbers.add_column("value", justify="right")
    rows = [
        ("questions", str(stats.questions)),
        ("answered", str(stats.outcomes["answered"])),
        ("closest quote shown", str(stats.outcomes["closest"])),
        ("declined", f"{stats.outcomes['declined']} ({stats.decline_rate:.0%})"),
        ("refused / rate-limited", f"{stats.outcomes['refused']} / {stats.outcomes['rate-limited']}"),
        ("generated", str(stats.generated)),
        ("verified", f"{stats.generated - stats.fallbacks}"),
        (
            "fallen back to quotes",
            f"{stats.fallbacks} ({stats.fallbacks / stats.generated:.0%})" if stats.generated else "0",
        ),
        ("time to reply p50", f"{stats.percentile(0.5):.0f} ms"),
        ("time to reply p95", f"{stats.percentile(0.95):.0f} ms"),
        ("👍 / 👎", f"{stats.up} / {stats.down}"),
    ]
    for name, value in rows:
        numbers.add_row(name, value)
    parts: list[RenderableType] = [numbers, Text("Questions per day", style="bold"), day_chart(stats.per_day)]
    for title, counter in (("Most asked", stats.asked), ("Most declined", stats.declined)):
        top = Table(title=title)
        top.add_column("times", justify="right")
        top.add_column("question")
        for question, count in counter.most_common(TOP):
            top.add_row(str(count), Text(printable(question)))  # a user's words: never markup or escapes
        parts.append(top)
    return console.Group(*parts)


def stats_text(stats: Stats, language: Lang) -> str:
    """The admins' /stats: today's numbers in a few lines."""

    def top(counter: Counter[str]) -> str:
        return "; ".join(f"{q} ({n})" for q, n in counter.most_common(3)) or "–"

    return reply(
        "stats",
        language,
        questions=stats.questions,
        declined=stats.outcomes["declined"],
        decline_rate=f"{stats.decline_rate:.0%}",
        generated=stats.generated,
        fallbacks=stats.fallbacks,
        p50=f"{stats.percentile(0.5):.0f}",
        p95=f"{stats.percentile(0.95):.0f}",
        up=stats.up,
        down=stats.down,
        most_asked=top(stats.asked),
        most_declined=top(stats.declined),
    )
