"""Peerset's real Slack app (Bolt's AsyncApp on aiohttp, HTTP mode on loopback) talking to the
Slack Web API double. Only base URLs point elsewhere; the client and handlers are the real ones."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from adapters.slack.run import Running, start_http
from bot.app import Peerset, load_settings
from bot.clock import Clock
from bot.engine.effects import CHOICE_LABELS, Choice
from bot.settings import SlackSettings
from tests.slack_double import SlackApiDouble
from tests.slack_signing import (
    block_actions_body,
    event_body,
    message_event,
    post,
    slash_command_body,
    view_submission_body,
)

SECRET = "test-signing-secret"
TEAM = "T0001"
_ts = itertools.count(1)


@dataclass
class SlackWorld:
    api: SlackApiDouble
    running: Running
    http: aiohttp.ClientSession
    root: Peerset

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.running.port}/slack/events"

    async def settle(self, seconds: float = 10.0) -> None:
        """Let the work after each ack finish, and the app's own pump empty the outbox."""
        runtime = self.running.runtime
        await runtime.settle()
        runtime.wake()
        deadline = asyncio.get_running_loop().time() + seconds
        while await asyncio.to_thread(runtime.dispatcher.pending):
            if asyncio.get_running_loop().time() > deadline:
                return  # something waits for a retry; the test says what it expected
            await asyncio.sleep(0.02)

    async def command(self, user: str, text: str, channel: str) -> tuple[int, str]:
        n = next(_ts)
        body = slash_command_body(
            text=text,
            user_id=user,
            channel_id=channel,
            team_id=TEAM,
            response_url=f"{self.api.response_url_base}commands/{n}",
        )
        answer = await post(self.http, self.url, body, SECRET)
        await self.settle()
        return answer

    def replies_to(self, user: str) -> list[str]:
        """What the response_url carried back for slash commands (ephemeral answers)."""
        return [str(c.args.get("text")) for c in self.api.calls_to("response_url")]

    async def say(self, user: str, text: str, channel: str, thread_ts: str) -> tuple[int, str]:
        ts = f"1800000000.{next(_ts):06d}"
        event = message_event(channel, user, text, ts, thread_ts=thread_ts, team_id=TEAM)
        answer = await post(self.http, self.url, event_body(event, team_id=TEAM), SECRET)
        await self.settle()
        return answer

    async def press(
        self, user: str, action: str, session_id: int, channel: str, thread_ts: str
    ) -> tuple[int, str]:
        body = block_actions_body(
            user_id=user,
            team_id=TEAM,
            channel_id=channel,
            message_ts=thread_ts,
            thread_ts=thread_ts,
            action_id=f"peerset_{action}",
            value=str(session_id),
        )
        answer = await post(self.http, self.url, body, SECRET)
        await self.settle()
        return answer

    async def choose(
        self, user: str, choice: Choice, subject: int, channel: str, message_ts: str
    ) -> tuple[int, str]:
        """Press the button for `choice` on a notice (posted at `message_ts` in `channel`, the
        set's channel or a direct message); its answer goes to a response_url on the double."""
        body = block_actions_body(
            user_id=user,
            team_id=TEAM,
            channel_id=channel,
            message_ts=message_ts,
            action_id=f"peerset_choice_{choice.value}",
            value=str(subject),
            button_text=CHOICE_LABELS[choice],
            response_url=f"{self.api.response_url_base}actions/{next(_ts)}",
        )
        answer = await post(self.http, self.url, body, SECRET)
        await self.settle()
        return answer

    async def submit_action(self, user: str, session_id: int, text: str) -> tuple[int, str]:
        state = {"action": {"text": {"type": "plain_text_input", "value": text}}}
        return await self.submit(user, "peerset_record_action", str(session_id), state)

    async def submit(
        self, user: str, callback_id: str, private_metadata: str, state_values: dict[str, Any]
    ) -> tuple[int, str]:
        """Submit a modal with these `view.state.values`."""
        body = view_submission_body(
            user_id=user,
            team_id=TEAM,
            callback_id=callback_id,
            private_metadata=private_metadata,
            state_values=state_values,
        )
        answer = await post(self.http, self.url, body, SECRET)
        await self.settle()
        return answer

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        return self.api.messages(channel, thread_ts=thread_ts)

    def ephemerals(self, user: str) -> list[str]:
        return [
            str(c.args.get("text"))
            for c in self.api.calls_to("chat.postEphemeral")
            if c.args.get("user") == user
        ]


@asynccontextmanager
async def slack_world(
    tmp_path: Path,
    database_url: str | None = None,
    clock: Clock | None = None,
    **settings_overrides: Any,
) -> AsyncIterator[SlackWorld]:
    """The app and the double, on the system clock unless given another; `settings_overrides`
    go to `load_settings` (e.g. `delivery_backoff_seconds=0.05`)."""
    with SlackApiDouble(team_id=TEAM) as api:
        for user in ("U1", "U2", "U3", "U4"):
            api.add_user(user, real_name=f"Member {user}")
        settings = load_settings(
            data_dir=tmp_path / "data", database_url=database_url, **settings_overrides
        )
        slack = SlackSettings.model_validate(
            {
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": SECRET,
                "PEERSET_SLACK_API_URL": api.base_url,
            }
        )
        with Peerset.build(settings, clock=clock) as root:
            running = await start_http(root, slack, host="127.0.0.1", port=0)
            try:
                async with aiohttp.ClientSession() as http:
                    yield SlackWorld(api, running, http, root)
            finally:
                await running.close()


def metadata_ids(messages: list[dict[str, Any]]) -> list[str]:
    return [
        str(((m.get("metadata") or {}).get("event_payload") or {}).get("effect_id"))
        for m in messages
        if m.get("metadata")
    ]


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
