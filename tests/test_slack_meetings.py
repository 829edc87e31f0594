"""Regular meetings on Slack, through signed HTTP requests into the real Bolt app and its own
outbox pump, asserting on what Slack's API double recorded and on the database: the notices
(top level in the set's channel, or by direct message) with their answer buttons and Slack's
date formatting, the presses on those buttons, a notice found by its metadata after a crash,
and the `/peer schedule` form."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, select

from bot.clock import VirtualClock
from bot.engine.effects import Choice
from bot.scheduler.runner import SYNC_JOB, MeetingScheduler
from bot.service import Dispatcher
from bot.service.directory import member_ids
from bot.store import (
    ActionItem,
    Attendance,
    Meeting,
    Member,
    OutboxEntry,
    Schedule,
    session_factory,
)
from tests.slack_harness import SlackWorld, metadata_ids, slack_world

GENERAL = "CGENERAL"


def _on_slack(moment: datetime, fallback: str) -> str:
    """Slack's date formatting, shown in each reader's zone; `fallback` where it cannot be."""
    return f"<!date^{int(moment.timestamp())}^{{date_long_pretty}} at {{time}}|{fallback}>"


# The first meeting of "weekly tue 18:30 Europe/London ... from 2031-01-07" (London is on UTC in
# January): a notice falls back to the set's zone, an answer to a command to UTC.
FIRST = datetime(2031, 1, 7, 18, 30, tzinfo=UTC)
FIRST_IN_NOTICES = _on_slack(FIRST, "Tue 07 Jan 2031 18:30 Europe/London")
FIRST_IN_ANSWERS = _on_slack(FIRST, "Tue 07 Jan 2031 18:30 UTC")
WEEKLY = "schedule add weekly tue 18:30 Europe/London 90 from 2031-01-07"

Scenario = Callable[[SlackWorld], Awaitable[None]]


def _run(tmp_path: Path, db_url: str, scenario: Scenario) -> None:
    # The days the tests name are within a year of the clock's today.
    clock = VirtualClock(datetime(2031, 1, 1, 12, 0, tzinfo=UTC))

    async def inside() -> None:
        async with slack_world(tmp_path, database_url=db_url, clock=clock) as world:
            await scenario(world)

    asyncio.run(inside())


# --- helpers ---------------------------------------------------------------------------------


async def _ask(world: SlackWorld, user: str, text: str, channel: str) -> str:
    """Run `/peer text`; the one answer it sent to its response_url."""
    before = len(world.api.calls_to("response_url"))
    status, body = await world.command(user, text, channel)
    assert status == 200 and body == "", (status, body)
    return _answers(world, before)


def _answers(world: SlackWorld, before: int) -> str:
    """The one ephemeral answer sent to a response_url since `before` answers."""
    replies = world.api.calls_to("response_url")[before:]
    assert len(replies) == 1, [c.args for c in replies]
    assert replies[0].args["response_type"] == "ephemeral"
    return str(replies[0].args["text"])


async def _circle(world: SlackWorld) -> str:
    """The set 'circle' of U1, U2 and U3; its private channel's id."""
    answer = await _ask(world, "U1", "set create circle <@U2> <@U3>", GENERAL)
    assert answer.startswith("Set 'circle' is ready")
    channel = world.api.channel_id("peer-circle")
    assert channel is not None
    return channel


async def _weekly(world: SlackWorld, channel: str) -> int:
    """Give the circle weekly meetings from FIRST; the first meeting's id."""
    answer = await _ask(world, "U1", WEEKLY, channel)
    assert answer == (
        "'circle' meets weekly on Tuesday at 18:30 Europe/London, 90 minutes. The first "
        f"meeting is {FIRST_IN_ANSWERS}; its RSVP goes out 48 hours before, a reminder 4 hours "
        "before, and check-ins 7 days after each action item."
    )
    with session_factory(_engine(world))() as db:
        meeting = db.scalars(select(Meeting)).one()
        assert meeting.starts_at == FIRST
        return meeting.id


def _engine(world: SlackWorld) -> Engine:
    return world.running.runtime.service.engine


