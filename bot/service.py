"""Wiring for entry points: settings → embeddings → index → composer → Answerer."""

from __future__ import annotations

import logging
from collections.abc import Callable

from threadpoolctl import threadpool_limits

from bot.answering.chain import Answerer
from bot.answering.composers import load_composer
from bot.config import Settings
from bot.embeddings import load_embeddings
from bot.embeddings.base import NewsbotEmbeddings
from bot.store.backends import store_backend
from bot.store.news_index import BuildReport, NewsIndex, Progress, open_index

logger = logging.getLogger(__name__)


def load_answerer(
    settings: Settings,
    *,
    rebuild: bool = False,
    notify: Callable[[str], None] = lambda message: None,
    progress: Progress = lambda stage, done, total: None,
    composer: bool = True,
    wait: bool = False,
) -> tuple[Answerer, BuildReport]:
    """An Answerer over an up-to-date index (built or updated as needed)."""
    embeddings = load_embeddings(settings.embeddings)
    index, report = load_index(settings, embeddings, rebuild=rebuild, notify=notify, progress=progress, wait=wait)
    # An answer multiplies one vector by a matrix at a time: one BLAS thread does that in well
    # under a millisecond, while a pool's spinning workers take the core e5 encodes on next.
    threadpool_limits(limits=1, user_api="blas")
    chosen = load_composer(settings, notify) if composer else None
    return Answerer(settings, index, chosen), report


def load_index(
    settings: Settings,
    embeddings: NewsbotEmbeddings,
    *,
    rebuild: bool = False,
    notify: Callable[[str], None] = lambda message: None,
    progress: Progress = lambda stage, done, total: None,
    wait: bool = False,
) -> tuple[NewsIndex, BuildReport]:
    """The index of the seeds folder in the configured store (NEWSBOT_VECTOR_STORE), built or updated as needed."""
    backend = store_backend(settings.vector_store, settings.milvus_uri, settings.index_dir)
    return open_index(
        settings.seeds_dir,
        settings.index_dir,
        embeddings,
        rebuild=rebuild,
        notify=notify,
        progress=progress,
        backend=backend,
        max_article_chars=settings.max_article_chars,
        secrets=settings.secrets(),
        wait=wait,
    )


def log_progress(stage: str, done: int, total: int) -> None:
    """Progress as log lines, for processes without a terminal (the bots, services)."""
    logger.info("Index: %s (%d/%d)", stage, done, total)
