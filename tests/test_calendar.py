"""A set's calendar through `/peer schedule ...` and the scheduler's planning: adding (and
replacing) a schedule, listing, cancelling, skipping and moving the next meeting, every refusal,
and meetings the bot was not running for, announced as missed once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.commands import USAGE
from bot.engine.effects import RSVP_CHOICES, Notice, NoticeKind
from bot.service.notices import time_token
from tests.meeting_helpers import (
    SPACE,
    MeetingWorld,
    make_world,
    run_until,
    step,
)

WEEKLY = "weekly tue 18:30 Europe/London 90"
# The clock starts on Monday 2 March 2026, 09:00 UTC; London is on GMT until 29 March.
TUE_3 = datetime(2026, 3, 3, 18, 30, tzinfo=UTC)
TUE_10 = datetime(2026, 3, 10, 18, 30, tzinfo=UTC)
TUE_17 = datetime(2026, 3, 17, 18, 30, tzinfo=UTC)


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[MeetingWorld]:
    world = make_world(db_url, tmp_path)
    yield world
    world.engine.dispose()


def _schedule_notices(world: MeetingWorld) -> list[Notice]:
    return [n for n in world.notices() if n.kind is NoticeKind.SCHEDULE]


def test_adding_a_schedule_plans_the_first_meeting_and_tells_the_set(world: MeetingWorld) -> None:
    answer = world.say(f"schedule add {WEEKLY} rsvp 72h remind 6h checkin 10d", "ben")
    assert answer.ok
    assert answer.text == (
        "'leaders' meets weekly on Tuesday at 18:30 Europe/London, 90 minutes. The first meeting "
        f"is {time_token(TUE_3)}; its RSVP goes out 72 hours before, a reminder 6 hours before, "
        "and check-ins 10 days after each action item."
    )
    [meeting] = world.meetings()
    assert (meeting.number, meeting.status, meeting.starts_at, meeting.minutes) == (
        1,
        "planned",
        TUE_3,
        90,
    )
    [delivery] = world.delivered()
    notice = delivery.effect
    assert isinstance(notice, Notice) and notice.kind is NoticeKind.SCHEDULE
    # In the set's own channel, at the top level, for everyone.
    assert (delivery.space_id, delivery.thread_id, notice.member) == (SPACE, None, None)
    assert notice.text == (
        "<@ben> set the meetings: weekly on Tuesday at 18:30 Europe/London, 90 minutes. "
        f"The first is {time_token(TUE_3)}."
    )
    assert (notice.when, notice.zone, notice.subject) == (TUE_3, "Europe/London", meeting.id)


def test_the_defaults_for_leads_come_from_the_settings(world: MeetingWorld) -> None:
    answer = world.say(f"schedule add {WEEKLY}")
    assert "RSVP goes out 48 hours before, a reminder 4 hours before, and check-ins 7 days" in (
        answer.text
    )


def test_a_new_schedule_replaces_the_old_one(world: MeetingWorld) -> None:
    world.say(f"schedule add {WEEKLY}")
    answer = world.say("schedule add every 2 weeks thu 09:00 America/New_York 60")
    assert answer.ok
    # Tuesday's meeting is off; Thursday 5 March, 09:00 in New York (EST, UTC-5), is on.
    second = world.planned()
    assert (second.number, second.starts_at, second.minutes) == (
        1,
        datetime(2026, 3, 5, 14, 0, tzinfo=UTC),
        60,
    )
    assert TUE_3 not in world.desk.calendar.upcoming(world.set_id)
    listed = world.say("schedule list")
    assert listed.text.startswith(
        "'leaders' meets every 2 weeks on Thursday at 09:00 America/New_York, 60 minutes. Next: "
        f"{time_token(second.starts_at)}; "
        f"{time_token(datetime(2026, 3, 19, 13, 0, tzinfo=UTC))}"  # EDT from 8 March
    )


def test_replacing_a_schedule_with_the_same_times_keeps_the_next_meeting(
    world: MeetingWorld,
) -> None:
    world.say(f"schedule add {WEEKLY}")
    answer = world.say(f"schedule add {WEEKLY} rsvp 24h")
    assert f"The first meeting is {time_token(TUE_3)}" in answer.text
    assert world.planned().starts_at == TUE_3
    schedule = world.desk.calendar.schedule(world.set_id)
    assert schedule is not None and schedule.rsvp_hours == 24
    assert world.say("schedule list").text.endswith(
        f"Next: {time_token(TUE_3)}; {time_token(TUE_10)}; {time_token(TUE_17)}."
    )


def test_listing_shows_the_next_three_meetings(world: MeetingWorld) -> None:
    assert world.say("schedule list").text == (
        "'leaders' has no regular meetings. Set them: "
        "/peer schedule add weekly tue 18:30 Europe/London 90 [from 2026-12-01] [rsvp 48h] "
        "[remind 4h] [checkin 7d]"
    )
    world.say(f"schedule add {WEEKLY}")
    assert world.say("schedule list", "dev").text == (
        "'leaders' meets weekly on Tuesday at 18:30 Europe/London, 90 minutes. Next: "
        f"{time_token(TUE_3)}; {time_token(TUE_10)}; {time_token(TUE_17)}."
    )
    assert world.desk.calendar.upcoming(world.set_id, 2) == [TUE_3, TUE_10]


def test_cancelling_stops_the_meetings(world: MeetingWorld) -> None:
    world.say(f"schedule add {WEEKLY}")
    _schedule_notices(world)
    answer = world.say("schedule cancel", "cleo")
    assert answer.text == "Regular meetings cancelled (1 planned meeting called off)."
    assert [m.status for m in world.meetings()] == ["cancelled"]
    [notice] = _schedule_notices(world)
    assert notice.text == (
        "<@cleo> cancelled the set's regular meetings. Set new ones with /peer schedule add."
    )
    assert world.say("schedule list").text.startswith("'leaders' has no regular meetings.")
    # Nothing is planned again.
    world.clock.advance(timedelta(days=8))
    assert world.desk.calendar.plan_all() == []
    assert [m.status for m in world.meetings()] == ["cancelled"]


def test_skipping_the_next_meeting_plans_the_one_after(world: MeetingWorld) -> None:
    world.say(f"schedule add {WEEKLY}")
    _schedule_notices(world)
    answer = world.say("schedule skip-next", "dev")
    assert answer.text == f"Meeting 1 is skipped; the next is {time_token(TUE_10)}."
    skipped, following = world.meetings()
    assert (skipped.status, skipped.starts_at) == ("skipped", TUE_3)
    assert (following.number, following.status, following.starts_at) == (2, "planned", TUE_10)
    [notice] = _schedule_notices(world)
    assert notice.text == (f"<@dev> skipped meeting 1. The next meeting is {time_token(TUE_10)}.")
    assert world.say("schedule list").text.endswith(
        f"Next: {time_token(TUE_10)}; {time_token(TUE_17)}; "
        f"{time_token(datetime(2026, 3, 24, 18, 30, tzinfo=UTC))}."
    )


def test_moving_the_next_meeting_to_before_the_following_one(world: MeetingWorld) -> None:
    world.say(f"schedule add {WEEKLY}")
    _schedule_notices(world)
    # Wednesday 4 March, 19:00 in London.
    moved_to = datetime(2026, 3, 4, 19, 0, tzinfo=UTC)
    answer = world.say("schedule move 2026-03-04 19:00", "ben")
    assert answer.text == f"Meeting 1 now starts {time_token(moved_to)}."
    [meeting] = world.meetings()
    assert (meeting.starts_at, meeting.planned_for, meeting.status) == (moved_to, TUE_3, "planned")
    [notice] = _schedule_notices(world)
    assert notice.text == f"<@ben> moved meeting 1 to {time_token(moved_to)}."
    assert (notice.when, notice.subject) == (moved_to, meeting.id)
    # The rest of the schedule is as it was.
    assert world.desk.calendar.upcoming(world.set_id) == [moved_to, TUE_10, TUE_17]


def test_a_meeting_moves_only_to_before_the_following_one(world: MeetingWorld) -> None:
    world.say(f"schedule add {WEEKLY}")
    for when in ("2026-03-10 18:30", "2026-03-11 09:00"):
        answer = world.say(f"schedule move {when}")
        assert not answer.ok
        assert answer.text == (
            "A meeting can move only to before the one after it (2026-03-10 18:30 "
            "Europe/London); to drop this one, use /peer schedule skip-next."
        )
    assert world.planned().starts_at == TUE_3


def test_a_meeting_cannot_move_into_the_past(world: MeetingWorld) -> None:
    world.say(f"schedule add {WEEKLY}")
    answer = world.say("schedule move 2026-03-02 08:00")
    assert not answer.ok
    assert answer.text == (
        "2026-03-02 08:00 Europe/London has passed; move the meeting to a time still to come."
    )
    assert world.planned().starts_at == TUE_3


def test_moving_a_meeting_back_and_forth(world: MeetingWorld) -> None:
    """Each move is announced, including a move back to a time the meeting had before."""
    world.say(f"schedule add {WEEKLY}")
    _schedule_notices(world)
    for when in ("2026-03-04 19:00", "2026-03-05 19:00", "2026-03-04 19:00", "2026-03-03 18:30"):
        assert world.say(f"schedule move {when}").ok, when
    assert len(_schedule_notices(world)) == 4
    assert world.planned().starts_at == TUE_3


def test_a_moved_meeting_gets_its_rsvp_and_reminder_again_for_the_new_time(
    world: MeetingWorld,
) -> None:
    world.say(f"schedule add {WEEKLY}")
    moved_to = datetime(2026, 3, 4, 19, 0, tzinfo=UTC)
    with world.scheduler() as scheduler:
        step(world, scheduler)  # the RSVP for Tuesday, due since Sunday, goes out late
        world.press("ana", RSVP_CHOICES[0], world.planned().id)
        [_, rsvp] = world.notices()
        assert rsvp.kind is NoticeKind.RSVP and time_token(TUE_3) in rsvp.text
        world.say("schedule move 2026-03-04 19:00")
        scheduler.sync()
        # The RSVP goes out again 48 hours before the new time, the reminder 4 hours before.
        assert step(world, scheduler) == moved_to - timedelta(hours=48)
        [_, rsvp_again] = world.notices()
        assert rsvp_again.kind is NoticeKind.RSVP and rsvp_again.when == moved_to
        assert f"Meeting 1 is {time_token(moved_to)}" in rsvp_again.text
        assert step(world, scheduler) == moved_to - timedelta(hours=4)
        reminders = world.notices()
        assert {n.member for n in reminders} == {"ben", "cleo", "dev"}  # ana has answered
        assert all(n.kind is NoticeKind.REMINDER and n.when == moved_to for n in reminders)
        assert step(world, scheduler) == moved_to
        assert world.meeting(1).opened_at == moved_to


def test_a_meeting_moved_away_and_back_is_not_asked_about_twice_for_one_time(
    world: MeetingWorld,
) -> None:
    world.say(f"schedule add {WEEKLY}")
    with world.scheduler() as scheduler:
        step(world, scheduler)  # the RSVP for Tuesday
        world.say("schedule move 2026-03-04 19:00")
        scheduler.sync()
        step(world, scheduler)  # the RSVP for Wednesday
        world.say("schedule move 2026-03-03 18:30")
        scheduler.sync()
        step(world, scheduler)  # the RSVP for Tuesday again: it went out already
        assert world.meeting(1).rsvp_posted_at is not None
        run_until(world, scheduler, TUE_3)
        assert world.meeting(1).status == "called_off"  # nobody answered
    rsvps = [n.when for n in world.notices() if n.kind is NoticeKind.RSVP]
    assert rsvps == [TUE_3, datetime(2026, 3, 4, 19, 0, tzinfo=UTC)]


def test_a_meeting_moved_later_does_not_open_at_its_old_time(world: MeetingWorld) -> None:
    """The scheduler's jobs for the old time may still run before its next sync: they do
    nothing, and the meeting opens at its new time."""
    world.say(f"schedule add {WEEKLY}")
    moved_to = datetime(2026, 3, 4, 19, 0, tzinfo=UTC)
    with world.scheduler() as scheduler:
        step(world, scheduler)
        world.answer_all(1, dict.fromkeys(("ana", "ben", "cleo"), RSVP_CHOICES[0]))
        world.say("schedule move 2026-03-04 19:00")  # no sync yet: the old jobs stand
        run_until(world, scheduler, TUE_3 + timedelta(minutes=1))
        assert world.meeting(1).status == "planned" and world.session_of(1) is None
        assert NoticeKind.REMINDER not in [n.kind for n in world.notices()]
        scheduler.sync()  # the periodic sync catches up with the move
        run_until(world, scheduler, moved_to)
        assert world.meeting(1).status == "open"
        session = world.session_of(1)
        assert session is not None and session.started_at == moved_to
        [reminder] = [d for d in world.delivered() if isinstance(d.effect, Notice)]
        assert reminder.created_at == moved_to - timedelta(hours=4)
        assert isinstance(reminder.effect, Notice)
        assert (reminder.effect.kind, reminder.effect.member, reminder.effect.when) == (
            NoticeKind.REMINDER,
            "dev",
            moved_to,
        )


NO_SCHEDULE = [
    ("schedule cancel", "This set has no regular meetings yet. Set them with /peer schedule add"),
    ("schedule skip-next", "This set has no regular meetings yet."),
    ("schedule move 2026-03-04 19:00", "e.g. /peer schedule add weekly tue 18:30"),
    ("bid", "This set has no meeting planned to bid for. Set regular meetings with"),
]
WRONG_SCHEDULES = [
    ("weekly tue 18:30 Europe/Londres 90", "unknown time zone 'Europe/Londres': use an IANA"),
    ("weekly tues 18:30 Europe/London 90", "weekday must be one of mon, tue, wed"),
    ("weekly tue 6.30pm Europe/London 90", "time must be 24-hour hours and minutes like 18:30"),
    ("weekly tue 18:30 Europe/London", "give a weekday, a time, a time zone and a length"),
    ("weekly tue 18:30 Europe/London 600", "a meeting lasts 1 to 480 minutes, got 600"),
    ("fortnightly tue 18:30 Europe/London 90", "start with weekly, every N weeks or monthly"),
    ("every 20 weeks tue 18:30 UTC 90", "interval must be 1..12 weeks, got 20"),
    ("monthly fifth tue 18:30 UTC 90", "say which week of the month: first, second, third"),
    (f"{WEEKLY} rsvp 4h remind 4h", "the reminder comes after the RSVP: give RSVP hours"),
    (f"{WEEKLY} remind 48h", "got rsvp 48h remind 48h"),
    (f"{WEEKLY} rsvp 800h", "(at most 672)"),
    (f"{WEEKLY} rsvp 0h", "got rsvp 0h remind 4h"),
    (f"{WEEKLY} checkin 0d", "check-in days must be 1 to 90, got 0"),
    (f"{WEEKLY} checkin 91d", "check-in days must be 1 to 90, got 91"),
    (f"{WEEKLY} rsvp 48", "Give rsvp once, in whole hours and the unit: rsvp 48h"),
    ("", "Say when the set meets: /peer schedule add weekly tue 18:30 Europe/London 90"),
]


def test_changing_meetings_a_set_does_not_have(world: MeetingWorld) -> None:
    for command, message in NO_SCHEDULE:
        answer = world.say(command)
        assert not answer.ok and message in answer.text, command


def test_a_wrong_schedule_is_refused_with_what_is_right(world: MeetingWorld) -> None:
    for recurrence, message in WRONG_SCHEDULES:
        answer = world.say(f"schedule add {recurrence}")
        assert not answer.ok, recurrence
        # The grammar's messages open a sentence: compared without case.
        assert message.lower() in answer.text.lower(), (recurrence, answer.text)
    assert world.meetings() == [] and world.desk.calendar.schedule(world.set_id) is None


def test_a_channel_without_a_set_has_no_meetings(world: MeetingWorld) -> None:
    for command in ("schedule list", f"schedule add {WEEKLY}", "bid", "attendance", "actions"):
        answer = world.say(command, space="C-general")
        assert (answer.ok, answer.text) == (
            False,
            "This channel has no set. Use it in your set's private channel, or make a set: "
            "/peer set create NAME @member @member ...",
        ), command


def test_help_lists_the_meeting_commands(world: MeetingWorld) -> None:
    assert world.say("help").text == USAGE
    assert "/peer schedule add weekly tue 18:30" in USAGE


def test_a_recurrence_that_cannot_be_read_shows_the_example(world: MeetingWorld) -> None:
    answer = world.say("schedule add weekly tue 18:30 Mars/Olympus 90")
    assert answer.text.endswith(
        ". Try: /peer schedule add weekly tue 18:30 Europe/London 90 [from 2026-12-01] "
        "[rsvp 48h] [remind 4h] [checkin 7d]"
    )


def test_only_members_change_a_sets_meetings(world: MeetingWorld) -> None:
    world.say(f"schedule add {WEEKLY}")
    for command in (
        f"schedule add {WEEKLY}",
        "schedule cancel",
        "schedule skip-next",
        "schedule move 2026-03-04 19:00",
        "schedule list",
    ):
        answer = world.say(command, "mallory")
        name = " ".join(command.split()[:2])
        assert (answer.ok, answer.text) == (
            False,
            f"Only members of 'leaders' can use /peer {name} here.",
        ), command
    assert [(m.status, m.starts_at) for m in world.meetings()] == [("planned", TUE_3)]


def test_plan_all_announces_a_missed_meeting_once_and_plans_the_next(world: MeetingWorld) -> None:
    world.say(f"schedule add {WEEKLY}")
    _schedule_notices(world)
    calendar = world.desk.calendar
    # Within the late-start allowance (15 minutes) the meeting may still open.
    world.clock.move_to(TUE_3 + timedelta(minutes=15))
    assert calendar.plan_all() == []
    assert world.planned().id == 1
    # The bot was down beyond it.
    world.clock.move_to(TUE_3 + timedelta(minutes=16))
    assert calendar.plan_all() == [1]
    assert calendar.plan_all() == []
    missed, following = world.meetings()
    assert missed.status == "missed" and following.status == "planned"
    assert (following.number, following.starts_at) == (2, TUE_10)
    [notice] = world.notices()
    assert notice.kind is NoticeKind.MISSED and notice.member is None
    assert notice.text == (
        f"Meeting 1, planned for {time_token(TUE_3)}, did not open: the bot was not running "
        "then. Sorry. Nothing is lost; the next meeting is planned as usual."
    )


def test_a_bot_down_for_weeks_announces_each_missed_meeting_once(world: MeetingWorld) -> None:
    world.say(f"schedule add {WEEKLY}")
    _schedule_notices(world)
    world.clock.move_to(TUE_17 + timedelta(hours=1))
    assert world.desk.calendar.plan_all() == [1]
    # Only meetings that were planned are missed; the next is planned after now.
    assert world.desk.calendar.plan_all() == []
    assert [(m.status, m.starts_at) for m in world.meetings()] == [
        ("missed", TUE_3),
        ("planned", datetime(2026, 3, 24, 18, 30, tzinfo=UTC)),
    ]
    assert [n.kind for n in world.notices()] == [NoticeKind.MISSED]
