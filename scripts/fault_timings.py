"""Timings of the fault and archive cases, as a table: `ask` while another process holds or uses
the index's build lock, a Telegram bot's reply to a 4096-character message sent right after a
1 MB one, and the time from `newsbot ingest` finishing to a running bot answering from the article.

    python scripts/fault_timings.py [--rounds N]

Runs the real processes against temporary folders and the local Bot API server; run it on a
quiet machine (two cores shared with anything else measure the contention).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.testing.fake_telegram import FakeTelegram  # noqa: E402

SEED = ROOT / "seeds" / "000_630a647b04b832ad.txt"
CORPUS = ROOT / "tests" / "corpus" / "articles"


def environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "TELEGRAM_", "SLACK_"))}
    return env | {
        "NEWSBOT_SEEDS_DIR": str(folder / "seeds"),
        "NEWSBOT_INDEX_DIR": str(folder / "index"),
        "NEWSBOT_DATA_DIR": str(folder / "data"),
        "NEWSBOT_LLM": "extractive",
        "NEWSBOT_RATE_LIMIT": "100000",  # one simulated user asks many times
    }


def newsbot(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=ROOT, capture_output=True, **kwargs)


def timed_asks(env: dict[str, str], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        result = newsbot(["ask", "Who sent troops to Kazakhstan?"], env, timeout=600)
        assert result.returncode == 0, result.stderr
        times.append(time.perf_counter() - started)
    return times


def ask_during_rebuild(rounds: int) -> list[tuple[str, list[float]]]:
    folder = Path(tempfile.mkdtemp(prefix="newsbot-faults-"))
    try:
        (folder / "seeds").mkdir()
        shutil.copy(SEED, folder / "seeds")
        env = environment(folder)
        assert newsbot(["index"], env).returncode == 0
        rows = [("ask, index current", timed_asks(env, rounds))]
        for article in sorted(CORPUS.glob("*.txt")):  # the seeds change: the index needs an update
            shutil.copy(article, folder / "seeds")
        # -o: the lock is flock's own, not inherited by `sleep`, so killing flock releases it
        holder = subprocess.Popen(["flock", "-o", str(folder / "index" / ".lock"), "sleep", "600"])
        try:
            time.sleep(0.5)
            rows.append(("ask, lock held (idle)", timed_asks(env, rounds)))
        finally:
            holder.kill()
            holder.wait()
        builder = subprocess.Popen([sys.executable, "-m", "bot", "index"], env=env, cwd=ROOT, stderr=subprocess.PIPE)
        time.sleep(3)  # it holds the lock and embeds
        rows.append(("ask, while `index` embeds 12 articles", timed_asks(env, rounds)))
        builder.wait()
        return rows
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def telegram_bot(build_index: bool = False) -> Iterator[tuple[FakeTelegram, Path, dict[str, str]]]:
    """A running `newsbot telegram` over the dev seed in a temporary folder, with its local Bot API."""
    folder = Path(tempfile.mkdtemp(prefix="newsbot-faults-"))
    server = FakeTelegram().start()
    (folder / "seeds").mkdir()
    shutil.copy(SEED, folder / "seeds")
    env = environment(folder) | {"TELEGRAM_BOT_TOKEN": server.token, "TELEGRAM_API_BASE_URL": server.base_url}
    if build_index:
        assert newsbot(["index"], env).returncode == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "telegram"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server.wait_for(lambda: server.calls_to("setMyCommands"), timeout=300)
        yield server, folder, env
    finally:
        process.terminate()
        process.wait()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def reply_to(server: FakeTelegram, text: str, chat_id: int) -> str:
    server.push(server.message(text, chat_id=chat_id))
    sent = server.wait_for(lambda: [p for p in server.calls_to("sendMessage") if int(p["chat_id"]) == chat_id])
    return sent[0]["text"]


def telegram_after_huge(rounds: int) -> list[float]:
    times = []
    with telegram_bot() as (server, _, _):
        for round_ in range(rounds):
            server.push(server.message("Who sent troops? " * 60_000, chat_id=1000 + round_))
            started = time.perf_counter()
            reply_to(server, "Please answer. " * 273, 2000 + round_)
            times.append(time.perf_counter() - started)
    return times


def ingest_to_answerable(rounds: int) -> list[float]:
    """Seconds from `newsbot ingest` of a new ninjs article finishing to a running bot citing it."""
    times, chat = [], iter(range(3000, 100000))
    with telegram_bot(build_index=True) as (server, folder, env):
        for round_ in range(rounds):
            distance = 700 + round_
            item = folder / f"item{round_}.json"
            item.write_text(
                json.dumps(
                    {
                        "uri": f"urn:example:timing:{round_}",
                        "versioncreated": "2023-03-14T09:42:00Z",
                        "headline": f"Ny lov nummer {round_}",
                        "body_text": f"Loven om vindmøller kræver {distance} meters afstand til naboen.",
                    }
                ),
                encoding="utf-8",
            )
            assert newsbot(["ingest", str(item)], env).returncode == 0
            ingested = time.perf_counter()
            while str(distance) not in reply_to(server, "Hvor stor afstand kræver loven om vindmøller?", next(chat)):
                time.sleep(0.2)
            times.append(time.perf_counter() - ingested)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    rows = ask_during_rebuild(rounds)
    rows.append(("Telegram: 4096-char message after a 1 MB one", telegram_after_huge(4 * rounds)))
    rows.append(("Telegram: ingest finished → new article answered", ingest_to_answerable(rounds)))
    print("| case | n | p50 s | p95 s |\n|---|---|---|---|")
    for name, times in rows:
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(f"| {name} | {len(times)} | {statistics.median(times):.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()
