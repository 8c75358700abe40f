"""The briefing cache: one JSON file per set of articles, request, language and backend under
NEWSBOT_DATA_DIR/briefs. Light to import, so a cached `newsbot brief` loads no model."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from bot.answering.selection import BriefRequest, select_by_period
from bot.documents import Article
from bot.files import write_json_atomically
from bot.types import Briefing, Lang

logger = logging.getLogger(__name__)


def cache_key(articles: dict[str, str], language: Lang, backend: str, request: str = "") -> str:
    """The key for a briefing on `articles` (doc id → sha256 of the seed file), asked for as
    `request` (`BriefRequest.key`: its topic and period; "" for the newest articles)."""
    return hashlib.sha256(json.dumps([sorted(articles.items()), language, backend, request]).encode()).hexdigest()[:32]


def fingerprint(articles: list[Article]) -> dict[str, str]:
    """Doc id → sha256 of the articles a briefing without a request covers: the newest."""
    newest = select_by_period({a.doc_id: {"date": a.date} for a in articles}, BriefRequest()).doc_ids
    hashes = {a.doc_id: a.content_hash for a in articles}
    return {doc_id: hashes[doc_id] for doc_id in newest}


def cache_path(data_dir: Path, key: str) -> Path:
    return data_dir / "briefs" / f"{key}.json"


def cached_briefing(data_dir: Path, key: str) -> Briefing | None:
    """A briefing from the disk cache, or None (also for an unreadable cache file)."""
    try:
        return Briefing.from_json(json.loads(cache_path(data_dir, key).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_briefing(data_dir: Path, key: str, briefing: Briefing) -> None:
    """Cache the briefing; a folder that can't be written costs the next call time, nothing else."""
    try:
        write_json_atomically(cache_path(data_dir, key), briefing.to_json())
    except OSError as error:
        logger.warning("Can't cache the briefing in %s (%s); it is written anew each time.", data_dir, error.strerror)
