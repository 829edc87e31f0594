"""The one door, tried from outside as Slack and Discord drive it: every command of the table that
is not for anyone is refused to someone outside the set, with nothing changed; no text or button
value gets a server error or the internal-error reply; and a real bug still does, loudly.

The commands come from the table, so a new entry is covered here without editing this file."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from adapters.slack.app import SORRY
from bot.clock import VirtualClock
from bot.commands import TABLE, Kind, Spec, Who
from bot.service.desk import Desk
from bot.service.directory import member_ids
from bot.store import ActionItem, Base, Member, PeerSet, session_factory
from tests.discord_harness import DiscordWorld, discord_world, option, user
from tests.slack_harness import SlackWorld, slack_world
from tests.slack_signing import block_actions_body, post

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
GENERAL = "CGENERAL"
OUTSIDER = "U4"
GUARDED = [spec for spec in TABLE if spec.who is not Who.ANYONE]


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table Peerset keeps."""
    with engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def _engine_of(world: SlackWorld | DiscordWorld) -> Engine:
    runtime = world.running.runtime if isinstance(world, SlackWorld) else world.client.runtime
    return runtime.service.engine


def _action_item(engine: Engine, owner: str) -> int:
    """An action item of `owner`'s in the one set there is."""
    with session_factory(engine).begin() as db:
        tenant_id = db.scalars(select(Member.tenant_id).where(Member.external_id == owner)).one()
        set_id = db.scalars(select(PeerSet.id)).one()
        item = ActionItem(set_id=set_id, member_id=member_ids(db, tenant_id)[owner], text="Call Jo")
        db.add(item)
        db.flush()
        return item.id


def _refusal(spec: Spec, set_name: str, item: int) -> str:
    if spec.who is Who.OWNER:
        return f"You have no action item #{item}; `/peer actions` lists yours."
    return f"Only members of {set_name!r} can use /peer {spec.name} here."


# --- Slack -------------------------------------------------------------------------------------


async def _slack_answer(world: SlackWorld, member: str, text: str, channel: str) -> str:
    """The one answer to `/peer text`: in the ack, or at the response URL."""
    before = len(world.api.calls_to("response_url"))
    status, body = await world.command(member, text, channel)
    assert status == 200, (status, body)
    if body:
        return str(json.loads(body)["text"])
    [reply] = world.api.calls_to("response_url")[before:]
    return str(reply.args["text"])


def test_on_slack_an_outsider_is_refused_every_guarded_command(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path, clock=VirtualClock(NOW)) as world:
            made = await _slack_answer(world, "U1", "set create circle <@U2> <@U3>", GENERAL)
            channel = made.split("<#")[1].split(">")[0]
            await _slack_answer(world, "U1", "schedule add weekly tue 18:30 UTC 60", channel)
            await _slack_answer(world, "U1", "start", channel)
            item = _action_item(_engine_of(world), "U2")
            engine = _engine_of(world)
            before = _snapshot(engine)
            posts = len(world.api.calls_to("chat.postMessage"))
            for spec in GUARDED:
                example = spec.example.replace("checkin 1", f"checkin {item}").replace(
                    "edit 1", f"edit {item}"
                )
                answer = await _slack_answer(world, OUTSIDER, example, channel)
                assert answer == _refusal(spec, "circle", item), spec.name
            # Adding oneself is the same as adding anyone.
            assert await _slack_answer(world, OUTSIDER, f"set add <@{OUTSIDER}>", channel) == (
                "Only members of 'circle' can use /peer set add here."
            )
            assert _snapshot(engine) == before
            assert len(world.api.calls_to("chat.postMessage")) == posts
            assert world.api.calls_to("conversations.kick") == []
            invited = [c.args["users"] for c in world.api.calls_to("conversations.invite")]
            assert all(OUTSIDER not in users for users in invited)

    asyncio.run(asyncio.wait_for(scenario(), 120))


# --- Discord -----------------------------------------------------------------------------------

