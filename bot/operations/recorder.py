"""What the front ends tell the operator's side about each question: one call per question
(`answered` or `refused`), one per vote, one per failure. It updates the metrics (when served),
writes the answer log (when kept) and logs one line per answer at INFO.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field

from bot.config import Settings
from bot.operations.answer_log import LOG_FILE, AnswerLog, Cited, Entry, Outcome
from bot.operations.metrics import Metrics
from bot.types import Answer, Lang

logger = logging.getLogger("newsbot.answers")


@dataclass
class Asked:
    """Who asked what, where, and when the message came in (for message in → reply out)."""

    frontend: str  # telegram | slack
    chat_kind: str  # private, group, supergroup, inline | thread, command
    user_id: str
    question: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    received: float = field(default_factory=time.perf_counter)
    replied: float | None = None  # when the first reply went out

    def reply_sent(self) -> None:
        if self.replied is None:
            self.replied = time.perf_counter()


class Recorder:
    """Metrics and answer log together; either may be off (None)."""

    def __init__(self, metrics: Metrics | None = None, log: AnswerLog | None = None, backend: str = "extractive"):
        self.metrics = metrics
        self.log = log
        self.backend = backend  # the configured one, for questions that never reach a composer

    def answered(self, asked: Asked, first: Answer, final: Answer | None = None) -> None:
        """A question answered or declined: `first` is the quick answer, `final` the refined one if any."""
        answer = final or first
        outcome: Outcome = "answered" if answer.answerable else "closest" if answer.verdict == "closest" else "declined"
        reply_ms = (asked.replied - asked.received) * 1000 if asked.replied is not None else None
        if self.metrics is not None:
            m = self.metrics
            m.questions.labels(asked.frontend, answer.language, outcome, answer.backend).inc()
            for stage, ms in answer.timings_ms.items():
                if stage != "generate" or ms > 0:
                    m.stage_seconds.labels(stage).observe(ms / 1000)
            if reply_ms is not None:
                m.reply_seconds.labels(asked.frontend).observe(reply_ms / 1000)
            if answer.fallback:
                m.generated.labels("fallback").inc()
            elif answer.backend != "extractive" and answer.answerable:
                m.generated.labels("verified").inc()
            if final is not None and final.answerable != first.answerable:
                m.turnarounds.labels("answered" if final.answerable else "declined").inc()
        timings = {**answer.timings_ms, **({"reply": reply_ms} if reply_ms is not None else {})}
        entry = Entry(
            id=asked.id,
            at=time.time(),
            frontend=asked.frontend,
            chat_kind=asked.chat_kind,
            user_hash="",
            question=asked.question,
            language=answer.language,
            outcome=outcome,
            reason=answer.reason,
            citations=tuple(Cited(c.doc_id, c.paragraph, c.quote) for c in answer.citations),
            backend=answer.backend,
            verified=answer.verified,
            fallback=answer.fallback,
            timings_ms=timings,
        )
        if self.log is not None:
            self.log.record(entry, asked.user_id)
        logger.info(
            "%s %s %s in %.0f ms (reply %s ms, %s)",
            asked.frontend,
            outcome,
            answer.language,
            answer.timings_ms.get("total", 0.0),
            f"{reply_ms:.0f}" if reply_ms is not None else "-",
            answer.backend,
            extra={"fields": {"answer": {k: v for k, v in entry.to_json().items() if k != "question"}}},
        )

    def refused(self, asked: Asked, outcome: Outcome, language: Lang, reason: str) -> None:
        """A question not answered: a bad question (refused), too many (rate-limited), or a failure (error)."""
        if self.metrics is not None:
            self.metrics.questions.labels(asked.frontend, language, outcome, self.backend).inc()
        if self.log is not None:
            entry = Entry(
                asked.id, time.time(), asked.frontend, asked.chat_kind, "", asked.question, language, outcome, reason
            )
            self.log.record(entry, asked.user_id)
        logger.info("%s %s %s: %s", asked.frontend, outcome, language, reason)

    def failed(self, frontend: str) -> None:
        """An update or request that raised: counted as an error (its traceback is logged by the front end)."""
        if self.metrics is not None:
            self.metrics.questions.labels(frontend, "", "error", self.backend).inc()

    def vote(self, answer_id: str, frontend: str, user_id: str, vote: int) -> None:
        if self.log is not None:
            self.log.vote(answer_id, frontend, user_id, vote)
        logger.info("%s vote %+d on answer %s", frontend, vote, answer_id)

    def close(self) -> None:
        if self.log is not None:
            self.log.close()


def open_recorder(settings: Settings, metrics: Metrics | None, backend: str) -> Recorder:
    """The recorder the settings ask for: the answer log unless NEWSBOT_LOG_DAYS=0."""
    log = (
        AnswerLog(settings.data_dir / LOG_FILE, settings.log_days, settings.log_questions)
        if settings.log_days > 0
        else None
    )
    return Recorder(metrics, log, backend)


NO_RECORDER = Recorder()  # for a front end built without a runtime (tests): records nothing
