"""The answer log: every question the bots answer (or refuse), in SQLite under NEWSBOT_DATA_DIR,
with its outcome, reason, quotes and timings, and the 👍/👎 it got.

Writes go through one writer thread and a bounded queue, so an answer never waits for the disk
and never fails because of it: a full disk, a locked or unwritable database is logged (once a
minute at most) and the entry is dropped. Users appear only as a salted hash of their id; the
salt is made once per log and kept in it. Entries older than NEWSBOT_LOG_DAYS are pruned when
the log opens and daily after.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger(__name__)

# "closest": the articles' closest quote, shown under a caveat (neither an answer nor a decline).
Outcome = Literal["answered", "closest", "declined", "refused", "rate-limited", "error"]
OUTCOMES: tuple[str, ...] = ("answered", "closest", "declined", "refused", "rate-limited", "error")
LOG_FILE = "answers.sqlite3"
DAY = 86_400.0
QUEUE_SIZE = 10_000  # entries waiting for the disk; beyond, new ones are dropped (and logged)
WARN_EVERY = 60.0  # seconds between two warnings about the same failure

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, at REAL NOT NULL, frontend TEXT NOT NULL, chat_kind TEXT NOT NULL,
    user_hash TEXT NOT NULL, question TEXT, language TEXT NOT NULL, outcome TEXT NOT NULL,
    reason TEXT NOT NULL, citations TEXT NOT NULL, backend TEXT NOT NULL, verified INTEGER NOT NULL,
    fallback TEXT NOT NULL, timings TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_by_time ON answers (at);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL, user_hash TEXT NOT NULL, vote INTEGER NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (answer_id, user_hash)
);
"""


@dataclass(frozen=True)
class Cited:
    """One quote an answer cited: which article and paragraph, and the words."""

    doc_id: str
    paragraph: int
    quote: str


@dataclass(frozen=True)
class Entry:
    """One row of the answer log. `question` is None when NEWSBOT_LOG_QUESTIONS=false."""

    id: str
    at: float
    frontend: str
    chat_kind: str
    user_hash: str
    question: str | None
    language: str
    outcome: str
    reason: str = ""
    citations: tuple[Cited, ...] = ()
    backend: str = "extractive"
    verified: bool = True
    fallback: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    up: int = 0  # 👍 and 👎 it got (one per user; a second press changes the vote)
    down: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["citations"] = [asdict(c) for c in self.citations]
        data["timings_ms"] = {k: round(v, 1) for k, v in self.timings_ms.items()}
        return data


def user_hash(salt: str, frontend: str, user_id: str) -> str:
    """The user's stand-in in the log: the same for every question of one user, and no way back."""
    return hashlib.sha256(f"{salt}:{frontend}:{user_id}".encode()).hexdigest()[:16]


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, timeout=2.0)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # a log: a power cut may lose the last entries, never corrupt it
        db.executescript(SCHEMA)
    except sqlite3.Error:
        db.close()
        raise
    return db


def _salt(db: sqlite3.Connection) -> str:
    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('salt', ?)", (secrets.token_hex(16),))
    return str(db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()[0])