def _top_level(world: SlackWorld, channel: str, effect_prefix: str) -> list[dict[str, Any]]:
    """The top-level messages in `channel` whose effect id starts with `effect_prefix`."""
    return [
        m
        for m in world.api.messages(channel)
        if "thread_ts" not in m and any(i.startswith(effect_prefix) for i in metadata_ids([m]))
    ]


def _buttons(message: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, action id, value) of each button on a message."""
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    return [(e["text"]["text"], e["action_id"], e["value"]) for e in actions["elements"]]


def _attendance(world: SlackWorld, meeting_id: int) -> dict[str, tuple[str | None, bool]]:
    with session_factory(_engine(world))() as db:
        rows = db.execute(
            select(Member.external_id, Attendance.rsvp, Attendance.bid)
            .join(Attendance, Attendance.member_id == Member.id)
            .where(Attendance.meeting_id == meeting_id)
        ).all()
    return {member: (rsvp, bid) for member, rsvp, bid in rows}


async def _post_rsvp(world: SlackWorld, meeting_id: int) -> None:
    meetings = world.running.runtime.desk.meetings
    assert await asyncio.to_thread(meetings.post_rsvp, meeting_id)
    await world.settle()


def _action_item(world: SlackWorld, owner: str, text: str) -> int:
    """An action item `owner` recorded in the circle (set 1)."""
    with session_factory(_engine(world)).begin() as db:
        tenant_id = db.scalars(select(Member.tenant_id).where(Member.external_id == owner)).one()
        item = ActionItem(set_id=1, member_id=member_ids(db, tenant_id)[owner], text=text)
        db.add(item)
        db.flush()
        return item.id


# --- an RSVP in the set's channel ------------------------------------------------------------


def test_an_rsvp_is_posted_in_the_sets_channel_and_answered_by_its_buttons(
    tmp_path: Path, db_url: str
) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        meeting_id = await _weekly(world, channel)
        [announced] = _top_level(world, channel, "schedule.")
        assert announced["text"] == (
            "<@U1> set the meetings: weekly on Tuesday at 18:30 Europe/London, 90 minutes. "
            f"The first is {FIRST_IN_NOTICES}."
        )

        await _post_rsvp(world, meeting_id)
        [rsvp] = _top_level(world, channel, "rsvp.")
        assert metadata_ids([rsvp]) == [f"rsvp.{meeting_id}.{int(FIRST.timestamp())}"]
        assert rsvp["text"].startswith(f"Meeting 1 is {FIRST_IN_NOTICES}, 90 minutes. Are you")
        assert rsvp["blocks"][0]["text"] == {"type": "mrkdwn", "text": rsvp["text"]}
        assert _buttons(rsvp) == [
            ("Going", "peerset_choice_going", str(meeting_id)),
            ("Going, and I have something to bring", "peerset_choice_bringing", str(meeting_id)),
            ("Can't make it", "peerset_choice_not_going", str(meeting_id)),
        ]

        # U2 is going and bids; the answer is for U2 alone, and the notice stays as it is.
        bringing = "Thanks: you're going to meeting 1 and have something to bring."
        for _ in range(2):  # pressing twice is harmless
            before = len(world.api.calls_to("response_url"))
            status, body = await world.choose(
                "U2", Choice.BRINGING, meeting_id, channel, rsvp["ts"]
            )
            assert (status, body) == (200, "")
            assert _answers(world, before) == bringing
            assert world.api.calls_to("response_url")[-1].args["replace_original"] is False
            assert _attendance(world, meeting_id) == {"U2": ("going", True)}

        before = len(world.api.calls_to("response_url"))
        await world.choose("U3", Choice.NOT_GOING, meeting_id, channel, rsvp["ts"])
        assert _answers(world, before) == "Thanks: you can't make meeting 1. You'll be missed."

        # Someone outside the set is told why nothing changed.
        before = len(world.api.calls_to("response_url"))
        await world.choose("U4", Choice.GOING, meeting_id, channel, rsvp["ts"])
        assert _answers(world, before) == "Only members of 'circle' can answer for its meetings."
        assert _attendance(world, meeting_id) == {
            "U2": ("going", True),
            "U3": ("not_going", False),
        }
        assert len(_top_level(world, channel, "rsvp.")) == 1
        assert world.api.calls_to("chat.update") == []

    _run(tmp_path, db_url, scenario)


def test_the_schedulers_rsvp_and_reminders_reach_slack_on_virtual_time(
    tmp_path: Path, db_url: str
) -> None:
    clock = VirtualClock(datetime(2031, 1, 1, 12, 0, tzinfo=UTC))

    async def scenario(world: SlackWorld) -> None:
        runtime = world.running.runtime
        assert runtime.scheduler is None  # the test steps its own
        channel = await _circle(world)
        await _ask(world, "U1", "schedule add weekly tue 18:30 Europe/London 90", channel)
        scheduler = world.root.meeting_scheduler(stepped=True)
        scheduler.start()
        try:
            # The RSVP, 48 hours before the first meeting.
            assert await _step(world, scheduler) == FIRST - timedelta(hours=48)
            [rsvp] = _top_level(world, channel, "rsvp.")
            assert rsvp["text"].startswith(f"Meeting 1 is {FIRST_IN_NOTICES}, 90 minutes.")
            meeting_id = int(_buttons(rsvp)[0][2])
            await world.choose("U2", Choice.GOING, meeting_id, channel, rsvp["ts"])

            # The reminder, 4 hours before, by direct message to those who have not answered.
            assert await _step(world, scheduler) == FIRST - timedelta(hours=4)
        finally:
            scheduler.shutdown()
        reminded = [c.args["users"] for c in world.api.calls_to("conversations.open")]
        assert reminded == ["U1", "U3"]
        dms = [
            c.args for c in world.api.calls_to("chat.postMessage") if c.args["channel"][0] == "D"
        ]
        assert [d["text"] for d in dms] == [
            f"A reminder: circle meets {FIRST_IN_NOTICES} (meeting 1). Are you coming?"
        ] * 2
        assert all(b[1].startswith("peerset_choice_") for d in dms for b in _buttons(d))
        assert len(_top_level(world, channel, "rsvp.")) == 1

    async def inside() -> None:
        async with slack_world(tmp_path, db_url, clock, scheduler=False) as world:
            await scenario(world)

    asyncio.run(inside())


async def _step(world: SlackWorld, scheduler: MeetingScheduler) -> datetime:
    """Move the virtual clock to the scheduler's next meeting job and run it; when it ran."""
    stepped = scheduler.scheduler
    due = min(job.next_run_time for job in stepped.get_jobs() if job.id != SYNC_JOB)
    clock = scheduler.clock
    assert isinstance(clock, VirtualClock)
    clock.move_to(due)
    await asyncio.to_thread(stepped.run_due)
    await world.settle()
    return clock.now()


