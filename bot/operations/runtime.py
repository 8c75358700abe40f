"""A bot process as a service: log lines set up, /healthz and /metrics served before the index
loads, the answerer loaded, the answer log opened — and the articles re-read on /reload."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.answering.chain import Answerer
from bot.config import Settings
from bot.generators import expected_backend
from bot.operations.answer_log import LOG_FILE, read_entries
from bot.operations.health import HealthServer, Readiness
from bot.operations.logs import configure_logging
from bot.operations.metrics import Metrics
from bot.operations.recorder import Recorder, open_recorder
from bot.operations.stats import Stats, compute, start_of_today
from bot.service import load_answerer, load_index, log_progress
from bot.store.news_index import BuildReport

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    answerer: Answerer
    recorder: Recorder
    metrics: Metrics | None
    readiness: Readiness

    def watch_queue(self, depth: Callable[[], float]) -> None:
        """Export the generator queue's depth (read at each scrape)."""
        if self.metrics is not None:
            self.metrics.watch_queue(depth)

    def reload(self) -> BuildReport:
        """Re-read the seeds folder into the index and answer from it (run in the answering thread)."""
        index, report = load_index(
            self.settings, self.answerer.index.embeddings, notify=logger.warning, progress=log_progress
        )
        self.answerer.use_index(index)
        self._indexed()
        logger.info(
            "Articles re-read: index %s, %d article(s), %d chunks", report.action, len(index.articles), report.chunks
        )
        return report

    def today(self) -> Stats:
        """Today's numbers from the answer log (what the admins' /stats shows)."""
        return compute(read_entries(self.settings.data_dir / LOG_FILE, since=start_of_today()))

    def _indexed(self) -> None:
        index = self.answerer.index
        if self.metrics is not None:
            self.metrics.indexed(len(index.articles), len(index.chunks), index.generation)

    def close(self) -> None:
        """Write what the answer log still holds; call once the front end has stopped."""
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
    runtime = Runtime(settings, answerer, open_recorder(settings, metrics, answerer.composer.name), metrics, readiness)
    runtime._indexed()
    return runtime
