"""Write a SYNTHETIC archive: N ninjs articles rewritten from the project's own articles.

    python scripts/synthetic_archive.py OUT --count N [--seed S] [--from FOLDER ...]

Names, numbers, dates and sentence order are changed, so no two articles are the same text; the
same seed gives the same files. The sources default to tests/corpus/articles and the configured
seeds folder. OUT is never the seeds folder: `newsbot ingest OUT` takes the archive in elsewhere
(NEWSBOT_SEEDS_DIR pointing at a scratch folder), and `newsbot bench --archive N` measures it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.bench.synthetic import refuse_seeds_folder, synthetic_articles, write_archive  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.documents import load_articles  # noqa: E402
from bot.errors import NewsbotError  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder to write synthetic-<n>.json into (not the seeds folder)")
    parser.add_argument("--count", type=int, required=True, help="how many articles")
    parser.add_argument("--seed", type=int, default=7, help="the same seed gives the same archive (default 7)")
    parser.add_argument(
        "--from", dest="sources", type=Path, action="append", help="a folder of source articles (repeatable)"
    )
    args = parser.parse_args()
    try:
        settings = Settings()
        refuse_seeds_folder(args.out, settings.seeds_dir)  # before any reading: a clear refusal first
        if args.count < 1:
            raise ValueError("--count must be at least 1")
        folders = args.sources or [ROOT / "tests" / "corpus" / "articles", settings.seeds_dir]
        sources = [article for folder in folders for article in load_articles(folder)]
        paths = write_archive(args.out, synthetic_articles(sources, args.count, args.seed), settings.seeds_dir)
    except (NewsbotError, ValueError) as error:
        print(f"synthetic_archive: {error}", file=sys.stderr)
        return 2
    print(f"Wrote {len(paths):,} SYNTHETIC articles to {args.out} (seed {args.seed}, from {len(sources)} articles).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