# --- a check-in by direct message ------------------------------------------------------------


def test_a_check_in_reaches_its_owner_by_direct_message_and_done_is_recorded(
    tmp_path: Path, db_url: str
) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        item = _action_item(world, "U1", "Talk to my leads on Monday")
        assert await asyncio.to_thread(world.running.runtime.desk.checkins.ping, item)
        await world.settle()

        [opened] = world.api.calls_to("conversations.open")
        assert opened.args["users"] == "U1"
        dm = _direct_channel(world)
        [ping] = world.api.messages(dm)
        assert metadata_ids([ping]) == [f"checkin.{item}"]
        assert "\u201cTalk to my leads on Monday\u201d" in ping["text"]
        assert _buttons(ping) == [
            ("Done", "peerset_choice_done", str(item)),
            ("In progress", "peerset_choice_in_progress", str(item)),
            ("Stuck", "peerset_choice_stuck", str(item)),
        ]
        assert _top_level(world, channel, "checkin.") == []  # private, not in the set's channel

        # Only the owner answers for their item.
        before = len(world.api.calls_to("response_url"))
        await world.choose("U2", Choice.DONE, item, dm, ping["ts"])
        assert _answers(world, before) == (
            f"You have no action item #{item}; `/peer actions` lists yours."
        )
        assert _check_in(world, item) == (None, "open")

        before = len(world.api.calls_to("response_url"))
        await world.choose("U1", Choice.DONE, item, dm, ping["ts"])
        assert _answers(world, before) == (
            f"Thanks: #{item} is done. Your set will see it in the next meeting's updates."
        )
        assert _check_in(world, item) == ("done", "done")

    _run(tmp_path, db_url, scenario)


