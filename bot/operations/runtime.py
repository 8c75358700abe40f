"""A bot process as a service: log lines set up, /healthz and /metrics served before the index
loads, the answerer loaded, the answer log opened — and the articles re-read on /reload."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bot.answering.chain import Answerer
from bot.config import Settings
from bot.embeddings.base import embed_in_background
from bot.errors import IndexBusy
from bot.generators import expected_backend
from bot.operations.answer_log import LOG_FILE, read_entries
from bot.operations.health import HealthServer, Readiness
from bot.operations.logs import configure_logging
from bot.operations.metrics import Metrics
from bot.operations.recorder import Recorder, open_recorder
from bot.operations.stats import Stats, compute, start_of_today
from bot.service import load_answerer, log_progress
from bot.store.backends import store_backend
from bot.store.news_index import BuildReport, committer, read_seeds

logger = logging.getLogger(__name__)
InAnsweringThread = Callable[..., Awaitable[Any]]  # runs a function with its arguments in the answering thread


@dataclass
class Runtime:
    settings: Settings
    answerer: Answerer
    recorder: Recorder
    metrics: Metrics | None
    readiness: Readiness
    # Reading, embedding and writing an update: never in the answering thread, so that questions
    # are answered meanwhile (see `update`).
    _updater: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="index-update", initializer=embed_in_background
        )
    )
    _updating: asyncio.Lock = field(default_factory=asyncio.Lock)  # the watch and /reload: one update at a time
    _writing: Future[None] | None = None

    def watch_queue(self, depth: Callable[[], float]) -> None:
        """Export the generator queue's depth (read at each scrape)."""
        if self.metrics is not None:
            self.metrics.watch_queue(depth)

    async def update(self, answering: InAnsweringThread) -> BuildReport:
        """Re-read the seeds folder and bring the index answered from in step with it. The articles
        are read and embedded in the update thread while questions are answered from the index as
        it is; `answering` (the answering thread) takes out the changed articles and puts in each
        embedded one between two answers, a quick job, so that each is answered from at once. The
        new generation is then written in the update thread."""
        async with self._updating:
            if self._writing is not None and not self._writing.done():
                # The write reads the index that is about to change; it may wait for another process's
                # build (`newsbot index --rebuild`), and answers must not wait with it.
                raise IndexBusy("the updated index is still being written; the change is taken up when it is done")
            settings, index = self.settings, self.answerer.index
            started = time.perf_counter()
            loop = asyncio.get_running_loop()
            articles = await loop.run_in_executor(
                self._updater,
                partial(
                    read_seeds,
                    settings.seeds_dir,
                    logger.warning,
                    settings.max_article_chars,
                    settings.secrets(),
                    allow_none=True,  # every article taken out: the bot quotes none of them
                ),
            )
            stale, fresh = index.changes(articles)
            try:
                if stale:
                    await answering(index.take_out, stale)
                for done, doc_id in enumerate(fresh):
                    log_progress(f"embedding {articles[doc_id].file_name}", done, len(fresh))
                    await answering(
                        index.put_in, await loop.run_in_executor(self._updater, index.embed, articles[doc_id])
                    )
            finally:  # what was put in is answered from and counted, also when an update fails partway
                if stale or fresh:
                    await answering(self.answerer.use_index, index)
                    self._indexed()
            report = index.report(articles, stale, fresh)
            report.seconds = time.perf_counter() - started
            if report.action != "loaded":
                backend = store_backend(settings.vector_store, settings.milvus_uri, settings.index_dir)
                self._writing = self._updater.submit(
                    self._write, committer(index, settings.index_dir, backend, logger.warning)
                )
            logger.info(
                "Articles re-read: index %s, %d article(s), %d chunks",
                report.action,
                len(index.articles),
                report.chunks,
            )
            return report

    def _write(self, commit: Callable[[], None]) -> None:
        try:
            commit()
        except Exception as error:  # a full disk, a Milvus error: answered from memory; the next change writes again
            logger.warning(
                "Writing the updated index failed (%s: %s); it is answered from memory.", type(error).__name__, error
            )
        self._indexed()

    def today(self) -> Stats:
        """Today's numbers from the answer log (what the admins' /stats shows)."""
        return compute(read_entries(self.settings.data_dir / LOG_FILE, since=start_of_today()))

    def _indexed(self) -> None:
        index = self.answerer.index
        if self.metrics is not None:
            self.metrics.indexed(len(index.articles), len(index.chunks), index.generation)

    def close(self) -> None:
        """Finish writing the index and what the answer log still holds; call once the front end has stopped."""
        self._updater.shutdown(wait=True)
        self.answerer.index.close()
        self.recorder.close()


def start_runtime(settings: Settings) -> Runtime:
    """Everything a bot process needs before its front end starts taking messages."""
    configure_logging(settings.log_format, settings.secrets())
    metrics = Metrics() if settings.metrics_port is not None else None
    wanted = expected_backend(settings)
    readiness = Readiness(generator_wanted="" if wanted == "extractive" else wanted)
    if metrics is not None and settings.metrics_port is not None:
        metrics.watch_readiness(lambda: not readiness.problems())
        HealthServer(settings.metrics_host, settings.metrics_port, readiness, metrics).start()
    answerer, _ = load_answerer(settings, notify=logger.warning, progress=log_progress)
    readiness.index = True
    readiness.generator_loaded = answerer.composer.name
    readiness.warming = settings.warm_up and answerer.composer.fluent
    runtime = Runtime(settings, answerer, open_recorder(settings, metrics, answerer.composer.name), metrics, readiness)
    runtime._indexed()
    return runtime
