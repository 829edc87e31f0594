"""`peerset run slack` in Socket Mode: the real Bolt AsyncApp behind slack_sdk's aiohttp Socket
Mode client, connected over loopback to the Slack double, which hands out the websocket URL
(`apps.connections.open`), pushes envelopes and records the acknowledgements.

Socket Mode has no HTTP retry headers: Slack redelivers an event in a new envelope, with the same
`event_id`. Peerset takes it once because it keys every event on that id.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from adapters.slack.run import Connected, start_socket
from bot.app import Peerset, load_settings
from bot.commands import USAGE
from bot.settings import SlackSettings
from bot.store import ProcessedEvent, SessionRecord
from tests.slack_double import SlackApiDouble
from tests.slack_harness import metadata_ids
from tests.slack_signing import block_actions_body, event_body, message_event, slash_command_body

TEAM = "T0001"
GENERAL = "CGENERAL"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A0001-1-test"
OUT_OF_TURN = "Right now it is <@U1>'s time to speak uninterrupted."
WAIT = 10.0
_n = itertools.count(1)

JsonDict = dict[str, Any]


@dataclass
class SocketWorld:
    api: SlackApiDouble
    connected: Connected

    async def settle(self, seconds: float = WAIT) -> None:
        """Let the work after each ack finish, and the app's own pump empty the outbox."""
        runtime = self.connected.runtime
        await asyncio.wait_for(runtime.settle(), seconds)
        runtime.wake()
        deadline = asyncio.get_running_loop().time() + seconds
        while await asyncio.to_thread(runtime.dispatcher.pending):
            if asyncio.get_running_loop().time() > deadline:
                return  # something waits for a retry; the test says what it expected
            await asyncio.sleep(0.02)

    async def envelope(self, kind: str, payload: str | JsonDict, **options: Any) -> JsonDict:
        """Send an envelope, wait for the app's ack and the work after it; returns the ack."""
        envelope_id = await asyncio.to_thread(self.api.send_envelope, kind, payload, **options)
        ack = await self.api.wait_for_ack_async(envelope_id, WAIT)
        await self.settle()
        return ack

    async def command(self, user: str, text: str, channel: str) -> tuple[JsonDict, str]:
        """A slash command; returns the ack and the response_url's path it was given."""
        path = f"commands/{next(_n)}"
        body = slash_command_body(
            text=text,
            user_id=user,
            channel_id=channel,
            team_id=TEAM,
            response_url=f"{self.api.response_url_base}{path}",
        )
        return await self.envelope("slash_commands", body), f"/response/{path}"

    def responses(self, path: str) -> list[JsonDict]:
        """What the app sent to one response_url."""
        return [c.args for c in self.api.calls_to("response_url") if c.args["path"] == path]

    def ephemerals(self, user: str) -> list[str]:
        return [
            str(c.args.get("text"))
            for c in self.api.calls_to("chat.postEphemeral")
            if c.args.get("user") == user
        ]

    def texts(self, channel: str, thread: str) -> str:
        return "\n".join(str(m.get("text")) for m in self.api.messages(channel, thread_ts=thread))

    def version(self, session_id: int) -> int:
        with self.connected.runtime.service._sessions() as db:
            query = select(SessionRecord.version).where(SessionRecord.id == session_id)
            return db.scalars(query).one()

    def processed(self) -> int:
        with self.connected.runtime.service._sessions() as db:
            return db.scalar(select(func.count()).select_from(ProcessedEvent)) or 0


@asynccontextmanager
async def socket_world(tmp_path: Path) -> AsyncIterator[SocketWorld]:
    with SlackApiDouble(team_id=TEAM) as api:
        for user in ("U1", "U2", "U3"):
            api.add_user(user, real_name=f"Member {user}")
        root = Peerset.build(load_settings(data_dir=tmp_path / "data"))
        slack = SlackSettings.model_validate(
            {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_APP_TOKEN": APP_TOKEN,
                "PEERSET_SLACK_API_URL": api.base_url,
            }
        )
        with root:
            connected = await asyncio.wait_for(start_socket(root, slack), WAIT)
            try:
                yield SocketWorld(api, connected)
            finally:
                await asyncio.wait_for(connected.close(), WAIT)
                assert api.open_sockets == 0


async def _started(world: SocketWorld) -> tuple[str, str, int]:
    """A set of U1, U2 and U3 and a session started in its channel: the channel, the session's
    thread and the session's id."""
    ack, path = await world.command("U1", "set create circle <@U2> <@U3>", GENERAL)
    assert "payload" not in ack
    assert "Set 'circle' is ready" in world.responses(path)[-1]["text"]
    channel = world.api.channel_id("peer-circle")
    assert channel is not None
    await world.command("U1", "start", channel)
    roots = [m for m in world.api.messages(channel) if m.get("thread_ts") in (None, m["ts"])]
    assert len(roots) == 1 and "Peer mentoring round" in roots[0]["text"]
    thread = str(roots[0]["ts"])
    session_id = int(metadata_ids(roots)[0].split(".")[0])
    return channel, thread, session_id


