"""Running bots follow the archive: new, changed and removed articles in the seeds folder are
picked up without a restart.

Every few seconds the folder's listing (names, sizes, modification times) is compared with the
last one seen; on a change that the next look finds the same (no file still being written) the
articles are re-read (`Runtime.update`: the changed articles embedded apart from the answering
thread, each put into the bot's own index between two answers, the new generation written in the
background), so questions are answered meanwhile.

A following bot holds a shared lock on `index/.following`, so that `newsbot ingest` knows to
store the articles and leave the index to it, rather than read and write the whole index too.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.config import Settings
from bot.documents import ARTICLE_SUFFIXES
from bot.errors import IndexBusy, NewsbotError
from bot.store.news_index import BuildReport

logger = logging.getLogger(__name__)
Listing = tuple[tuple[str, int, int], ...]
FOLLOWING = ".following"
Update = Callable[[], Awaitable[BuildReport]]


def listing(seeds_dir: Path) -> Listing:
    """What a change of the archive changes: the article files' stats. The index folder isn't
    watched: the bot keeps its own index in step, and another process's generation of the same
    articles would change nothing. Links and other entries that are no regular file are listed
    by their own stats, never followed: a dangling link is one more entry, not an error."""
    files = []
    try:
        entries = sorted(seeds_dir.iterdir())
    except OSError:  # a folder gone or unreadable for a moment: compare again next time
        return ()
    for entry in entries:
        if entry.suffix in ARTICLE_SUFFIXES:
            try:
                stat = entry.lstat()
            except OSError:  # gone since the listing
                continue
            files.append((entry.name, stat.st_size, stat.st_mtime_ns))
    return tuple(files)


@contextmanager
def following(index_dir: Path) -> Iterator[None]:
    """Hold the shared lock that says a running bot follows this index (see `followed`); on a
    read-only index folder, follow without it."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        lock = open(index_dir / FOLLOWING, "a")  # noqa: SIM115  # closed by the with below; opening may fail alone
    except OSError as error:
        logger.warning("Can't mark %s as followed (%s); `newsbot ingest` updates the index itself.", index_dir, error)
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def followed(index_dir: Path, attempts: int = 5) -> bool:
    """Whether a running bot follows this index and brings it up to date itself. Another
    `followed` call holds the lock for an instant, a bot for as long as it runs: ask a few times."""
    try:
        with open(index_dir / FOLLOWING, "a") as lock:
            for _ in range(attempts):
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    time.sleep(0.05)
                    continue
                fcntl.flock(lock, fcntl.LOCK_UN)
                return False
    except OSError:  # no index folder yet, or not writable: nobody follows it from here
        return False
    return True


class ArchiveWatch:
    """Polls one seeds folder and index; `update` re-reads them."""

    def __init__(self, settings: Settings, update: Update) -> None:
        self.settings = settings
        self.update = update
        self.seen = listing(settings.seeds_dir)
        self.settling: Listing | None = None  # a changed listing, taken up when the next look finds it the same

    async def run(self) -> None:
        """Until cancelled (the bot stopping)."""
        if self.settings.watch_seconds <= 0:
            return
        with following(self.settings.index_dir):
            while True:
                await asyncio.sleep(self.settings.watch_seconds)
                await self.check()

    async def check(self) -> bool:
        """Re-read the articles when the archive changed and then held still for one look (a file
        still being written changes size or time between looks); True when it did."""
        now = await asyncio.to_thread(listing, self.settings.seeds_dir)
        if now == self.seen:
            self.settling = None
            return False
        if now != self.settling:
            self.settling = now
            return False
        # Taken before the re-read: a file dropped in meanwhile is a change next time. A re-read that
        # fails is tried again when the folder changes, not on every tick.
        before, self.seen = self.seen, now
        try:
            await self.update()
        except IndexBusy as busy:  # the last update is still being written: look again next tick
            self.seen = before
            logger.info("Not yet: %s.", busy)
            return False
        except (NewsbotError, OSError) as error:  # the bot keeps the index it has
            logger.warning("Re-reading the articles failed (%s); answering from the articles indexed so far.", error)
            return False
        except Exception as error:  # anything else (a model or store error, a bug): following goes on
            logger.warning(
                "Re-reading the articles failed (%s: %s); answering from the articles indexed so far.",
                type(error).__name__,
                error,
                exc_info=True,  # for the operator: this may be a bug
            )
            return False
        return True