def _direct_channel(world: SlackWorld) -> str:
    """The one direct-message channel the bot posted to."""
    [dm] = [
        c.args["channel"]
        for c in world.api.calls_to("chat.postMessage")
        if str(c.args["channel"]).startswith("D")
    ]
    return str(dm)


def _check_in(world: SlackWorld, item: int) -> tuple[str | None, str]:
    with session_factory(_engine(world))() as db:
        row = db.get(ActionItem, item)
        assert row is not None
        return row.check_in_status, row.status


# --- after a crash, a delivered notice is found, not posted again -----------------------------


class Crash(Exception):
    """The worker stops between Slack's answer and marking the entry delivered."""


def test_a_notice_delivered_before_a_crash_is_found_by_its_metadata(
    tmp_path: Path, db_url: str
) -> None:
    async def scenario(world: SlackWorld) -> None:
        runtime = world.running.runtime
        channel = await _circle(world)
        meeting_id = await _weekly(world, channel)
        item = _action_item(world, "U2", "Write the proposal")
        crashed: list[str] = []

        def crash_after_notices(moment: str, effect_id: str) -> None:
            if moment == "after" and effect_id.startswith(("rsvp.", "checkin.")):
                crashed.append(effect_id)
                raise Crash(effect_id)

        runtime.dispatcher.hook = crash_after_notices
        # The direct message first: a set's own post that is not through holds back the rest.
        await asyncio.to_thread(runtime.desk.checkins.ping, item)
        await asyncio.to_thread(runtime.desk.meetings.post_rsvp, meeting_id)
        runtime.wake()
        await world.api.wait_for_async(lambda: len(crashed) == 2, timeout=10.0)
        runtime.dispatcher.hook = None
        assert [_attempts(world, e) for e in crashed] == [(1, False), (1, False)]
        posted = len(world.api.calls_to("chat.postMessage"))

        # Another worker takes the entries up once their lease has run out, and asks Slack.
        later = VirtualClock(runtime.clock.now() + timedelta(minutes=5))
        worker = Dispatcher(_engine(world), runtime.dispatcher.deliverer, later, platform="slack")
        assert await asyncio.to_thread(worker.deliver_pending) == 2
        assert len(world.api.calls_to("chat.postMessage")) == posted
        assert [_attempts(world, e) for e in crashed] == [(2, True), (2, True)]
        asked = {
            str(c.args["channel"])
            for c in world.api.calls_to("conversations.history")
            if c.args.get("include_all_metadata") in ("1", "true", True)
        }
        dm = _direct_channel(world)
        assert asked == {channel, dm}
        assert len(_top_level(world, channel, "rsvp.")) == 1
        assert metadata_ids(world.api.messages(dm)) == [f"checkin.{item}"]

    _run(tmp_path, db_url, scenario)


def _attempts(world: SlackWorld, effect_id: str) -> tuple[int, bool]:
    with session_factory(_engine(world))() as db:
        entry = db.scalars(select(OutboxEntry).where(OutboxEntry.effect_id == effect_id)).one()
        return entry.attempts, entry.delivered_at is not None


# --- the /peer schedule form -----------------------------------------------------------------

FIELDS = ["often", "weekday", "at", "zone", "minutes", "rsvp", "remind", "checkin", "starting"]
TYPED = FIELDS[3:8]


def _form(
    often: str = "every 2 weeks",
    weekday: str = "thu",
    at: str = "09:00",
    zone: str = "America/New_York",
    minutes: str = "60",
    rsvp: str = "24",
    remind: str = "2",
    checkin: str = "5",
    starting: str | None = None,
) -> dict[str, Any]:
    """`view.state.values` of a filled-in schedule form, as Slack sends it."""

    def chosen(value: str) -> dict[str, Any]:
        option = {"text": {"type": "plain_text", "text": value}, "value": value}
        return {"value": {"type": "static_select", "selected_option": option}}

    def typed(value: str) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value}}

    return {
        "often": chosen(often),
        "weekday": chosen(weekday),
        "at": {"value": {"type": "timepicker", "selected_time": at}},
        "zone": typed(zone),
        "minutes": typed(minutes),
        "rsvp": typed(rsvp),
        "remind": typed(remind),
        "checkin": typed(checkin),
        "starting": {"value": {"type": "datepicker", "selected_date": starting}},
    }


