"""How fast Peerset's Slack app answers `/peer`, as a share of a bare Bolt app in the same run.

    python benchmarks/slack.py

Both apps are Bolt's AsyncApp on aiohttp with `process_before_response=True`, on loopback, sent
the same signed slash commands by the same concurrent clients. The bare app (the anchor) acks
each command inline with a fixed text. Peerset answers:

- `help`: in the ack itself (no database);
- `frobnicate`: a wrong word, also in the ack;
- `status`: in a channel with no set; acked at once, then answered at the response URL after a
  database look-up.

A small local stand-in for Slack's Web API answers `auth.test` and the response URLs. Prints one
JSON line per measurement, with the anchor, the ratio and the median time to the HTTP answer.
Bounded in count and time: the whole run takes well under a minute.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.run import EVENTS_PATH, start_http
from bot.app import Peerset, load_settings
from bot.settings import SlackSettings

SECRET = "benchmark-signing-secret"
TOKEN = "xoxb-benchmark"
CLIENTS = 16
MAX_REQUESTS = 1_500
MAX_SECONDS = 8.0


SORRY = "Something went wrong"
# Answers at the response URLs that were the internal-error reply: a bug, and the run fails.
internal_errors = 0


async def _slack_stand_in() -> tuple[web.AppRunner, str]:
    """Slack's `auth.test` and the response URLs, answered at once."""

    async def auth_test(request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T0001", "team": "T"}
        )

    async def response_url(request: web.Request) -> web.Response:
        global internal_errors
        if SORRY in str((await request.json()).get("text")):
            internal_errors += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/api/auth.test", auth_test)
    app.router.add_post("/respond/{n}", response_url)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


async def _bare_bolt(api_url: str) -> tuple[web.AppRunner, str]:
    """The anchor: a Bolt app whose `/peer` acks inline, its access log off like Peerset's."""
    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=TOKEN, base_url=f"{api_url}/api/"),
        process_before_response=True,
    )

    @app.command("/peer")
    async def peer(ack: Callable[..., Awaitable[None]]) -> None:
        await ack(response_type="ephemeral", text="hello")

    runner = web.AppRunner(app.web_app(path=EVENTS_PATH), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}{EVENTS_PATH}"


def _signed(text: str, n: int, api_url: str) -> tuple[str, dict[str, str]]:
    body = urlencode(
        {
            "token": "x",
            "team_id": "T0001",
            "team_domain": "bench",
            "channel_id": "CGENERAL",
            "channel_name": "general",
            "user_id": "U1",
            "user_name": "ana",
            "command": "/peer",
            "text": text,
            "api_app_id": "A0001",
            "response_url": f"{api_url}/respond/{n}",
            "trigger_id": f"trigger.{n}",
        }
    )
    stamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    return body, headers


async def _load(url: str, text: str, api_url: str) -> dict[str, Any]:
    """Send signed `/peer text` from CLIENTS clients until MAX_REQUESTS or MAX_SECONDS."""
    latencies: list[float] = []
    failures = 0
    sent = 0
    started = time.perf_counter()
    deadline = started + MAX_SECONDS

    async def client(http: aiohttp.ClientSession) -> None:
        nonlocal sent, failures
        while sent < MAX_REQUESTS and time.perf_counter() < deadline:
            sent += 1
            body, headers = _signed(text, sent, api_url)
            before = time.perf_counter()
            async with http.post(url, data=body, headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    failures += 1
            latencies.append(time.perf_counter() - before)

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(client(http) for _ in range(CLIENTS)))
    seconds = time.perf_counter() - started
    return {
        "per_second": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "count": len(latencies),
        "failures": failures,
        "seconds": seconds,
    }


async def run() -> int:
    stand_in, api_url = await _slack_stand_in()
    bare, bare_url = await _bare_bolt(api_url)
    failed = False
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(data_dir=Path(data), scheduler=False, log_level="WARNING")
        slack = SlackSettings.model_validate(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "PEERSET_SLACK_API_URL": f"{api_url}/api/",
            }
        )
        with Peerset.build(settings) as root:
            running = await start_http(root, slack, host="127.0.0.1", port=0)
            url = f"http://127.0.0.1:{running.port}{EVENTS_PATH}"
            try:
                for text in ("help", "frobnicate", "status"):
                    anchor = await _load(bare_url, "help", api_url)
                    measured = await _load(url, text, api_url)
                    await running.runtime.settle()
                    failed = failed or bool(measured["failures"] or anchor["failures"])
                    failed = failed or bool(internal_errors)
                    line = {
                        "benchmark": "slack_slash_commands_per_second",
                        "command": text,
                        "value": round(measured["per_second"], 1),
                        "anchor": round(anchor["per_second"], 1),
                        "anchor_is": "a bare Bolt app acking inline",
                        "ratio": round(measured["per_second"] / anchor["per_second"], 2),
                        "p50_ms": round(measured["p50_ms"], 2),
                        "anchor_p50_ms": round(anchor["p50_ms"], 2),
                        "count": measured["count"],
                        "failures": measured["failures"],
                        "internal_errors": internal_errors,
                    }
                    print(json.dumps(line), flush=True)
            finally:
                await running.close()
    await bare.cleanup()
    await stand_in.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(run()))
