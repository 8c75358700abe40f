"""Conversation memory that survives a restart: the last questions and the chosen language of each
chat or thread, in SQLite under NEWSBOT_DATA_DIR (one file, WAL mode, bounded per conversation).

Keys name a conversation: `telegram:<chat>`, `slack:<channel>:<thread_ts>`, `terminal`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from bot.types import Lang

SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (key TEXT NOT NULL, at REAL NOT NULL, question TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS turns_by_key ON turns (key, at);
CREATE TABLE IF NOT EXISTS chats (key TEXT PRIMARY KEY, language TEXT);
"""


class History:
    """Thread-safe; every write is its own transaction, so a crash loses at most the last turn."""

    def __init__(self, path: Path, turns: int = 6) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.turns = max(1, turns)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    def previous(self, key: str) -> str:
        """The last question of the conversation, or ""."""
        with self._lock:
            row = self._db.execute(
                "SELECT question FROM turns WHERE key = ? ORDER BY at DESC LIMIT 1", (key,)
            ).fetchone()
        return row[0] if row else ""

    def add(self, key: str, question: str) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO turns (key, at, question) VALUES (?, ?, ?)", (key, time.time(), question))
            self._db.execute(
                "DELETE FROM turns WHERE key = ? AND at NOT IN (SELECT at FROM turns WHERE key = ? ORDER BY at DESC LIMIT ?)",
                (key, key, self.turns),
            )

    def clear(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM turns WHERE key = ?", (key,))

    def language(self, key: str) -> Lang | None:
        with self._lock:
            row = self._db.execute("SELECT language FROM chats WHERE key = ?", (key,)).fetchone()
        return row[0] if row and row[0] in ("da", "en") else None

    def set_language(self, key: str, language: Lang | None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO chats (key, language) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET language = excluded.language",
                (key, language),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
