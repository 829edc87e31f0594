"""The meeting scheduler in one process on virtual time: the jobs APScheduler keeps in the
database run each meeting's RSVP, reminder and opening at their times; meetings keep their local
time across daylight-saving changes; and when the bot was down, meetings open late within the
allowance or are announced as missed once, RSVPs and reminders run late until the start, and
check-ins whenever the bot is back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from bot.engine.effects import Choice, Notice, NoticeKind
from bot.engine.events import Command, FacilitatorCommand, RecordAction
from bot.store import SessionRecord, session_factory
from tests.meeting_helpers import MEMBERS, MeetingWorld, make_world, next_job, run_until, step

FRI_6 = datetime(2026, 3, 6, 18, 30, tzinfo=UTC)  # Friday 6 March, 18:30 in London (GMT)
LATE_START = timedelta(minutes=15)  # the default PEERSET_LATE_START_MINUTES


def utc(month: int, day: int, hour: int, minute: int = 30) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[MeetingWorld]:
    world = make_world(db_url, tmp_path)
    yield world
    world.engine.dispose()


def _jobs(world: MeetingWorld) -> set[str]:
    with world.engine.connect() as connection:
        return set(connection.execute(text("SELECT id FROM apscheduler_jobs")).scalars())


def _notices(world: MeetingWorld) -> list[tuple[datetime, Notice]]:
    """Each notice that reached the platform, with when it was made."""
    return [(d.created_at, d.effect) for d in world.delivered() if isinstance(d.effect, Notice)]


def test_a_meetings_rsvp_reminder_and_opening_run_at_their_times(world: MeetingWorld) -> None:
    world.say("schedule add weekly fri 18:30 Europe/London 90")
    _notices(world)
    with world.scheduler() as scheduler:
        # The jobs are kept in the database, by stable ids.
        assert _jobs(world) == {"rsvp:1", "remind:1", "open:1", "sync"}
        assert step(world, scheduler) == FRI_6 - timedelta(hours=48)
        world.answer_all(1, {"ana": Choice.BRINGING, "ben": Choice.GOING, "dev": Choice.GOING})
        assert step(world, scheduler) == FRI_6 - timedelta(hours=4)
        assert step(world, scheduler) == FRI_6
        # The next meeting and its jobs are planned as this one opens.
        assert _jobs(world) == {"rsvp:2", "remind:2", "open:2", "sync"}
    sent = [(at, n.kind, n.member) for at, n in _notices(world)]
    assert sent == [
        (FRI_6 - timedelta(hours=48), NoticeKind.RSVP, None),
        (FRI_6 - timedelta(hours=4), NoticeKind.REMINDER, "cleo"),
    ]
    session = world.session_of(1)
    assert session is not None and session.started_at == FRI_6
    assert world.service.state(session.id).members == ("ana", "ben", "dev")
    assert world.planned().starts_at == FRI_6 + timedelta(weeks=1)


# Weekly on Tuesdays at 18:30 local time, over weeks spanning the 2026 changes: the United
# States on 8 March and 1 November, the United Kingdom on 29 March and 25 October.
SPANS = {
    "spring": (
        utc(3, 2, 9, 0),
        {
            "Europe/London": [
                utc(3, 3, 18),
                utc(3, 10, 18),
                utc(3, 17, 18),
                utc(3, 24, 18),
                utc(3, 31, 17),  # British Summer Time
                utc(4, 7, 17),
            ],
            "America/New_York": [
                utc(3, 3, 23),
                utc(3, 10, 22),  # Eastern Daylight Time
                utc(3, 17, 22),
                utc(3, 24, 22),
                utc(3, 31, 22),
                utc(4, 7, 22),
            ],
        },
    ),
    "autumn": (
        utc(10, 12, 9, 0),
        {
            "Europe/London": [
                utc(10, 13, 17),
                utc(10, 20, 17),
                utc(10, 27, 18),  # Greenwich Mean Time
                utc(11, 3, 18),
                utc(11, 10, 18),
            ],
            "America/New_York": [
                utc(10, 13, 22),
                utc(10, 20, 22),
                utc(10, 27, 22),
                utc(11, 3, 23),  # Eastern Standard Time
                utc(11, 10, 23),
            ],
        },
    ),
}


@pytest.mark.parametrize("span", SPANS)
def test_weekly_meetings_keep_their_local_time_across_daylight_saving(
    db_url: str, tmp_path: Path, span: str
) -> None:
    start, expected = SPANS[span]
    world = make_world(db_url, tmp_path, start=start)
    sets = {"Europe/London": world.set_id, "America/New_York": world.another_set("owls", "C-o")}
    assert world.say("schedule add weekly tue 18:30 Europe/London 60").ok
    assert world.say("schedule add weekly tue 18:30 America/New_York 60", space="C-o").ok
    last = max(moment for moments in expected.values() for moment in moments)
    answered: set[int] = set()
    with world.scheduler() as scheduler:
        while (due := next_job(scheduler)) is not None and due <= last:
            step(world, scheduler)
            for set_id in sets.values():
                for meeting in world.meetings(set_id):
                    if meeting.rsvp_posted_at is not None and meeting.id not in answered:
                        world.answer_all(meeting.id, dict.fromkeys(MEMBERS, Choice.GOING))
                        answered.add(meeting.id)
                    session = world.session_of(meeting.id)
                    if session is not None and session.ended_at is None:
                        world.service.handle(session.id, FacilitatorCommand("ana", Command.END))
    for zone, set_id in sets.items():
        with session_factory(world.engine)() as db:
            started = db.scalars(
                select(SessionRecord.started_at)
                .where(SessionRecord.set_id == set_id)
                .order_by(SessionRecord.id)
            ).all()
        assert started == expected[zone], zone
        held = [m.starts_at for m in world.meetings(set_id) if m.status == "held"]
        assert held == expected[zone], zone
        local = [moment.astimezone(ZoneInfo(zone)) for moment in started]
        assert {moment.time() for moment in local} == {time(18, 30)}
        assert len({moment.utcoffset() for moment in local}) == 2  # the span crossed a change
    world.engine.dispose()


def _down_after_the_rsvp(world: MeetingWorld, back_at: datetime) -> None:
    """The scheduler posts Friday's RSVP, members answer, and the bot goes down until
    `back_at`; its jobs wait in the database."""
    world.say("schedule add weekly fri 18:30 Europe/London 90")
    with world.scheduler() as scheduler:
        step(world, scheduler)
    world.answer_all(1, dict.fromkeys(("ana", "ben", "cleo"), Choice.GOING))
    assert _jobs(world) == {"remind:1", "open:1", "sync"}
    world.clock.move_to(back_at)
    _notices(world)


def test_a_meeting_the_bot_missed_by_a_little_opens_late(world: MeetingWorld) -> None:
    _down_after_the_rsvp(world, FRI_6 + LATE_START - timedelta(minutes=1))
    with world.scheduler() as scheduler:
        scheduler.scheduler.run_due()
    session = world.session_of(1)
    assert session is not None and session.started_at == FRI_6 + timedelta(minutes=14)
    assert world.meeting(1).status == "open"
    # The reminder's time passed with the start: it is not sent after the meeting began.
    assert _notices(world) == []


def test_a_meeting_missed_by_more_is_announced_once_and_never_opened(world: MeetingWorld) -> None:
    _down_after_the_rsvp(world, FRI_6 + LATE_START + timedelta(minutes=1))
    for _ in range(2):  # the bot starts, and starts again
        with world.scheduler() as scheduler:
            scheduler.scheduler.run_due()
    assert world.meeting(1).status == "missed" and world.session_of(1) is None
    [(_, missed)] = _notices(world)
    assert missed.kind is NoticeKind.MISSED and missed.subject == 1
    assert world.planned().starts_at == FRI_6 + timedelta(weeks=1)


def test_a_meeting_whose_job_runs_too_late_is_announced_as_missed_once(
    world: MeetingWorld,
) -> None:
    """The scheduler was running but could not run the opening in time (say, the machine slept):
    APScheduler reports the job missed, and the set is told, once."""
    world.say("schedule add weekly fri 18:30 Europe/London 90")
    with world.scheduler() as scheduler:
        step(world, scheduler)
        world.answer_all(1, dict.fromkeys(("ana", "ben", "cleo"), Choice.GOING))
        _notices(world)
        world.clock.move_to(FRI_6 + timedelta(hours=1))
        scheduler.scheduler.run_due()
        assert world.meeting(1).status == "missed"
        scheduler.sync()
        assert world.desk.calendar.plan_all() == []
        assert [n.kind for _, n in _notices(world)] == [NoticeKind.MISSED]
        assert next_job(scheduler) == FRI_6 + timedelta(weeks=1) - timedelta(hours=48)
    assert world.session_of(1) is None


def test_the_rsvp_and_reminder_run_late_until_the_meeting_starts(world: MeetingWorld) -> None:
    world.say("schedule add weekly fri 18:30 Europe/London 90")
    with world.scheduler():
        pass  # started on Monday: nothing is due; then down until Friday afternoon
    back = FRI_6 - timedelta(hours=2)
    world.clock.move_to(back)
    _notices(world)
    with world.scheduler() as scheduler:
        scheduler.scheduler.run_due()
        sent = [(at, n.kind, n.member) for at, n in _notices(world)]
        assert sent == [
            (back, NoticeKind.RSVP, None),
            *((back, NoticeKind.REMINDER, member) for member in MEMBERS),
        ]
        world.answer_all(1, dict.fromkeys(("ana", "ben", "cleo"), Choice.GOING))
        run_until(world, scheduler, FRI_6)
    session = world.session_of(1)
    assert session is not None and session.started_at == FRI_6


def test_after_the_start_the_rsvp_and_reminder_are_not_sent(world: MeetingWorld) -> None:
    world.say("schedule add weekly fri 18:30 Europe/London 90")
    with world.scheduler():
        pass
    world.clock.move_to(FRI_6 + timedelta(minutes=5))
    _notices(world)
    with world.scheduler() as scheduler:
        scheduler.scheduler.run_due()
    # Nobody could answer, so the meeting that opens late has nobody going.
    [(_, called_off)] = _notices(world)
    assert called_off.kind is NoticeKind.CALLED_OFF
    assert world.meeting(1).status == "called_off"


def test_a_check_in_goes_out_however_late_the_bot_is_back(world: MeetingWorld) -> None:
    started = world.say("start")
    assert started.session_id is not None
    world.service.handle(started.session_id, RecordAction("ana", "ask Sam about the budget"))
    due = world.clock.now() + timedelta(days=7)
    with world.scheduler():
        assert "check-in:1" in _jobs(world)
    world.clock.move_to(due + timedelta(days=3))
    world.delivered()
    with world.scheduler() as scheduler:
        scheduler.scheduler.run_due()
    [(at, ping)] = _notices(world)
    assert (at, ping.kind, ping.member) == (due + timedelta(days=3), NoticeKind.CHECK_IN, "ana")
    with world.scheduler() as scheduler:
        scheduler.scheduler.run_due()
    assert _notices(world) == []


def test_one_scheduler_start_after_another_keeps_one_job_each(world: MeetingWorld) -> None:
    world.say("schedule add weekly fri 18:30 Europe/London 90")
    for _ in range(3):
        with world.scheduler() as scheduler:
            assert len(scheduler.scheduler.get_jobs()) == 4
    assert _jobs(world) == {"rsvp:1", "remind:1", "open:1", "sync"}
    world.clock.move_to(FRI_6 - timedelta(hours=48))
    with world.scheduler() as scheduler:
        scheduler.scheduler.run_due()
    assert [n.kind for _, n in _notices(world)] == [NoticeKind.SCHEDULE, NoticeKind.RSVP]