ANA, BEN, CLEO, DEV = "1001", "1002", "1003", "1004"
CHANNEL = "3000"


def _options(spec: Spec, item: int) -> list[dict[str, Any]]:
    """Typed options for a command's required arguments, as a Discord client sends them."""
    sample = {
        Kind.NUMBER: lambda arg: option(arg.name, item if arg.name == "item" else arg.lo, 4),
        Kind.CHOICE: lambda arg: option(arg.name, arg.choices[0][1]),
        Kind.WORD: lambda arg: option(arg.name, "Europe/London"),
        Kind.DAY: lambda arg: option(arg.name, (NOW.date() + timedelta(days=7)).isoformat()),
        Kind.CLOCK: lambda arg: option(arg.name, "19:00"),
        Kind.MEMBER: lambda arg: user(arg.name, DEV),
        Kind.MEMBERS: lambda arg: user("member1", DEV),
    }
    return [
        sample.get(arg.kind, lambda arg: option(arg.name, "new words"))(arg)
        for arg in spec.args
        if arg.required
    ]


async def _discord_answer(
    world: DiscordWorld, member: str, spec_path: tuple[str, ...], options: list[dict[str, Any]]
) -> str:
    record = await world.command(member, *spec_path, options=options)
    [followup] = record["followups"]
    return str(followup["content"])


def test_on_discord_an_outsider_is_refused_every_guarded_command(tmp_path: Path) -> None:
    async def scenario() -> None:
        channels = ((CHANNEL, "peer-circle"), ("3001", "general"))
        async with discord_world(
            tmp_path, settings={"scheduler": False}, clock=VirtualClock(NOW), channels=channels
        ) as world:
            made = await _discord_answer(
                world,
                ANA,
                ("set", "create"),
                [option("name", "circle"), user("member1", BEN), user("member2", CLEO)],
            )
            assert made.startswith("Set 'circle' is ready")
            await _discord_answer(world, ANA, ("start",), [])
            item = _action_item(_engine_of(world), BEN)
            engine = _engine_of(world)
            before = _snapshot(engine)
            threads = world.api.threads()
            for spec in GUARDED:
                answer = await _discord_answer(world, DEV, spec.path, _options(spec, item))
                assert answer == _refusal(spec, "circle", item), spec.name
            assert _snapshot(engine) == before
            assert world.api.threads() == threads
            assert all(DEV not in world.api.thread_members(t["id"]) for t in threads)

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_a_typed_option_with_the_grammars_words_reaches_the_desk_as_typed(
    tmp_path: Path,
) -> None:
    name = "team <@7> crew checkin 3 done"
    words = "schedule add weekly; set remove <@1002>"

    async def scenario() -> None:
        async with discord_world(
            tmp_path, settings={"scheduler": False}, clock=VirtualClock(NOW)
        ) as world:
            made = await _discord_answer(
                world, ANA, ("set", "create"), [option("name", name), user("member1", BEN)]
            )
            assert made.startswith(f"Set {name!r} is ready with <@{ANA}> and <@{BEN}>")
            item = _action_item(_engine_of(world), ANA)
            edited = await _discord_answer(
                world, ANA, ("action", "edit"), [option("item", item, 4), option("text", words)]
            )
            assert words in edited
            with session_factory(_engine_of(world))() as db:
                assert db.scalars(select(PeerSet.name)).one() == name
                assert db.scalars(select(ActionItem.text)).one() == words

    asyncio.run(asyncio.wait_for(scenario(), 120))


# --- no input makes a server error -------------------------------------------------------------


class _Loop:
    """A Slack world kept running in a thread of its own, so that each example of a property
    test can send it a request."""

    def __init__(self, tmp_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.world: SlackWorld | None = None
        self.tmp_path = tmp_path
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(),))

    async def _run(self) -> None:
        self.stop = asyncio.Event()
        async with slack_world(self.tmp_path, clock=VirtualClock(NOW)) as world:
            self.world = world
            self.ready.set()
            await self.stop.wait()

    def call(self, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=60)

    def __enter__(self) -> _Loop:
        self.thread.start()
        assert self.ready.wait(60), "the Slack app did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(60)
        self.loop.close()


