"""The bots' Prometheus metrics (prometheus-client), in one registry per process.

Labels are few and bounded — front end, language, outcome, backend, stage — never a question or
a user. Served at /metrics by `bot.operations.health`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

# Seconds, from a quote answer's few milliseconds to a generated answer's tens of seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STAGES = ("retrieve", "gate", "generate", "total")


class Metrics:
    """Every metric the bots export; the front ends update them through `bot.operations.recorder`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # process_start_time_seconds, memory, CPU
        self.questions = Counter(
            "newsbot_questions",
            "Questions received, by front end, language, outcome and backend.",
            ["frontend", "language", "outcome", "backend"],
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "newsbot_answer_stage_seconds",
            "Time an answer spent in each stage (retrieve, gate, generate, total).",
            ["stage"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.reply_seconds = Histogram(
            "newsbot_reply_seconds",
            "Message in to first reply out, per front end.",
            ["frontend"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.generated = Counter(
            "newsbot_generated_answers",
            "Generated answers: shown after verification (verified) or rejected for the quotes (fallback).",
            ["result"],
            registry=self.registry,
        )
        self.turnarounds = Counter(
            "newsbot_reading_check_turnarounds",
            "Decisions of the gate the reading check turned around, by what it turned them into.",
            ["to"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "newsbot_generator_queue_depth", "Generated answers being written or waiting.", registry=self.registry
        )
        self.articles = Gauge("newsbot_index_articles", "Articles in the index.", registry=self.registry)
        self.chunks = Gauge("newsbot_index_chunks", "Paragraph chunks in the index.", registry=self.registry)
        self.generation = Gauge(
            "newsbot_index_generation_timestamp_seconds",
            "When the live index generation was built (Unix time).",
            registry=self.registry,
        )
        self.started = Gauge(
            "newsbot_start_time_seconds", "When this bot process started (Unix time).", registry=self.registry
        )
        self.started.set(time.time())

    def watch_readiness(self, ready: Callable[[], bool]) -> None:
        """newsbot_ready, read at every scrape: what /readyz says, for alert rules."""
        Gauge("newsbot_ready", "1 when /readyz says ready, else 0.", registry=self.registry).set_function(
            lambda: float(ready())
        )

    def watch_queue(self, depth: Callable[[], float]) -> None:
        """Read the generator queue's depth at every scrape."""
        self.queue_depth.set_function(depth)

    def indexed(self, articles: int, chunks: int, generation: str) -> None:
        """The index the bot answers from (at start and after /reload)."""
        self.articles.set(articles)
        self.chunks.set(chunks)
        digits = generation.rsplit("-", 1)[-1]
        if digits.isdigit():  # FAISS generations are named gen-<nanoseconds>
            self.generation.set(int(digits) / 1e9)
