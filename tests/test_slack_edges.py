"""The Slack app's edges, over signed HTTP to the running app: a timestamp that is no number, a
form opened while Slack's Web API is slow or rate limited, a response URL that fails, and the
per-request access log."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path

import pytest

from adapters.slack.app import SORRY
from tests.slack_harness import SECRET, TEAM, SlackWorld, slack_world
from tests.slack_signing import block_actions_body, post, signed_headers, slash_command_body

GENERAL = "CGENERAL"
APP_LOGGER = "adapters.slack.app"


def _status(world: SlackWorld, response_url: str | None = None) -> str:
    """`/peer status`: acked at once and answered at the response URL (it needs the database)."""
    return slash_command_body(
        text="status",
        user_id="U1",
        channel_id=GENERAL,
        team_id=TEAM,
        response_url=response_url or f"{world.api.response_url_base}commands/status",
    )


# --- a timestamp that is no number -----------------------------------------------------------


@pytest.mark.parametrize("stamp", ["abc", "\uff11\uff12\uff13", "\u00b2", "", "-1", "1.5"])
def test_a_timestamp_that_is_not_ascii_digits_is_refused_like_a_bad_signature(
    tmp_path: Path, stamp: str
) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path) as world:
            body = _status(world)
            # Signed with that very timestamp: only the timestamp is wrong.
            headers = signed_headers(SECRET, body, timestamp=stamp)
            status, _ = await post(world.http, world.url, body, SECRET, extra_headers=headers)
            assert status == 401
            await world.settle()
            assert world.api.calls_to("response_url") == []
            # A real timestamp still passes.
            headers = signed_headers(SECRET, body, timestamp=int(time.time()))
            status, _ = await post(world.http, world.url, body, SECRET, extra_headers=headers)
            assert status == 200
            await world.settle()
            assert len(world.api.calls_to("response_url")) == 1

    asyncio.run(scenario())


# --- the action form, opened after the answer to the press ---------------------------------


async def _press_action(world: SlackWorld) -> tuple[int, float]:
    """U1 presses Record action on session 7's post; the HTTP status and how long it took."""
    body = block_actions_body(
        user_id="U1",
        team_id=TEAM,
        channel_id="CSET",
        message_ts="1800000000.000001",
        thread_ts="1800000000.000001",
        action_id="peerset_action",
        value="7",
        response_url=f"{world.api.response_url_base}actions/7",
    )
    began = time.monotonic()
    status, _ = await post(world.http, world.url, body, SECRET)
    return status, time.monotonic() - began


def test_a_slow_views_open_does_not_hold_the_answer_to_the_press(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path) as world:
            world.api.delay_next("views.open", 2.0)
            status, took = await _press_action(world)
            assert status == 200
            assert took < 1.0
            await world.settle()
            [opened] = world.api.calls_to("views.open")
            assert opened.args["view"]["callback_id"] == "peerset_record_action"
            assert opened.args["view"]["private_metadata"] == "7"
            assert world.api.calls_to("response_url") == []

    asyncio.run(scenario())


def test_a_rate_limited_views_open_is_told_to_the_member_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path) as world:
            world.api.fail_next("views.open", status=429, retry_after=30)
            status, took = await _press_action(world)
            assert status == 200
            assert took < 1.0
            await world.settle()
            assert len(world.api.calls_to("views.open")) == 1
            [told] = world.api.calls_to("response_url")
            assert told.args["path"] == "/response/actions/7"
            assert told.args["response_type"] == "ephemeral"
            assert told.args["replace_original"] is False
            assert told.args["text"] == SORRY

    with caplog.at_level(logging.WARNING):
        asyncio.run(scenario())
    [record] = [r for r in caplog.records if r.name == APP_LOGGER]
    assert record.getMessage().startswith("could not open the action form: ")
    assert "ratelimited" in record.getMessage()
    assert record.exc_info is None


# --- a response URL that fails ---------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("failure", ["500", "unreachable"])
def test_a_failed_answer_to_a_response_url_is_one_line_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path) as world:
            if failure == "500":
                world.api.add_response("response_url", {"error": "oops"}, status=500)
                url = None
            else:
                url = f"http://127.0.0.1:{_closed_port()}/response/commands/status"
            status, _ = await post(world.http, world.url, _status(world, url), SECRET)
            assert status == 200
            await world.settle()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    told = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(told) == 1, [r.getMessage() for r in told]
    [record] = told
    assert record.name == APP_LOGGER
    assert record.getMessage().startswith("could not answer /peer status: ")
    assert record.exc_info is None
    if failure == "500":
        assert "500" in record.getMessage()


# --- the access log --------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "lines"), [("INFO", 0), ("DEBUG", 1)])
def test_the_access_log_is_written_only_when_debugging(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, level: str, lines: int
) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path, log_level=level) as world:
            status, _ = await post(world.http, world.url, _status(world), SECRET)
            assert status == 200
            await world.settle()

    with caplog.at_level(logging.DEBUG, logger="aiohttp.access"):
        asyncio.run(scenario())
    logged = [r for r in caplog.records if r.name == "aiohttp.access"]
    assert len(logged) == lines
    assert all("POST /slack/events" in r.getMessage() for r in logged)
