"""Conversation memory that survives a restart: the last questions and the chosen language of each
chat or thread, in SQLite under NEWSBOT_DATA_DIR (one file, WAL mode, bounded per conversation).

Keys name a conversation: `telegram:<chat>`, `slack:<channel>:<thread_ts>`, `terminal`. Besides
the questions, each conversation keeps the article its last answer quoted: the story a follow-up
that names nothing is about.

Questions are user data, kept as the answer log's settings say: turns older than NEWSBOT_LOG_DAYS
are pruned when the history opens and daily after; with NEWSBOT_LOG_QUESTIONS=false (or no log,
NEWSBOT_LOG_DAYS=0) the history is kept in memory only, and a file left from before is removed.

History is a convenience, never a reason not to answer: a damaged file is kept aside (renamed)
and a fresh one started; a file deleted while running is started anew; a folder that can't be
written keeps the history in memory. Each of these is said once, in the log.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bot.types import Lang

logger = logging.getLogger(__name__)
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (key TEXT NOT NULL, at REAL NOT NULL, question TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS turns_by_key ON turns (key, at);
CREATE TABLE IF NOT EXISTS chats (key TEXT PRIMARY KEY, language TEXT);
CREATE TABLE IF NOT EXISTS stories (key TEXT PRIMARY KEY, at REAL NOT NULL, doc_id TEXT NOT NULL);
"""
IN_MEMORY = ":memory:"
DAY = 86_400.0


class History:
    """Thread-safe; every write is its own transaction, so a crash loses at most the last turn."""

    def __init__(self, path: Path, turns: int = 6, days: float | None = None, on_disk: bool = True) -> None:
        self.path = path
        self.turns = max(1, turns)
        self.days = days  # None: turns are kept whatever their age
        self.on_disk = on_disk
        self._lock = threading.Lock()
        self._warned: set[str] = set()
        self._pruned = 0.0
        if not on_disk:
            self._remove_file()
        self._db, self._inode = self._open()

    # --- opening, and what can go wrong with the file ------------------------------
    def _remove_file(self) -> None:
        """The questions a history kept on disk before it was told not to."""
        removed = False
        for suffix in ("", "-wal", "-shm"):
            try:
                self.path.with_name(self.path.name + suffix).unlink()
                removed = True
            except FileNotFoundError:
                pass
            except OSError as error:
                logger.warning("Can't remove the chat history %s (%s); it holds earlier questions.", self.path, error)
        if removed:
            logger.info("Removed the chat history %s: questions are not to be kept.", self.path)

    def _open(self) -> tuple[sqlite3.Connection, int | None]:
        if not self.on_disk:
            return self._connect(IN_MEMORY), None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self._connect(str(self.path)), self.path.stat().st_ino
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError) or not self.path.exists():
                return self._in_memory(error)
            aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                self.path.rename(aside)
                for suffix in ("-wal", "-shm"):  # else SQLite would replay them into the fresh file
                    journal = self.path.with_name(self.path.name + suffix)
                    if journal.exists():
                        journal.rename(aside.with_name(aside.name + suffix))
            except OSError as rename_error:
                return self._in_memory(rename_error)
            logger.warning(
                "The chat history %s can't be read (%s); kept it as %s and started a new one.",
                self.path,
                error,
                aside.name,
            )
            return self._open()
        except OSError as error:
            return self._in_memory(error)

    def _in_memory(self, error: Exception) -> tuple[sqlite3.Connection, None]:
        logger.warning(
            "Can't keep the chat history in %s (%s); it is kept in memory until the bot stops.", self.path, error
        )
        return self._connect(IN_MEMORY), None

    @staticmethod
    def _connect(where: str) -> sqlite3.Connection:
        db = sqlite3.connect(where, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=5000")
            if where != IN_MEMORY:
                db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _reopen_if_deleted(self) -> None:
        """A history file deleted (or replaced) under a running bot would swallow every later turn."""
        if self._inode is None:
            return
        try:
            inode: int | None = self.path.stat().st_ino
        except OSError:
            inode = None
        if inode != self._inode:
            logger.warning("The chat history %s was deleted or replaced; starting a new one.", self.path)
            self._db.close()
            self._db, self._inode = self._open()

    def _prune(self) -> None:
        """Drop turns older than the retention: at the first use, then daily."""
        if self.days is None or time.time() - self._pruned < DAY:
            return
        self._db.execute("DELETE FROM turns WHERE at < ?", (time.time() - self.days * DAY,))
        self._db.execute("DELETE FROM stories WHERE at < ?", (time.time() - self.days * DAY,))
        self._pruned = time.time()

    def _run(self, what: str, action: Callable[[sqlite3.Connection], T], default: T) -> T:
        """Run one statement group; a failure is logged once per kind and `default` returned."""
        with self._lock:
            try:
                self._reopen_if_deleted()
                self._prune()
                return action(self._db)
            except sqlite3.Error as error:
                if what not in self._warned:
                    self._warned.add(what)
                    logger.warning(
                        "Can't %s in the chat history %s (%s); answering without it.", what, self.path, error
                    )
                return default

    # --- the conversation's memory ------------------------------------------------
    def previous(self, key: str) -> str:
        """The last question of the conversation, or ""."""
        row = self._run(
            "read",
            lambda db: db.execute(
                "SELECT question FROM turns WHERE key = ? ORDER BY at DESC LIMIT 1", (key,)
            ).fetchone(),
            None,
        )
        return row[0] if row else ""

    def add(self, key: str, question: str) -> None:
        def add(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN")
                db.execute("INSERT INTO turns (key, at, question) VALUES (?, ?, ?)", (key, time.time(), question))
                db.execute(
                    "DELETE FROM turns WHERE key = ? AND at NOT IN "
                    "(SELECT at FROM turns WHERE key = ? ORDER BY at DESC LIMIT ?)",
                    (key, key, self.turns),
                )

        self._run("write", add, None)

    def clear(self, key: str) -> None:
        def clear(db: sqlite3.Connection) -> None:
            with db:
                db.execute("BEGIN")
                db.execute("DELETE FROM turns WHERE key = ?", (key,))
                db.execute("DELETE FROM stories WHERE key = ?", (key,))

        self._run("write", clear, None)

    def story(self, key: str) -> str:
        """The article the conversation's last answer quoted, or ""."""
        row = self._run(
            "read", lambda db: db.execute("SELECT doc_id FROM stories WHERE key = ?", (key,)).fetchone(), None
        )
        return row[0] if row else ""

    def set_story(self, key: str, doc_id: str) -> None:
        self._run(
            "write",
            lambda db: db.execute(
                "INSERT INTO stories (key, at, doc_id) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET at = excluded.at, doc_id = excluded.doc_id",
                (key, time.time(), doc_id),
            ),
            None,
        )

    def language(self, key: str) -> Lang | None:
        row = self._run(
            "read", lambda db: db.execute("SELECT language FROM chats WHERE key = ?", (key,)).fetchone(), None
        )
        return row[0] if row and row[0] in ("da", "en") else None

    def set_language(self, key: str, language: Lang | None) -> None:
        self._run(
            "write",
            lambda db: db.execute(
                "INSERT INTO chats (key, language) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET language = excluded.language",
                (key, language),
            ),
            None,
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()
