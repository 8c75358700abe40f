"""A bot process as a service: log lines set up, /healthz and /metrics served before the index
loads, the answerer loaded, the answer log opened — and the articles re-read on /reload."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from bot.answering.chain import Answerer
from bot.config import Settings
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
from bot.store.news_index import BuildReport, follow_seeds

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    answerer: Answerer
    recorder: Recorder
    metrics: Metrics | None
    readiness: Readiness
    # Writing a generation of thousands of articles takes seconds: it happens here, while the
    # answering thread answers from the updated index already.
    _writer: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-writer")
    )
    _writing: Future[None] | None = None

    def watch_queue(self, depth: Callable[[], float]) -> None:
        """Export the generator queue's depth (read at each scrape)."""
        if self.metrics is not None:
            self.metrics.watch_queue(depth)

    def reload(self) -> BuildReport:
        """Re-read the seeds folder and answer from the index brought in step with it, at once
        (run in the answering thread); the new generation is written in the background."""
        if self._writing is not None and not self._writing.done():
            # The write reads the index that is about to change; it may wait for another process's
            # build (`newsbot index --rebuild`), and answers must not wait with it.
            raise IndexBusy("the updated index is still being written; the change is taken up when it is done")
        index = self.answerer.index
        backend = store_backend(self.settings.vector_store, self.settings.milvus_uri, self.settings.index_dir)
        try:
            report, commit = follow_seeds(
                index,
                self.settings.seeds_dir,
                self.settings.index_dir,
                backend=backend,
                max_article_chars=self.settings.max_article_chars,
                secrets=self.settings.secrets(),
                notify=logger.warning,
                progress=log_progress,
            )
        except Exception:  # the articles updated before the failure are answered from, and counted
            self.answerer.use_index(index)
            self._indexed()
            raise
        if commit is None:
            self._indexed()
        else:
            self.answerer.use_index(index)
            if backend.writes_generations:
                self._writing = self._writer.submit(self._write, commit)
            else:  # Milvus has the vectors already; the commit is the manifest, written here and now
                self._write(commit)
        logger.info(
            "Articles re-read: index %s, %d article(s), %d chunks", report.action, len(index.articles), report.chunks
        )
        return report

    def _write(self, commit: Callable[[], None]) -> None:
        try:
            commit()
        except Exception as error:  # a full disk, a Milvus error: answered from memory; a restart re-indexes
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
        self._writer.shutdown(wait=True)
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