class AnswerLog:
    """Write side of the log; `record` and `vote` return at once, whatever the disk does."""

    def __init__(self, path: Path, days: int = 30, keep_questions: bool = True) -> None:
        self.path = path
        self.days = days
        self.keep_questions = keep_questions
        self._queue: queue.Queue[Callable[[sqlite3.Connection, str], None] | None] = queue.Queue(QUEUE_SIZE)
        self._db: sqlite3.Connection | None = None
        self._salt = ""
        self._pruned = 0.0
        self._warned: dict[str, float] = {}
        self._thread = threading.Thread(target=self._write_forever, name="answer-log", daemon=True)
        self._thread.start()
        self._submit(lambda db, salt: None)  # open (and prune) at start, not at the first answer

    # --- what the front ends call ----------------------------------------------------
    def record(self, entry: Entry, user_id: str) -> None:
        """Log `entry` for the user `user_id` (hashed in the writer thread, never stored)."""
        if not self.keep_questions:
            entry = _without_question(entry)

        def write(db: sqlite3.Connection, salt: str) -> None:
            db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.id,
                    entry.at,
                    entry.frontend,
                    entry.chat_kind,
                    user_hash(salt, entry.frontend, user_id),
                    entry.question,
                    entry.language,
                    entry.outcome,
                    entry.reason,
                    json.dumps([asdict(c) for c in entry.citations], ensure_ascii=False),
                    entry.backend,
                    int(entry.verified),
                    entry.fallback,
                    json.dumps({k: round(v, 1) for k, v in entry.timings_ms.items()}),
                ),
            )

        self._submit(write)

    def vote(self, answer_id: str, frontend: str, user_id: str, vote: int) -> None:
        """👍 (+1) or 👎 (-1) on an answer; the same user pressing again changes their vote."""

        def write(db: sqlite3.Connection, salt: str) -> None:
            db.execute(
                "INSERT INTO votes (answer_id, user_hash, vote, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (answer_id, user_hash) DO UPDATE SET vote = excluded.vote, at = excluded.at",
                (answer_id, user_hash(salt, frontend, user_id), 1 if vote > 0 else -1, time.time()),
            )

        self._submit(write)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (up to `timeout`), then stop the writer."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            self._warn("full", "The answer log is still %d entries behind at exit; they are lost.", QUEUE_SIZE)
            return
        self._thread.join(timeout)

    # --- the writer thread -------------------------------------------------------------
    def _submit(self, write: Callable[[sqlite3.Connection, str], None]) -> None:
        try:
            self._queue.put_nowait(write)
        except queue.Full:
            self._warn("full", "The answer log is %d entries behind; an entry is dropped.", QUEUE_SIZE)

    def _write_forever(self) -> None:
        while (write := self._queue.get()) is not None:
            try:
                db = self._open()
                with db:
                    db.execute("BEGIN")
                    write(db, self._salt)
                if time.time() - self._pruned > DAY:
                    self.prune(db)
            except (sqlite3.Error, OSError) as error:
                if self._db is not None:  # reopen on the next entry: the disk may have room again
                    with contextlib.suppress(sqlite3.Error):
                        self._db.close()
                    self._db = None
                self._warn(
                    str(error),
                    "The answer log at %s can't be written (%s); the answers still go out.",
                    self.path,
                    error,
                )
        if self._db is not None:
            self._db.close()

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            db = _connect(self.path)
            try:
                self._salt = _salt(db)
                self.prune(db)
            except (sqlite3.Error, OSError):
                db.close()
                raise
            self._db = db
        return self._db

    def prune(self, db: sqlite3.Connection) -> None:
        """Drop entries and votes older than the retention: an entry's votes with it, and votes on
        answers the log doesn't hold (forged button data, or an answer never logged) by their own age."""
        cutoff = time.time() - self.days * DAY
        with db:
            db.execute("BEGIN")
            db.execute(
                "DELETE FROM votes WHERE at < ? OR answer_id IN (SELECT id FROM answers WHERE at < ?)", (cutoff, cutoff)
            )
            db.execute("DELETE FROM answers WHERE at < ?", (cutoff,))
        self._pruned = time.time()

    def _warn(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._warned.get(kind, -WARN_EVERY) >= WARN_EVERY:
            self._warned[kind] = now
            logger.warning(message, *args)


def _without_question(entry: Entry) -> Entry:
    return replace(entry, question=None)


# --- the read side (newsbot log, stats, feedback export) ---------------------------------
def read_entries(path: Path, since: float = 0.0, outcome: str | None = None) -> Iterator[Entry]:
    """The log's entries from `since` (a Unix time) on, oldest first, with their votes."""
    if not path.is_file():
        return
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            """
            SELECT a.id, a.at, a.frontend, a.chat_kind, a.user_hash, a.question, a.language, a.outcome,
                   a.reason, a.citations, a.backend, a.verified, a.fallback, a.timings,
                   COALESCE(SUM(v.vote > 0), 0), COALESCE(SUM(v.vote < 0), 0)
            FROM answers a LEFT JOIN votes v ON v.answer_id = a.id
            WHERE a.at >= ? AND (? IS NULL OR a.outcome = ?)
            GROUP BY a.id ORDER BY a.at
            """,
            (since, outcome, outcome),
        )
        for row in rows:
            yield Entry(
                id=row[0],
                at=row[1],
                frontend=row[2],
                chat_kind=row[3],
                user_hash=row[4],
                question=row[5],
                language=row[6],
                outcome=row[7],
                reason=row[8],
                citations=tuple(Cited(**c) for c in json.loads(row[9])),
                backend=row[10],
                verified=bool(row[11]),
                fallback=row[12],
                timings_ms=json.loads(row[13]),
                up=int(row[14]),
                down=int(row[15]),
            )
    finally:
        db.close()
