"""/healthz, /readyz and /metrics on NEWSBOT_METRICS_HOST:NEWSBOT_METRICS_PORT.

The server runs in its own thread with its own event loop, from before the index loads (so a
supervisor sees the process up but not ready) until the process exits, whatever the front end's
own loop is doing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

from aiohttp import web
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.errors import ConfigError
from bot.operations.metrics import Metrics

logger = logging.getLogger(__name__)


@dataclass
class Readiness:
    """What /readyz reports: the index loaded, and the generator when one is configured."""

    index: bool = False
    generator_wanted: str = ""  # the configured backend when it isn't extractive
    generator_loaded: str = ""  # the backend that loaded
    warming: bool = False  # the model's warm-up completion is running (a question now waits for it)

    def warmed(self) -> None:
        self.warming = False

    def problems(self) -> list[str]:
        found = [] if self.index else ["the index is not loaded yet"]
        if self.generator_wanted and self.generator_loaded != self.generator_wanted:
            loaded = self.generator_loaded or "nothing yet"
            found.append(f"the {self.generator_wanted} generator is not loaded ({loaded} instead)")
        if self.warming:
            found.append("the model is warming up")
        return found


def health_app(readiness: Readiness, metrics: Metrics) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "up"})

    async def readyz(request: web.Request) -> web.Response:
        problems = readiness.problems()
        return web.json_response({"ready": not problems, "problems": problems}, status=503 if problems else 200)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", make_aiohttp_handler(metrics.registry))
    return app


class HealthServer:
    """Serve `health_app` from a daemon thread; `start()` returns once it listens."""

    def __init__(self, host: str, port: int, readiness: Readiness, metrics: Metrics) -> None:
        self.host, self.port = host, port
        self.app = health_app(readiness, metrics)
        self._thread = threading.Thread(target=self._serve, name="health", daemon=True)
        self._listening = threading.Event()
        self._error: OSError | None = None

    def start(self) -> HealthServer:
        self._thread.start()
        self._listening.wait(10)
        if self._error is not None:
            raise ConfigError(
                f"Can't serve metrics on {self.host}:{self.port} ({self._error.strerror or self._error}). "
                "Set NEWSBOT_METRICS_PORT to a free port, or unset it."
            )
        logger.info("Health and metrics on http://%s:%d/metrics", self.host, self.port)
        return self

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(self.app, access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, self.host, self.port).start())
        except OSError as error:
            self._error = error
            self._listening.set()
            return
        self._listening.set()
        loop.run_forever()
