"""Regular meetings on Discord, through the real discord.py client connected to Discord's API
double: `/peer schedule ...` and the other meeting commands as typed options, the calendar's
notices in the set's channel and by direct message, and the answers members give on their
buttons (an RSVP, a check-in), each taken once and answered for the member alone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import select

from bot.clock import VirtualClock
from bot.commands import TABLE
from bot.commands.table import HOW_OFTEN
from bot.schedule import WEEKDAYS, parse_recurrence
from bot.service.notices import time_token
from bot.store import ActionItem, Attendance, Meeting, Member, Schedule
from tests.discord_double import DiscordApiDouble
from tests.discord_harness import (
    CHANNEL,
    GUILD,
    TIMEOUT,
    DiscordWorld,
    connected,
    discord_world,
    option,
)
from tests.test_discord_commands import _answered, _ask, _circle, _handled, _session_id, _start
from tests.test_discord_events import _dm_channel

ANA, BEN, CLEO, DEV = "1001", "1002", "1003", "1004"
GENERAL = "3001"
CHANNELS = ((CHANNEL, "peer-circle"), (GENERAL, "general"))
EPHEMERAL = 64
LONDON = "Europe/London"
# Every test runs on virtual time, from a Monday morning (GMT, so London is on UTC).
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# What `/peer schedule add` sets by default here: Thursdays at 18:30 in London, first this week.
FIRST = datetime(2026, 3, 5, 18, 30, tzinfo=UTC)
RSVP_LABELS = ["Going", "Going, and I have something to bring", "Can't make it"]
CHECK_IN_LABELS = ["Done", "In progress", "Stuck"]
ADD_USAGE = (
    "/peer schedule add weekly tue 18:30 Europe/London 90 [from 2026-12-01] [rsvp 48h] "
    "[remind 4h] [checkin 7d]"
)
# Each test takes the calendar's steps itself (posting an RSVP, a reminder, a check-in) at their
# times on the virtual clock, so no meeting scheduler runs beside it.
NO_SCHEDULER = {"scheduler": False}

Scenario = Callable[[DiscordWorld], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario) -> None:
    async def inside() -> None:
        async with discord_world(
            tmp_path, settings=NO_SCHEDULER, clock=VirtualClock(MONDAY), channels=CHANNELS
        ) as world:
            await scenario(world)

    asyncio.run(asyncio.wait_for(inside(), 120))


# --- asking, pressing, and reading what Discord was sent ----------------------------------


def _int(name: str, value: int) -> dict[str, Any]:
    return option(name, value, 4)


def _schedule(
    how: str = "weekly",
    weekday: str = "thu",
    at: str = "18:30",
    zone: str = LONDON,
    minutes: int = 90,
    *leads: dict[str, Any],
) -> list[dict[str, Any]]:
    """The typed options of `/peer schedule add`."""
    return [
        option("how", how),
        option("weekday", weekday),
        option("time", at),
        option("zone", zone),
        _int("minutes", minutes),
        *leads,
    ]


def _token(year: int, month: int, day: int, hour: int, minute: int = 0) -> str:
    """Discord's time token for a moment given in UTC."""
    return time_token(datetime(year, month, day, hour, minute, tzinfo=UTC))


async def _press(world: DiscordWorld, member: str, message: dict[str, Any], label: str) -> str:
    """Press the button with this label on a message Peerset sent: deferred at once for the
    member alone, then one ephemeral follow-up; its text."""
    [custom_id] = [b["custom_id"] for b in _buttons(message) if b["label"] == label]
    payload = world.api.interaction_button(
        member, str(message["channel_id"]), str(message["id"]), custom_id
    )
    world.api.send_dispatch("INTERACTION_CREATE", payload)
    interaction_id = str(payload["id"])
    await world.api.wait_for_async(lambda: _answered(world, interaction_id), TIMEOUT)
    await world.settle()
    record = world.api.interaction(interaction_id)
    assert [c["type"] for c in record["callbacks"]] == [5], record["callbacks"]
    assert record["callbacks"][0]["data"]["flags"] == EPHEMERAL
    [followup] = record["followups"]
    assert followup["flags"] & EPHEMERAL
    return str(followup["content"])


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message["components"] for b in row["components"]]


