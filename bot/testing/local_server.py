"""A local HTTP server in a background thread (aiohttp on 127.0.0.1, port 0) that records calls:
the base of the fake Telegram Bot API and Slack Web API servers used by tests and benchmarks."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from aiohttp import web


class LocalServer:
    """Subclasses add routes in `routes`; tests read `calls` and block on `wait_for`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.call_times: list[float] = []  # time.perf_counter() of each call, for latency benchmarks
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def record(self, method: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append((method, params))
            self.call_times.append(time.perf_counter())

    def start(self):
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            app = web.Application()
            self.routes(app)
            runner = web.AppRunner(app)
            self._loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            self._loop.run_until_complete(site.start())
            self.port = runner.addresses[0][1]
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(runner.cleanup())

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(5)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    def timed_calls(self, method: str) -> list[tuple[dict[str, Any], float]]:
        with self._lock:
            return [(params, at) for (name, params), at in zip(self.calls, self.call_times) if name == method]

    def wait_for(self, predicate, timeout: float = 60.0):
        """Block until `predicate()` is truthy (checked as calls arrive); return its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        raise AssertionError(f"timed out; calls so far: {[name for name, _ in self.calls]}")
