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


def cache_key(articles: dict[str, str], language: Lang, backend: str, selection: str) -> str:
    """The key for a briefing on `articles` (doc id → sha256 of the seed file), selected as
    `selection` says (`Selection.key`: the request and how many articles it found)."""
    return hashlib.sha256(json.dumps([sorted(articles.items()), language, backend, selection]).encode()).hexdigest()[
        :32
    ]


def period_key(
    articles: list[Article], language: Lang, backend: str, request: BriefRequest | None = None
) -> str | None:
    """The key of the briefing on the newest articles, or those of the request's period, from the
    seed files alone (no index); None when the period holds no article."""
    selection = select_by_period({a.doc_id: a.ref() for a in articles}, request or BriefRequest())
    hashes = {a.doc_id: a.content_hash for a in articles}
    if not selection.doc_ids:
        return None
    return cache_key({d: hashes[d] for d in selection.doc_ids}, language, backend, selection.key)


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
