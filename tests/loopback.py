"""An aiohttp server on 127.0.0.1 (port 0) in a thread of its own, with its own event loop: the
common body of the platform doubles, so sync clients in worker threads and async clients in the
app's loop can both reach it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from typing import Self, TypeVar

from aiohttp import web

T = TypeVar("T")


class LoopbackServer:
    name = "loopback-double"

    def __init__(self, start_timeout: float = 10.0) -> None:
        self.start_timeout = start_timeout
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def _make_app(self) -> web.Application:
        raise NotImplementedError

    async def _before_stop(self) -> None:
        """Close long-lived connections (websockets) before the loop stops."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not running")
        return self._port

    def start(self) -> Self:
        """Start serving in a background thread; returns once the port is bound."""
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(self._make_app(), access_log=None, shutdown_timeout=1.0)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, "127.0.0.1", 0)
                loop.run_until_complete(site.start())
                self._port = int(runner.addresses[0][1])
                self._runner = runner
                self._loop = loop
            except BaseException as exc:
                failure.append(exc)
                loop.run_until_complete(runner.cleanup())
                loop.close()
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(runner.cleanup())
                loop.close()

        thread = threading.Thread(target=serve, name=self.name, daemon=True)
        thread.start()
        if not ready.wait(self.start_timeout):
            raise RuntimeError(f"{type(self).__name__} did not start in time")
        if failure:
            thread.join(self.start_timeout)
            raise RuntimeError(f"{type(self).__name__} failed to start") from failure[0]
        self._thread = thread
        return self

    def stop(self) -> None:
        """Stop serving and wait (bounded) for the thread to finish. Safe to call twice."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if not loop.is_closed():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._before_stop(), loop).result(
                    self.start_timeout
                )
            loop.call_soon_threadsafe(loop.stop)
        thread.join(self.start_timeout)
        self._thread = None
        self._loop = None
        self._runner = None
        self._port = None

    # --- waiting for what the double records -------------------------------------------------

    def _timeout_message(self, timeout: float) -> str:
        return f"condition not met within {timeout}s"

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02
    ) -> T:
        """Poll `predicate()` until it returns something truthy, and return that.

        Blocks the calling thread: from a coroutine on the loop that talks to the double, use
        `wait_for_async` instead. Raises AssertionError after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_message(timeout))
            time.sleep(interval)

    async def wait_for_async(
        self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02
    ) -> T:
        """Like `wait_for`, but sleeps with asyncio so the caller's event loop keeps running."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(self._timeout_message(timeout))
            await asyncio.sleep(interval)