# --- (a) slash commands over the socket -----------------------------------------------------


def test_a_slash_command_is_acked_over_the_socket_and_answered_at_its_response_url(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with socket_world(tmp_path) as world:
            api = world.api
            opened = api.calls_to("apps.connections.open")
            assert [c.token for c in opened] == [APP_TOKEN]
            # The client may be connected a moment before the server side has counted it.
            await api.wait_for_async(lambda: api.socket_connections == 1, WAIT)
            assert api.socket_connections == 1 and api.open_sockets == 1
            # The client's first ping came back as a pong it recognised.
            client = world.connected.handler.client
            await api.wait_for_async(lambda: client.last_ping_pong_time is not None, WAIT)
            assert api.socket_pings >= 1

            ack, path = await world.command("U1", "status", GENERAL)
            envelope = api.socket_envelopes[-1]
            assert envelope["type"] == "slash_commands"
            assert envelope["accepts_response_payload"] is True
            assert "retry_attempt" not in envelope
            assert ack == {"envelope_id": envelope["envelope_id"]}
            assert api.acks_for(envelope["envelope_id"]) == [ack]
            [answer] = world.responses(path)
            assert answer["text"].startswith("This channel has no set.")
            assert answer["response_type"] == "ephemeral"

            # Help needs no database: it is the ack's own payload.
            ack, path = await world.command("U1", "help", GENERAL)
            assert ack["payload"] == {"response_type": "ephemeral", "text": USAGE}
            assert world.responses(path) == []

            # A word Peerset does not know is answered in the ack itself, nowhere else.
            ack, path = await world.command("U1", "dance", GENERAL)
            assert ack["envelope_id"] == api.socket_envelopes[-1]["envelope_id"]
            assert ack["payload"]["response_type"] == "ephemeral"
            assert ack["payload"]["text"].startswith("I don't know `dance`; /peer help lists")
            assert world.responses(path) == []

            # The app token opened the socket; the bot token made every Web API call.
            assert {c.token for c in api.calls if c.method != "response_url"} <= {
                BOT_TOKEN,
                APP_TOKEN,
            }
            assert all(c.token == BOT_TOKEN for c in api.calls if c.method == "auth.test")

    asyncio.run(scenario())


# --- (b) Slack redelivering an event: same event_id, no retry headers -----------------------


def test_an_event_delivered_twice_over_the_socket_is_taken_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with socket_world(tmp_path) as world:
            channel, thread, session_id = await _started(world)
            await world.command("U1", "next", channel)
            assert world.connected.runtime.service.state(session_id).phase.id == "presentation"

            said = message_event(
                channel,
                "U2",
                "Can I ask already?",
                f"1800000000.{next(_n):06d}",
                thread_ts=thread,
                team_id=TEAM,
            )
            body = event_body(said, team_id=TEAM, event_id="Ev0SOCKET001")
            version, processed = world.version(session_id), world.processed()

            first = await world.envelope("events_api", body)
            assert "payload" not in first
            nudges = [t for t in world.ephemerals("U2") if OUT_OF_TURN in t]
            assert len(nudges) == 1
            moved = world.version(session_id)
            assert moved == version + 1
            assert world.processed() == processed + 1
            calls = len(world.api.calls)

            # Slack's redelivery: a new envelope, the same event_id, no retry headers.
            again = await world.envelope("events_api", body)
            assert again["envelope_id"] != first["envelope_id"]
            sent = world.api.socket_envelopes[-2:]
            assert [e["payload"]["event_id"] for e in sent] == ["Ev0SOCKET001"] * 2
            assert all("retry_attempt" not in e and "retry_reason" not in e for e in sent)
            # Nor does a redelivery that says it is one change anything.
            await world.envelope("events_api", body, retry_attempt=1, retry_reason="timeout")

            assert [t for t in world.ephemerals("U2") if OUT_OF_TURN in t] == nudges
            assert world.version(session_id) == moved
            assert world.processed() == processed + 1
            assert len(world.api.calls) == calls

    asyncio.run(scenario())


# --- (c) a button over the socket -----------------------------------------------------------


def test_a_button_press_over_the_socket_is_acked_and_recorded_in_the_thread(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with socket_world(tmp_path) as world:
            channel, thread, session_id = await _started(world)
            assert "Ground rules" in world.texts(channel, thread)

            body = block_actions_body(
                user_id="U1",
                team_id=TEAM,
                channel_id=channel,
                message_ts=thread,
                thread_ts=thread,
                action_id="peerset_agree",
                value=str(session_id),
            )
            ack = await world.envelope("interactive", body)
            envelope = world.api.socket_envelopes[-1]
            assert envelope["payload"]["type"] == "block_actions"
            assert envelope["accepts_response_payload"] is False
            assert ack == {"envelope_id": envelope["envelope_id"]}
            assert "<@U1> agrees to the ground rules (1 of 3)." in world.texts(channel, thread)

    asyncio.run(scenario())
