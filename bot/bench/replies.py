"""`newsbot bench --replies`: what a Telegram user waits for, question by question.

The real `newsbot telegram` process (with the configured generator) answers the QA file's
questions one at a time, each in a chat of its own, through the local Bot API server. For each
question: message in → first reply (the quotes), → first streamed words (the first draft edit),
→ final answer (the last edit: verified, or the quotes with a note). Run with the model warming up
at start-up and without, so the first question's wait can be compared with the tenth's.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from bot.bench.evaluation import percentile
from bot.config import Settings
from bot.texts import message

QUESTION_TIMEOUT = 180.0  # seconds a question may take before the bench gives up on it


@dataclass
class Timed:
    """One question's waits, in ms from the message going in; None for what never came."""

    question: str
    first_reply: float | None = None
    first_words: float | None = None
    final: float | None = None


def _pending_lines() -> tuple[str, ...]:
    """What a reply says while its fuller answer is still coming, in either language."""
    return tuple(message(name, lang) for name in ("writing", "checking") for lang in ("da", "en"))


def _drafted(text: str) -> bool:
    return any(message("checking", lang) in text for lang in ("da", "en"))


def ask_one(server: Any, question: str, chat: int) -> Timed:
    """Ask in chat `chat` and wait for its reply to settle."""
    pending = _pending_lines()
    timed = Timed(question)
    sent = server.message(question, chat_id=chat, user_id=chat)
    asked = time.perf_counter()
    server.push(sent)
    deadline = asked + QUESTION_TIMEOUT
    while time.perf_counter() < deadline:
        replies = [(p, at) for p, at in server.timed_calls("sendMessage") if int(p["chat_id"]) == chat]
        edits = [(p, at) for p, at in server.timed_calls("editMessageText") if int(p["chat_id"]) == chat]
        if replies and timed.first_reply is None:
            timed.first_reply = (replies[0][1] - asked) * 1000
        drafts = [at for p, at in edits if _drafted(p["text"])]
        if drafts and timed.first_words is None:
            timed.first_words = (drafts[0] - asked) * 1000
        shown = edits or replies
        if shown and not any(line in shown[-1][0]["text"] for line in pending):
            timed.final = (shown[-1][1] - asked) * 1000
            return timed
        time.sleep(0.05)
    return timed


def _summary(values: list[float | None]) -> dict[str, float | None]:
    found = [v for v in values if v is not None]
    return {
        "p50": round(statistics.median(found)) if found else None,
        "p95": round(percentile(found, 0.95)) if found else None,
        "count": len(found),
    }


def replies_bench(settings: Settings, questions: list[str], warm_up: bool) -> dict[str, Any]:
    """The questions asked one by one through Telegram, the model warming up at start-up or not."""
    from bot.generators import expected_backend
    from bot.generators.model_file import default_model_path
    from bot.testing.fake_telegram import FakeTelegram

    server = FakeTelegram().start()
    env = {
        **os.environ,
        "NEWSBOT_DATA_DIR": tempfile.mkdtemp(prefix="newsbot-bench-"),
        "NEWSBOT_SEEDS_DIR": str(settings.seeds_dir),
        "NEWSBOT_INDEX_DIR": str(settings.index_dir),
        "NEWSBOT_LLM": settings.llm,
        "NEWSBOT_WARM_UP": "1" if warm_up else "0",
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "NEWSBOT_RATE_LIMIT": "1000",
        "NEWSBOT_ALLOWED_USERS": "*",
    }
    env.update(
        {
            k: v
            for k, v in (("NEWSBOT_LLM_MODEL", settings.llm_model), ("NEWSBOT_LLM_BASE_URL", settings.llm_base_url))
            if v
        }
    )
    if expected_backend(settings) == "llamacpp" and not settings.llm_model:
        env["NEWSBOT_LLM_MODEL"] = str(default_model_path(settings.data_dir))  # assembled once, reused
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "telegram"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=300)
        rows = [ask_one(server, question, 20_000 + i) for i, question in enumerate(questions)]
    finally:
        process.terminate()
        process.wait(30)
        server.stop()
    return {
        "warm_up": warm_up,
        "llm": settings.llm,
        "questions": len(rows),
        "first_reply_ms": _summary([r.first_reply for r in rows]),
        "first_words_ms": _summary([r.first_words for r in rows]),
        "final_ms": _summary([r.final for r in rows]),
        "first_question_final_ms": rows[0].final if rows else None,
        "tenth_question_final_ms": rows[9].final if len(rows) >= 10 else None,
    }


def replies_markdown(runs: list[dict[str, Any]]) -> str:
    """One row per run: p50 / p95 of each wait, and the first question's final answer against the tenth's."""

    def pair(summary: dict[str, float | None]) -> str:
        return f"{summary['p50']} / {summary['p95']} ({summary['count']})"

    def ms(value: float | None) -> str:
        return "–" if value is None else f"{value:.0f}"

    lines = [
        "| warm-up | first reply p50 / p95 ms (n) | first streamed words p50 / p95 ms (n) | final answer p50 / p95 ms (n) "
        "| 1st question final ms | 10th question final ms |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {'on' if run['warm_up'] else 'off'} | {pair(run['first_reply_ms'])} | {pair(run['first_words_ms'])} "
            f"| {pair(run['final_ms'])} | {ms(run['first_question_final_ms'])} | {ms(run['tenth_question_final_ms'])} |"
        )
    return "\n".join(lines)