def test_peer_schedule_alone_opens_a_form_that_sets_the_meetings(
    tmp_path: Path, db_url: str
) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        world.api.add_user("U1", tz="America/New_York")
        before = len(world.api.calls_to("response_url"))
        status, body = await world.command("U1", "schedule", channel)
        assert (status, body) == (200, "")
        assert world.api.calls_to("response_url")[before:] == []  # no answer: a form instead
        assert [c.args["user"] for c in world.api.calls_to("users.info")] == ["U1"]
        [opened] = world.api.calls_to("views.open")
        assert opened.args["trigger_id"]
        view = opened.args["view"]
        assert view["type"] == "modal" and view["callback_id"] == "peerset_schedule"
        blocks = {b["block_id"]: b for b in view["blocks"]}
        assert [b["block_id"] for b in view["blocks"]] == FIELDS
        assert all(b["type"] == "input" for b in view["blocks"])
        often = blocks["often"]["element"]
        assert often["type"] == "static_select"
        assert [o["value"] for o in often["options"]] == [
            "weekly",
            "every 2 weeks",
            "every 3 weeks",
            "every 4 weeks",
            "monthly first",
            "monthly second",
            "monthly third",
            "monthly fourth",
            "monthly last",
        ]
        assert often["initial_option"]["value"] == "weekly"
        weekday = blocks["weekday"]["element"]
        assert [(o["value"], o["text"]["text"]) for o in weekday["options"]][:2] == [
            ("mon", "Monday"),
            ("tue", "Tuesday"),
        ]
        assert len(weekday["options"]) == 7
        assert blocks["at"]["element"]["type"] == "timepicker"
        # The member's own time zone, and the settings' defaults.
        initial = {b: blocks[b]["element"].get("initial_value") for b in TYPED}
        assert initial == {
            "zone": "America/New_York",
            "minutes": None,
            "rsvp": "48",
            "remind": "4",
            "checkin": "7",
        }
        assert all(blocks[b]["element"]["type"] == "plain_text_input" for b in TYPED)
        # Starting from: optional, a date picker; empty means today.
        assert blocks["starting"]["element"]["type"] == "datepicker"
        assert [b["block_id"] for b in view["blocks"] if b["optional"]] == ["starting"]
        metadata = view["private_metadata"]
        origin = json.loads(metadata)
        assert origin["channel"] == channel
        assert origin["response_url"].startswith(world.api.response_url_base + "commands/")

        # Wrong values come back under their fields, and nothing is set.
        wrong = await world.submit(
            "U1", "peerset_schedule", metadata, _form(minutes="ninety", checkin="0", zone=" ")
        )
        assert wrong[0] == 200
        assert json.loads(wrong[1]) == {
            "response_action": "errors",
            "errors": {
                "zone": "Give one time-zone name, like Europe/London.",
                "minutes": "Give a whole number of minutes, like 90.",
                "checkin": "Give a whole number of days, like 7.",
            },
        }
        wrong = await world.submit("U1", "peerset_schedule", metadata, _form(zone="Mars/Olympus"))
        assert json.loads(wrong[1]) == {
            "response_action": "errors",
            "errors": {
                "zone": "Unknown time zone 'Mars/Olympus': use an IANA name like Europe/London."
            },
        }
        wrong = await world.submit("U1", "peerset_schedule", metadata, _form(minutes="600"))
        assert json.loads(wrong[1])["errors"] == {"minutes": "A meeting lasts at most 480 minutes."}
        assert _schedules(world) == []

        # Right values close the form; the command's response_url carries the answer.
        before = len(world.api.calls_to("response_url"))
        assert await world.submit("U1", "peerset_schedule", metadata, _form()) == (200, "")
        answer = _answers(world, before)
        assert answer.startswith(
            "'circle' meets every 2 weeks on Thursday at 09:00 America/New_York, 60 minutes. "
            "The first meeting is <!date^"
        )
        assert answer.endswith(
            "its RSVP goes out 24 hours before, a reminder 2 hours before, and check-ins "
            "5 days after each action item."
        )
        reply = world.api.calls_to("response_url")[-1]
        assert reply.args["path"] == urlsplit(origin["response_url"]).path
        assert _schedules(world) == [(3, "09:00", "America/New_York", 60, 2, None, 24, 2, 5)]
        with session_factory(_engine(world))() as db:
            first = db.scalars(select(Meeting.starts_at)).one()
        assert f"The first meeting is <!date^{int(first.timestamp())}^" in answer
        [announced] = _top_level(world, channel, "schedule.")
        assert announced["text"].startswith(
            "<@U1> set the meetings: every 2 weeks on Thursday at 09:00 America/New_York, "
            f"60 minutes. The first is <!date^{int(first.timestamp())}^"
        )
        assert announced["text"].endswith(" 09:00 America/New_York>.")

        # Starting later: the first meeting is on or after the day picked.
        form = _form(often="weekly", weekday="tue", starting="2031-05-01")
        assert await world.submit("U1", "peerset_schedule", metadata, form) == (200, "")
        with session_factory(_engine(world))() as db:
            assert db.scalars(select(Schedule.starts)).one() == date(2031, 5, 1)
            later = db.scalars(select(Meeting.starts_at).where(Meeting.status == "planned")).one()
        assert later == datetime(2031, 5, 6, 13, 0, tzinfo=UTC)  # 09:00 in New York, summer

    _run(tmp_path, db_url, scenario)


