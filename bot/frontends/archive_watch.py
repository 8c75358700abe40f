"""Running bots follow the archive: new, changed and removed articles in the seeds folder, and
index generations committed by `newsbot ingest` or `newsbot index`, are picked up without a restart.

Every few seconds the folder's listing (names, sizes, modification times) and the manifest are
compared with the last ones seen; on a change the index is opened again — loaded when another
process has already brought it up to date, updated here otherwise — in the answering thread, so
it never runs beside an answer, and the conversations switch to an Answerer over it. A question
in flight finishes on the index it started with.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bot.answering.chain import Answerer
from bot.config import Settings
from bot.documents import ARTICLE_SUFFIXES
from bot.errors import NewsbotError
from bot.frontends.conversation import Conversations
from bot.service import load_index, log_progress

logger = logging.getLogger(__name__)
Listing = tuple[tuple[tuple[str, int, int], ...], int]


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
    """Polls the seeds folder and the index of one Settings for one Conversations."""

    def __init__(self, settings: Settings, conversations: Conversations) -> None:
        self.settings = settings
        self.conversations = conversations
        self.seen = listing(settings.seeds_dir, settings.index_dir)

    async def run(self) -> None:
        """Until cancelled (the bot stopping)."""
        if self.settings.watch_seconds <= 0:
            return
        while True:
            await asyncio.sleep(self.settings.watch_seconds)
            await self.check()

    async def check(self) -> bool:
        """Reload when the archive changed; True when the conversations switched index."""
        now = await asyncio.to_thread(listing, self.settings.seeds_dir, self.settings.index_dir)
        if now == self.seen:
            return False
        try:
            answerer, action = await self.conversations.run(self._reopen)
        except (NewsbotError, OSError) as error:  # the bot keeps the index it has
            logger.warning("Reloading the articles failed (%s); answering from the index as it was.", error)
            return False
        if action != "stale":  # else another process is still building: look again next time
            self.seen = await asyncio.to_thread(listing, self.settings.seeds_dir, self.settings.index_dir)
        if answerer.index.generation == self.conversations.answerer.index.generation:
            return False
        self.conversations.use(answerer)
        logger.info(
            "Articles reloaded (%s): %d articles, generation %s.",
            action,
            len(answerer.index.articles),
            answerer.index.generation,
        )
        return True

    def _reopen(self) -> tuple[Answerer, str]:
        current = self.conversations.answerer
        index, report = load_index(
            self.settings, current.index.embeddings, notify=logger.warning, progress=log_progress
        )
        return Answerer(self.settings, index, current.composer), report.action