def _labels(message: dict[str, Any]) -> list[str]:
    return [str(b["label"]) for b in _buttons(message)]


def _dms(world: DiscordWorld, member: str) -> list[dict[str, Any]]:
    """The direct messages that reached the member, oldest first."""
    channel = _dm_channel(world, member)
    return [] if channel is None else world.api.messages(channel)


def _meetings(world: DiscordWorld) -> list[Meeting]:
    with world.client.runtime.service._sessions() as db:
        return list(db.scalars(select(Meeting).order_by(Meeting.id)).all())


def _schedules(world: DiscordWorld) -> list[Schedule]:
    with world.client.runtime.service._sessions() as db:
        return list(db.scalars(select(Schedule)).all())


def _answers(world: DiscordWorld, meeting_id: int) -> dict[str, tuple[str | None, bool]]:
    with world.client.runtime.service._sessions() as db:
        rows = db.execute(
            select(Member.external_id, Attendance.rsvp, Attendance.bid)
            .join(Attendance, Attendance.member_id == Member.id)
            .where(Attendance.meeting_id == meeting_id)
        ).all()
    return {member: (rsvp, bid) for member, rsvp, bid in rows}


def _items(world: DiscordWorld) -> list[ActionItem]:
    with world.client.runtime.service._sessions() as db:
        return list(db.scalars(select(ActionItem).order_by(ActionItem.id)).all())


async def _at(world: DiscordWorld, moment: datetime, step: Callable[[], object]) -> None:
    """At `moment`, take one of the calendar's steps (as the scheduler would), then let the
    outbox empty."""
    clock = world.client.runtime.clock
    assert isinstance(clock, VirtualClock)
    clock.move_to(moment)
    await asyncio.to_thread(step)
    world.client.runtime.wake()
    await world.settle()


async def _scheduled(world: DiscordWorld) -> Meeting:
    """The set 'circle', meeting on Thursdays; its first, planned meeting."""
    await _circle(world)
    await _ask(world, ANA, "schedule", "add", options=_schedule())
    [meeting] = _meetings(world)
    assert meeting.starts_at == FIRST
    return meeting


async def _rsvp(world: DiscordWorld, meeting: Meeting) -> dict[str, Any]:
    """The meeting's RSVP, posted 48 hours before it."""
    meetings = world.client.runtime.desk.meetings
    await _at(
        world, meeting.starts_at - timedelta(hours=48), lambda: meetings.post_rsvp(meeting.id)
    )
    return world.messages(CHANNEL)[-1]


# --- an RSVP in the set's channel --------------------------------------------------------


