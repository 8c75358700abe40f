"""Reply latency while a running bot embeds many new articles (docs/archive.md, "Running bots
follow the archive"): one article indexed, N small articles dropped into the seeds folder at once,
and a question asked every 0.2 s through the bot's answering thread while `Runtime.update` runs;
p50 and p95 quiet before, during the update, and quiet after.

    python scripts/update_latency.py [--articles 200]

Works in a temporary folder; run it on a quiet machine (two cores shared with anything else
measure the contention).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.frontends.conversation import Conversations, open_conversations  # noqa: E402
from bot.operations.runtime import Runtime, start_runtime  # noqa: E402

SEED = ROOT / "seeds" / "000_630a647b04b832ad.txt"
QUESTIONS = [
    "Who sent troops to Kazakhstan?",
    "Hvornår blev undtagelsestilstanden indført?",
    "Hvem er Kasakhstans præsident?",
    "How many people died?",
]


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, round(0.95 * len(samples)) - 1)]


def line(name: str, samples: list[float]) -> str:
    return (
        f"{name}: {len(samples)} replies, p50 {statistics.median(samples) * 1000:.0f} ms, "
        f"p95 {p95(samples) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms"
    )


async def measure(runtime: Runtime, conversations: Conversations, seeds: Path, articles: int) -> None:
    async def ask(n: int) -> float:
        started = time.perf_counter()
        await conversations.run(runtime.answerer.ask, QUESTIONS[n % len(QUESTIONS)])
        return time.perf_counter() - started

    before = [await ask(n) for n in range(40)]
    for n in range(articles):
        (seeds / f"100_{n:03}.txt").write_text(
            f" date 2023-03 Kommune nummer {n} åbner en ny cykelsti langs fjorden. Stien er {n + 2} kilometer "
            f"lang og koster {n * 3 + 10} millioner kroner.\n\n/dpa/\n",
            encoding="utf-8",
        )
    dropped = time.perf_counter()
    update = asyncio.ensure_future(runtime.update(conversations.run))
    during: list[float] = []
    while not update.done():
        during.append(await ask(len(during)))
        await asyncio.sleep(0.2)
    report = update.result()
    took = time.perf_counter() - dropped
    after = [await ask(n) for n in range(40)]
    print(
        f"{len(report.added)} articles embedded in {took:.1f} s; first reply after the drop {during[0] * 1000:.0f} ms"
    )
    print(line("quiet, before", before))
    print(line("during the update", during))
    print(line("quiet, after", after))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsbot-update-latency-") as folder:
        root = Path(folder)
        (root / "seeds").mkdir()
        shutil.copy(SEED, root / "seeds")
        settings = Settings(
            seeds_dir=root / "seeds",
            index_dir=root / "index",
            data_dir=root / "data",
            llm="extractive",
            warm_up=False,
            watch_seconds=0,
            _env_file=None,
        )
        runtime = start_runtime(settings)
        try:
            asyncio.run(
                measure(runtime, open_conversations(settings, runtime.answerer), settings.seeds_dir, args.articles)
            )
        finally:
            runtime.close()


if __name__ == "__main__":
    main()
