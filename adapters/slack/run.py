"""`peerset run slack`: Socket Mode, or HTTP mode on aiohttp (Bolt's AsyncApp server)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

from aiohttp import web
from aiohttp.log import access_logger
from aiohttp.typedefs import Handler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from adapters.slack.app import SlackRuntime, build_app
from adapters.slack.clients import ClientBook
from adapters.slack.oauth import installation_stores
from bot.app import Peerset
from bot.settings import SlackSettings

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
TIMESTAMP = "X-Slack-Request-Timestamp"


@dataclass
class Running:
    """A Slack bot serving HTTP: what a caller (or a test) needs to talk to it and stop it."""

    runtime: SlackRuntime
    app: AsyncApp
    port: int
    stop: asyncio.Event
    _runner: web.AppRunner
    _pump: asyncio.Task[None]

    async def close(self) -> None:
        self.stop.set()
        await self._pump
        await self.runtime.settle()
        await self._runner.cleanup()


@dataclass
class Connected:
    """A Slack bot connected in Socket Mode: what a caller (or a test) needs to stop it."""

    runtime: SlackRuntime
    app: AsyncApp
    handler: AsyncSocketModeHandler
    stop: asyncio.Event
    _pump: asyncio.Task[None]

    async def close(self) -> None:
        # Disconnect first, so no envelope is acknowledged after the work has been settled.
        await self.handler.close_async()  # type: ignore[no-untyped-call]
        await self.runtime.settle()
        self.stop.set()
        self.runtime.wake()
        await self._pump


def prepare(root: Peerset, slack: SlackSettings, *, http: bool) -> tuple[SlackRuntime, AsyncApp]:
    """The runtime and the Bolt app, on Peerset's database and clock."""
    slack.check(http=http)
    engine = root.engine
    sync_store, oauth_settings = installation_stores(slack, engine) if slack.oauth else (None, None)
    runtime = SlackRuntime(root, slack, ClientBook(engine, slack, sync_store))
    return runtime, build_app(runtime, oauth_settings)


async def start_http(
    root: Peerset, slack: SlackSettings, host: str = "127.0.0.1", port: int = 3000
) -> Running:
    runtime, app = prepare(root, slack, http=True)
    web_app = app.web_app(path=EVENTS_PATH, port=port)
    web_app.middlewares.append(_refuse_malformed_timestamp)
    # A line for every request only when debugging: Slack sends many, and they say little.
    debugging = root.settings.log_level == "DEBUG"
    runner = web.AppRunner(web_app, access_log=access_logger if debugging else None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    stop = asyncio.Event()
    pump = asyncio.get_running_loop().create_task(runtime.pump(stop))
    log.info("Peerset listens for Slack on http://%s:%s%s", host, bound, EVENTS_PATH)
    return Running(runtime, app, bound, stop, runner, pump)


@web.middleware
async def _refuse_malformed_timestamp(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request whose timestamp is not a number was not signed by Slack: 401, as Bolt answers a
    bad signature (Bolt itself would fail with a 500 on `int()` of it)."""
    stamp = request.headers.get(TIMESTAMP)
    if stamp is not None and not (stamp.isascii() and stamp.isdigit()):
        return web.json_response({"error": "invalid request"}, status=401)
    return await handler(request)


async def _serve_http(root: Peerset, slack: SlackSettings, host: str, port: int) -> None:
    running = await start_http(root, slack, host, port)
    print(f"Peerset is listening for Slack on http://{host}:{running.port}{EVENTS_PATH}")
    await _until_signalled(running.stop)
    await running.close()


async def start_socket(root: Peerset, slack: SlackSettings) -> Connected:
    runtime, app = prepare(root, slack, http=False)
    handler = AsyncSocketModeHandler(app, slack.app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    stop = asyncio.Event()
    pump = asyncio.get_running_loop().create_task(runtime.pump(stop))
    log.info("Peerset is connected to Slack in Socket Mode")
    return Connected(runtime, app, handler, stop, pump)


async def _serve_socket(root: Peerset, slack: SlackSettings) -> None:
    connected = await start_socket(root, slack)
    print("Peerset is connected to Slack in Socket Mode.")
    await _until_signalled(connected.stop)
    await connected.close()


async def _until_signalled(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def run(root: Peerset, slack: SlackSettings, *, http: bool, host: str, port: int) -> None:
    if http:
        asyncio.run(_serve_http(root, slack, host, port))
    else:
        asyncio.run(_serve_socket(root, slack))