def test_an_rsvp_is_answered_on_its_buttons_in_the_sets_channel(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        meeting = await _scheduled(world)
        rsvp = await _rsvp(world, meeting)

        # In the channel itself, not in a thread; the time as Discord's own token, which each
        # reader sees in their own time zone.
        assert str(rsvp["content"]).startswith(
            f"Meeting 1 is <t:{int(FIRST.timestamp())}:F>, 90 minutes. Are you coming?"
        )
        assert rsvp["channel_id"] == CHANNEL and world.api.threads() == []
        assert _labels(rsvp) == RSVP_LABELS
        assert [b["custom_id"] for b in _buttons(rsvp)] == [
            f"peerset:choice_{word}:{meeting.id}:{GUILD}"
            for word in ("going", "bringing", "not_going")
        ]
        posted = len(world.messages(CHANNEL))

        bringing = RSVP_LABELS[1]
        thanks = "Thanks: you're going to meeting 1 and have something to bring."
        assert await _press(world, BEN, rsvp, bringing) == thanks
        assert _answers(world, meeting.id) == {BEN: ("going", True)}
        # Pressed again: the same answer, kept once.
        assert await _press(world, BEN, rsvp, bringing) == thanks
        assert _answers(world, meeting.id) == {BEN: ("going", True)}
        assert await _press(world, CLEO, rsvp, "Can't make it") == (
            "Thanks: you can't make meeting 1. You'll be missed."
        )

        # Someone outside the set is told why, and nothing is kept for them.
        assert await _press(world, DEV, rsvp, "Going") == (
            "Only members of 'circle' can answer for its meetings."
        )
        assert _answers(world, meeting.id) == {BEN: ("going", True), CLEO: ("not_going", False)}
        # Every answer was for the one who pressed alone: nothing more in the channel.
        assert len(world.messages(CHANNEL)) == posted

    _run(tmp_path, scenario)


def test_reminders_reach_each_member_who_has_not_answered(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        meeting = await _scheduled(world)
        await _press(world, BEN, await _rsvp(world, meeting), "Going")
        meetings = world.client.runtime.desk.meetings
        await _at(world, FIRST - timedelta(hours=4), lambda: meetings.remind(meeting.id))

        reminder = f"A reminder: circle meets <t:{int(FIRST.timestamp())}:F> (meeting 1). "
        # One reminder each, by direct message, to ana and cleo, whose ids differ only at the
        # end; none to ben, who answered.
        for member in (ANA, CLEO):
            [dm] = _dms(world, member)
            assert dm["content"] == reminder + "Are you coming?"
            assert _labels(dm) == RSVP_LABELS
        assert _dms(world, BEN) == []

        # Answered in the direct message, which names no server: the button does.
        [dm] = _dms(world, CLEO)
        assert await _press(world, CLEO, dm, "Can't make it") == (
            "Thanks: you can't make meeting 1. You'll be missed."
        )
        assert _answers(world, meeting.id) == {BEN: ("going", False), CLEO: ("not_going", False)}

    _run(tmp_path, scenario)


def test_an_rsvp_button_still_works_after_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        clock = VirtualClock(MONDAY)
        with DiscordApiDouble(channels=CHANNELS) as api, api.patched():
            async with connected(api, tmp_path, NO_SCHEDULER, clock) as world:
                meeting = await _scheduled(world)
                rsvp = await _rsvp(world, meeting)

            async with connected(api, tmp_path, NO_SCHEDULER, clock) as world:
                assert await _press(world, ANA, rsvp, RSVP_LABELS[1]) == (
                    "Thanks: you're going to meeting 1 and have something to bring."
                )
                assert _answers(world, meeting.id) == {ANA: ("going", True)}

    asyncio.run(asyncio.wait_for(scenario(), 120))


# --- a check-in by direct message ----------------------------------------------------------


async def _action_item(world: DiscordWorld, text: str) -> ActionItem:
    """ana, presenting in a session of 'circle', records an action item on the form."""
    await _circle(world)
    thread_id = await _start(world)
    await _ask(world, ANA, "next")
    session_id = _session_id(world, thread_id)
    press = world.api.interaction_button(
        ANA, thread_id, world.messages(thread_id)[-1]["id"], f"peerset:action:{session_id}"
    )
    world.api.send_dispatch("INTERACTION_CREATE", press)
    [form] = await world.api.wait_for_async(
        lambda: world.api.interaction(str(press["id"]))["callbacks"], TIMEOUT
    )
    [[field]] = [row["components"] for row in form["data"]["components"]]
    submit = world.api.interaction_modal_submit(
        ANA, thread_id, form["data"]["custom_id"], {field["custom_id"]: text}
    )
    world.api.send_dispatch("INTERACTION_CREATE", submit)
    await _handled(world, submit)
    [item] = _items(world)
    return item


def test_a_check_in_reaches_the_owner_and_done_is_recorded(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        item = await _action_item(world, "Talk to my leads on Monday")
        checkins = world.client.runtime.desk.checkins
        await _at(world, MONDAY + timedelta(days=7), lambda: checkins.ping(item.id))

        [ping] = [m for m in _dms(world, ANA) if m["components"]]
        assert str(ping["content"]).startswith(
            f"A check-in from circle: at your last meeting you committed to "
            f"\u201cTalk to my leads on Monday\u201d (#{item.id}). How is it going?"
        )
        assert _labels(ping) == CHECK_IN_LABELS
        # Only to its owner (the others had only the session's words).
        assert [m for m in _dms(world, BEN) + _dms(world, CLEO) if m["components"]] == []

        assert await _press(world, ANA, ping, "Done") == (
            f"Thanks: #{item.id} is done. Your set will see it in the next meeting's updates."
        )
        [done] = _items(world)
        assert (done.check_in_status, done.status) == ("done", "done")

    _run(tmp_path, scenario)


def test_action_items_commands_take_typed_options(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        item = await _action_item(world, "Talk to my leads on Monday")
        number = _int("item", item.id)

        stuck = [number, option("status", "stuck"), option("note", "waiting on legal")]
        assert await _ask(world, ANA, "checkin", options=stuck) == (
            f"Thanks: #{item.id} is stuck with your note. "
            "Your set will see it in the next meeting's updates."
        )
        edit = [number, option("text", "Talk to my leads on Tuesday")]
        assert await _ask(world, ANA, "action", "edit", options=edit) == (
            f"#{item.id} now reads \u201cTalk to my leads on Tuesday\u201d."
        )
        assert await _ask(world, ANA, "actions") == (
            "Your action items (change one: /peer action edit NUMBER new words):\n"
            f"#{item.id} \u201cTalk to my leads on Tuesday\u201d: stuck"
        )
        [kept] = _items(world)
        assert (kept.text, kept.check_in_status, kept.check_in_note) == (
            "Talk to my leads on Tuesday",
            "stuck",
            "waiting on legal",
        )
        # Only its owner may answer for it.
        assert await _ask(world, BEN, "checkin", options=[number, option("status", "done")]) == (
            f"You have no action item #{item.id}; `/peer actions` lists yours."
        )
        assert _items(world)[0].check_in_status == "stuck"

    _run(tmp_path, scenario)


# --- /peer schedule ------------------------------------------------------------------------


def test_schedule_add_with_typed_options_sets_the_meetings(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        assert await _ask(world, ANA, "schedule", "list") == (
            f"'circle' has no regular meetings. Set them: {ADD_USAGE}"
        )
        leads = (_int("rsvp_hours", 72), _int("reminder_hours", 6), _int("check_in_days", 10))
        answer = await _ask(
            world,
            ANA,
            "schedule",
            "add",
            options=_schedule("every 2 weeks", "thu", "09:00", LONDON, 60, *leads),
        )
        [schedule] = _schedules(world)
        assert (schedule.weeks, schedule.week_of_month, schedule.weekday, schedule.at) == (
            2,
            None,
            3,
            "09:00",
        )
        assert (schedule.zone, schedule.minutes) == (LONDON, 60)
        assert (schedule.rsvp_hours, schedule.reminder_hours, schedule.check_in_days) == (72, 6, 10)
        # Every other Thursday at 09:00 in London, the first this week; after the clocks go
        # forward on 29 March, 09:00 in London is 08:00 UTC.
        first, third = _token(2026, 3, 5, 9), _token(2026, 4, 2, 8)
        [meeting] = _meetings(world)
        assert time_token(meeting.starts_at) == first
        described = "every 2 weeks on Thursday at 09:00 Europe/London, 60 minutes"
        assert answer == (
            f"'circle' meets {described}. The first meeting is {first}; its RSVP goes out 72 "
            "hours before, a reminder 6 hours before, and check-ins 10 days after each action item."
        )
        # The set is told in its channel, with no buttons and not in a thread.
        [notice] = world.messages(CHANNEL)
        assert notice["content"] == f"<@{ANA}> set the meetings: {described}. The first is {first}."
        assert notice["components"] == []
        assert world.api.threads() == []

        assert await _ask(world, CLEO, "schedule", "list") == (
            f"'circle' meets {described}. Next: {first}; {_token(2026, 3, 19, 9)}; {third}."
        )

        # Monthly, on the last Tuesday: a new schedule replaces the old one.
        await _ask(world, BEN, "schedule", "add", options=_schedule("monthly last", "tue"))
        [schedule] = _schedules(world)
        assert (schedule.week_of_month, schedule.weeks, schedule.weekday) == (-1, 1, 1)
        assert (schedule.rsvp_hours, schedule.reminder_hours, schedule.check_in_days) == (48, 4, 7)
        assert _meetings(world)[-1].starts_at == datetime(2026, 3, 31, 17, 30, tzinfo=UTC)

        # Starting later: the first meeting falls on or after the day given.
        later = option("starting", "2026-05-01")
        await _ask(world, BEN, "schedule", "add", options=[*_schedule("weekly", "tue"), later])
        [schedule] = _schedules(world)
        assert schedule.starts == date(2026, 5, 1)
        assert _meetings(world)[-1].starts_at == datetime(2026, 5, 5, 17, 30, tzinfo=UTC)
        bad = option("starting", "May")
        refused = await _ask(world, BEN, "schedule", "add", options=[*_schedule(), bad])
        assert refused.startswith("A day must look like 2026-05-05, not 'May'. Try: /peer")
        assert _schedules(world)[0].starts == date(2026, 5, 1)  # nothing changed

    _run(tmp_path, scenario)


def test_schedule_add_with_a_wrong_zone_or_time_is_answered_and_sets_nothing(
    tmp_path: Path,
) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        wrong_zone = await _ask(
            world, ANA, "schedule", "add", options=_schedule(zone="Mars/Olympus")
        )
        assert wrong_zone == (
            f"Unknown time zone 'Mars/Olympus': use an IANA name like Europe/London. "
            f"Try: {ADD_USAGE}"
        )
        wrong_time = await _ask(world, ANA, "schedule", "add", options=_schedule(at="6pm"))
        assert wrong_time == (
            f"Time must be 24-hour hours and minutes like 18:30, not '6pm'. Try: {ADD_USAGE}"
        )
        leads = (_int("rsvp_hours", 4), _int("reminder_hours", 4))
        assert await _ask(
            world,
            ANA,
            "schedule",
            "add",
            options=_schedule("weekly", "tue", "18:30", LONDON, 90, *leads),
        ) == (
            "the reminder comes after the RSVP: give RSVP hours (at most 672) greater than "
            "reminder hours (at least 1), e.g. rsvp 48h remind 4h; got rsvp 4h remind 4h"
        )
        # Outside the set, and outside any set's channel.
        assert await _ask(world, DEV, "schedule", "add", options=_schedule()) == (
            "Only members of 'circle' can use /peer schedule add here."
        )
        assert (
            await _ask(world, ANA, "schedule", "add", options=_schedule(), channel=GENERAL)
        ).startswith("This channel has no set.")
        assert _schedules(world) == [] and _meetings(world) == []
        assert world.messages(CHANNEL) == [] and world.messages(GENERAL) == []

    _run(tmp_path, scenario)


def test_zone_autocomplete_offers_matching_time_zones(tmp_path: Path) -> None:
    async def choices(world: DiscordWorld, typed: str) -> list[str]:
        zone = {"type": 3, "name": "zone", "value": typed, "focused": True}
        add = {"type": 1, "name": "add", "options": [option("how", "weekly"), zone]}
        group = {"type": 2, "name": "schedule", "options": [add]}
        payload = world.api.interaction_autocomplete(ANA, CHANNEL, "peer", [group])
        world.api.send_dispatch("INTERACTION_CREATE", payload)
        [callback] = await world.api.wait_for_async(
            lambda: world.api.interaction(str(payload["id"]))["callbacks"], TIMEOUT
        )
        assert callback["type"] == 8
        found = callback["data"]["choices"]
        assert all(c["name"] == c["value"] for c in found)
        return [str(c["value"]) for c in found]

    async def scenario(world: DiscordWorld) -> None:
        assert await choices(world, "london") == [LONDON]
        assert "America/New_York" in await choices(world, "new york")
        assert await choices(world, "") == sorted(available_timezones())[:25]
        assert await choices(world, "Mars") == []
        # Asking for choices sets nothing.
        assert _schedules(world) == []

    _run(tmp_path, scenario)


def test_skip_move_bid_attendance_and_cancel(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        await _circle(world)
        await _ask(world, ANA, "schedule", "add", options=_schedule())

        next_one = _token(2026, 3, 12, 18, 30)
        assert await _ask(world, BEN, "schedule", "skip-next") == (
            f"Meeting 1 is skipped; the next is {next_one}."
        )
        first, second = _meetings(world)
        assert (first.status, second.status) == ("skipped", "planned")
        assert world.messages(CHANNEL)[-1]["content"] == (
            f"<@{BEN}> skipped meeting 1. The next meeting is {next_one}."
        )

        # The next meeting, a day later at 19:00 London time.
        to = [option("day", "2026-03-13"), option("time", "19:00")]
        moved = _token(2026, 3, 13, 19)
        assert await _ask(world, CLEO, "schedule", "move", options=to) == (
            f"Meeting 2 now starts {moved}."
        )
        assert time_token(_meetings(world)[1].starts_at) == moved
        assert await _ask(
            world, CLEO, "schedule", "move", options=[option("day", "soon"), option("time", "7")]
        ) == (
            "A day must look like 2026-05-05, not 'soon'. Try: /peer schedule move YYYY-MM-DD HH:MM"
        )

        assert await _ask(world, ANA, "bid") == (
            "Thanks: you're going to meeting 2 and have something to bring."
        )
        assert _answers(world, second.id) == {ANA: ("going", True)}
        assert await _ask(world, ANA, "attendance") == (
            "Attendance:\nMeeting 1, "
            f"{time_token(first.starts_at)}, skipped: said going: nobody; took part: nobody."
        )

        assert await _ask(world, ANA, "schedule", "cancel") == (
            "Regular meetings cancelled (1 planned meeting called off)."
        )
        assert _schedules(world) == []
        assert _meetings(world)[1].status == "cancelled"
        assert await _ask(world, ANA, "schedule", "skip-next") == (
            "This set has no regular meetings yet. Set them with /peer schedule add, "
            "e.g. /peer schedule add weekly tue 18:30 Europe/London 90"
        )

    _run(tmp_path, scenario)


# --- the command tree Discord was given --------------------------------------------------


def test_the_commands_discord_accepted_are_the_tables(tmp_path: Path) -> None:
    async def scenario(world: DiscordWorld) -> None:
        [peer] = world.api.commands(GUILD)
        registered: dict[tuple[str, ...], dict[str, Any]] = {}
        for top in peer["options"]:
            if top["type"] == 2:  # a group of subcommands
                for leaf in top["options"]:
                    registered[(top["name"], leaf["name"])] = leaf
            else:
                registered[(top["name"],)] = top
        assert list(registered) == [spec.path for spec in TABLE]
        for spec in TABLE:
            leaf = registered[spec.path]
            assert leaf["description"] == spec.about
            names = [o["name"] for o in leaf.get("options", [])]
            for arg in spec.args:
                assert (arg.name in names) or (f"{arg.name[:-1]}1" in names), (spec.path, arg)
        add = {o["name"]: o for o in registered[("schedule", "add")]["options"]}
        assert (add["minutes"]["min_value"], add["minutes"]["max_value"]) == (1, 480)
        assert add["zone"]["autocomplete"] is True
        assert [c["value"] for c in add["weekday"]["choices"]] == list(WEEKDAYS)
        how = [c["value"] for c in add["how"]["choices"]]
        assert how == [words for _, words in HOW_OFTEN] and len(how) == 9
        # Every offered "how" is one the desk reads.
        for words in how:
            parse_recurrence(f"{words} tue 18:30 {LONDON} 60", date(2026, 1, 1))
        item = {o["name"]: o for o in registered[("checkin",)]["options"]}["item"]
        assert (item["min_value"], item["max_value"]) == (1, 2**31 - 1)

    _run(tmp_path, scenario)
