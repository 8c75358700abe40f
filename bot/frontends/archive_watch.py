"""Running bots follow the archive: new, changed and removed articles in the seeds folder, and
index generations committed by `newsbot ingest` or `newsbot index`, are picked up without a restart.

Every few seconds the folder's listing (names, sizes, modification times) and the manifest are
compared with the last ones seen; on a change the articles are re-read (`Runtime.reload`: the
index loaded when another process has already brought it up to date, updated here otherwise) in
the answering thread, so it never runs beside an answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import Settings
from bot.documents import ARTICLE_SUFFIXES
from bot.errors import NewsbotError
from bot.store.news_index import BuildReport

logger = logging.getLogger(__name__)
Listing = tuple[tuple[tuple[str, int, int], ...], int]
RunInAnsweringThread = Callable[[Callable[[], BuildReport]], Awaitable[BuildReport]]


def listing(seeds_dir: Path, index_dir: Path) -> Listing:
    """What a change of the archive changes: the article files' stats and the manifest's mtime."""
    files = []
    try:
        for entry in sorted(seeds_dir.iterdir()):
            if entry.suffix in ARTICLE_SUFFIXES:
                stat = entry.stat()
                files.append((entry.name, stat.st_size, stat.st_mtime_ns))
    except OSError:  # a folder gone or unreadable for a moment: compare again next time
        pass
    try:
        manifest = (index_dir / "manifest.json").stat().st_mtime_ns
    except OSError:
        manifest = 0
    return tuple(files), manifest


class ArchiveWatch:
    """Polls one seeds folder and index; `reload` re-reads them, run through `run`."""

    def __init__(self, settings: Settings, run: RunInAnsweringThread, reload: Callable[[], BuildReport]) -> None:
        self.settings = settings
        self.run_in_answering_thread = run
        self.reload = reload
        self.seen = listing(settings.seeds_dir, settings.index_dir)

    async def run(self) -> None:
        """Until cancelled (the bot stopping)."""
        if self.settings.watch_seconds <= 0:
            return
        while True:
            await asyncio.sleep(self.settings.watch_seconds)
            await self.check()

    async def check(self) -> bool:
        """Re-read the articles when the archive changed; True when it did."""
        now = await asyncio.to_thread(listing, self.settings.seeds_dir, self.settings.index_dir)
        if now == self.seen:
            return False
        # Taken before the re-read: a file dropped in meanwhile is a change next time. A re-read that
        # fails or finds another process building is tried again when the folder or manifest changes
        # (a finished build rewrites the manifest), not on every tick.
        self.seen = now
        try:
            await self.run_in_answering_thread(self.reload)
        except (NewsbotError, OSError) as error:  # the bot keeps the index it has
            logger.warning("Re-reading the articles failed (%s); answering from the index as it was.", error)
            return False
        return True
