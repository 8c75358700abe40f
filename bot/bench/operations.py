"""What the operator's side costs: Telegram message in → reply out at 10 questions/s with and
without metrics and the answer log (target: p50 grows by less than 5 ms), and the answer log's
size per 10,000 answers."""

from __future__ import annotations

import contextlib
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.bench import telegram_load
from bot.config import Settings
from bot.operations.answer_log import LOG_FILE, AnswerLog, Cited, Entry

QUOTE = (
    "A quoted sentence of an ordinary length, as the articles' sentences are: twenty words or so, with a number, 1000."
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def log_size(answers: int = 10_000) -> dict[str, Any]:
    """Bytes on disk for `answers` typical entries (a question, three quotes, timings, a vote in ten)."""
    folder = Path(tempfile.mkdtemp(prefix="newsbot-log-size-"))
    log = AnswerLog(folder / LOG_FILE)
    started = time.perf_counter()
    for i in range(answers):
        entry = Entry(
            id=f"{i:016x}",
            at=time.time(),
            frontend="telegram",
            chat_kind="private",
            user_hash="",
            question="Hvor mange mennesker blev såret under urolighederne i landet?",
            language="da",
            outcome="answered",
            reason="every question word is in the quotes",
            citations=tuple(Cited("ritzau-0123456789abcdef", n, QUOTE) for n in range(1, 4)),
            timings_ms={"retrieve": 31.2, "gate": 2.1, "generate": 0.0, "total": 34.0, "reply": 61.5},
        )
        log.record(entry, user_id=str(i % 500))
        if i % 10 == 0:
            log.vote(entry.id, "telegram", str(i % 500), -1)
    log.close(timeout=120)
    seconds = time.perf_counter() - started
    size = sum(path.stat().st_size for path in folder.iterdir())
    return {"answers": answers, "bytes": size, "mib": round(size / 2**20, 2), "writes_per_s": round(answers / seconds)}


def operations_cost(settings: Settings, questions: list[str], total: int = 500, rate: float = 10.0) -> dict[str, Any]:
    """The same Telegram load twice: without metrics and answer log, then with both (scraped once a second)."""
    import threading
    import urllib.request

    bare = telegram_load(settings, questions, rate=rate, total=total, extra_env={"NEWSBOT_LOG_DAYS": "0"})
    port = _free_port()
    scraping = threading.Event()

    def scrape() -> None:
        while not scraping.wait(1.0):
            with contextlib.suppress(OSError):  # not listening yet
                urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()

    scraper = threading.Thread(target=scrape, daemon=True)
    scraper.start()
    try:
        watched = telegram_load(
            settings,
            questions,
            rate=rate,
            total=total,
            extra_env={"NEWSBOT_LOG_DAYS": "30", "NEWSBOT_METRICS_PORT": str(port)},
        )
    finally:
        scraping.set()
    return {"without": bare, "with": watched, "log": log_size()}


def markdown(results: dict[str, Any]) -> str:
    bare, watched, log = results["without"], results["with"], results["log"]
    lines = [
        f"Telegram, {bare['offered']} questions at {bare['rate_per_s']}/s from {bare['chats']} chats, message in → reply out:",
        "",
        "| | answered | p50 ms | p95 ms | RSS peak MiB |",
        "|---|---|---|---|---|",
    ]
    for name, run in (("without metrics and answer log", bare), ("with both (scraped every second)", watched)):
        lines.append(f"| {name} | {run['answered']} | {run['p50_ms']} | {run['p95_ms']} | {run['rss_peak_mib']} |")
    if bare["p50_ms"] is not None and watched["p50_ms"] is not None:
        lines.append(f"\np50 grows by {watched['p50_ms'] - bare['p50_ms']:.1f} ms (target: less than 5 ms).")
    lines.append(
        f"\nAnswer log: {log['answers']:,} answers take {log['mib']} MiB ({log['bytes'] // log['answers']} bytes each), "
        f"written at {log['writes_per_s']:,}/s."
    )
    return "\n".join(lines)