def test_a_schedule_form_the_desk_refuses_is_answered_with_why(tmp_path: Path, db_url: str) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        await world.command("U1", "schedule", channel)
        metadata = world.api.calls_to("views.open")[-1].args["view"]["private_metadata"]
        before = len(world.api.calls_to("response_url"))
        form = _form(often="monthly last", rsvp="4", remind="48")
        assert await world.submit("U2", "peerset_schedule", metadata, form) == (200, "")
        assert _answers(world, before) == (
            "the reminder comes after the RSVP: give RSVP hours (at most 672) greater than "
            "reminder hours (at least 1), e.g. rsvp 48h remind 4h; got rsvp 4h remind 48h"
        )
        assert _schedules(world) == []

        # Someone outside the set may open the form, but not set the set's meetings.
        await world.command("U4", "schedule", channel)
        metadata = world.api.calls_to("views.open")[-1].args["view"]["private_metadata"]
        before = len(world.api.calls_to("response_url"))
        await world.submit("U4", "peerset_schedule", metadata, _form())
        assert _answers(world, before) == (
            "Only members of 'circle' can use /peer schedule add here."
        )
        assert _schedules(world) == []

    _run(tmp_path, db_url, scenario)


def test_schedule_subcommands_with_words_go_to_the_desk(tmp_path: Path, db_url: str) -> None:
    async def scenario(world: SlackWorld) -> None:
        channel = await _circle(world)
        meeting_id = await _weekly(world, channel)
        second = FIRST + timedelta(days=7)
        listed = await _ask(world, "U2", "schedule list", channel)
        assert listed.startswith(
            "'circle' meets weekly on Tuesday at 18:30 Europe/London, 90 minutes. Next: "
            f"{FIRST_IN_ANSWERS}; {_on_slack(second, 'Tue 14 Jan 2031 18:30 UTC')}; "
        )
        assert await _ask(world, "U2", "schedule skip-next", channel) == (
            f"Meeting 1 is skipped; the next is {_on_slack(second, 'Tue 14 Jan 2031 18:30 UTC')}."
        )
        assert await _ask(world, "U3", "schedule cancel", channel) == (
            "Regular meetings cancelled (1 planned meeting called off)."
        )
        assert _schedules(world) == []
        with session_factory(_engine(world))() as db:
            assert db.get(Meeting, meeting_id).status == "skipped"  # type: ignore[union-attr]

    _run(tmp_path, db_url, scenario)


def _schedules(world: SlackWorld) -> list[tuple[Any, ...]]:
    with session_factory(_engine(world))() as db:
        rows = db.scalars(select(Schedule)).all()
        return [
            (
                s.weekday,
                s.at,
                s.zone,
                s.minutes,
                s.weeks,
                s.week_of_month,
                s.rsvp_hours,
                s.reminder_hours,
                s.check_in_days,
            )
            for s in rows
        ]