@pytest.fixture(scope="module")
def running_slack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Loop]:
    with _Loop(tmp_path_factory.mktemp("slack")) as running:
        assert running.world is not None
        running.call(running.world.command("U1", "set create circle <@U2> <@U3>", GENERAL))
        yield running


def _channel(world: SlackWorld) -> str:
    """The private channel of the one set made."""
    return str(world.api.calls_to("conversations.invite")[0].args["channel"])


def _sorry_said(world: SlackWorld) -> int:
    return sum(SORRY in str(c.args.get("text")) for c in world.api.calls_to("response_url"))


grammar = st.sampled_from(
    sorted({w for spec in TABLE for w in spec.path} | {"<@U2>", "#1", "2026-12-08", "19:00"})
)
anything = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=24)


@settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.one_of(grammar, anything), max_size=6), st.booleans())
def test_no_peer_text_gets_a_server_error_or_the_internal_error_reply(
    running_slack: _Loop, words: list[str], in_the_sets_channel: bool
) -> None:
    world = running_slack.world
    assert world is not None
    channel = _channel(world) if in_the_sets_channel else GENERAL
    sorry = _sorry_said(world)
    status, body = running_slack.call(world.command("U1", " ".join(words), channel))
    assert status == 200, (status, body)
    assert SORRY not in body
    assert _sorry_said(world) == sorry


@settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.one_of(
        st.sampled_from(["peerset_done", "peerset_pass", "peerset_action", "peerset_control_next"]),
        st.sampled_from(["peerset_choice_going", "peerset_choice_done", "peerset_choice_x"]),
        st.text(max_size=20).map(lambda t: "peerset_" + t),
    ),
    st.one_of(st.integers(-5, 2**40).map(str), anything),
)
def test_no_button_value_gets_a_server_error_or_the_internal_error_reply(
    running_slack: _Loop, caplog: pytest.LogCaptureFixture, action_id: str, value: str
) -> None:
    world = running_slack.world
    assert world is not None
    body = block_actions_body(
        user_id="U1",
        team_id="T0001",
        channel_id=_channel(world),
        action_id=action_id,
        value=value,
        response_url=f"{world.api.response_url_base}actions/hypothesis",
    )
    sorry = _sorry_said(world)
    status, answer = running_slack.call(post(world.http, world.url, body, "test-signing-secret"))
    running_slack.call(world.settle())
    assert status == 200, (status, answer)
    assert _sorry_said(world) == sorry
    # Work handed on after the ack fails only into the log: none may have.
    failures = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert failures == [], [r.getMessage() for r in failures]


def test_a_real_bug_still_gets_the_internal_error_reply_and_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """So a catch-all that hid every failure could not pass the tests above."""

    def broken(self: Desk, *args: object) -> object:
        raise RuntimeError("a planted bug")

    monkeypatch.setattr(Desk, "_run", broken)

    async def scenario() -> None:
        async with slack_world(tmp_path, clock=VirtualClock(NOW)) as world:
            answer = await _slack_answer(world, "U1", "status", GENERAL)
            assert answer == SORRY

    with caplog.at_level(logging.ERROR):
        asyncio.run(asyncio.wait_for(scenario(), 60))
    [failure] = [r for r in caplog.records if r.exc_info]
    assert "a planted bug" in str(failure.exc_info[1] if failure.exc_info else "")


def test_the_today_the_tests_use_is_a_day_the_examples_fit() -> None:
    # The table's examples name days; they must stay within a year of the tests' today.
    for spec in TABLE:
        for word in spec.example.split():
            if len(word) == 10 and word[4] == "-":
                assert NOW.date() <= date.fromisoformat(word) <= NOW.date() + timedelta(days=365)
