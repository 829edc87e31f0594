"""`peerset run scheduler` as real processes on one database, on a virtual clock (a file the test
moves on): meetings open only because a stored APScheduler job fired in such a process, across
restarts, downtime, a leader's death, and with the lock bypassed.

The sets and schedules are made with the `peerset` command line; after that, nothing here runs a
job or opens a meeting: it moves the clock, kills processes and reads the database.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from adapters.cli import main
from bot.clock import FileClock
from bot.store import Meeting, OutboxEntry, PeerSet, SessionRecord, make_engine
from tests.process_helpers import Peerset, eventually, peerset_env, processes

# A Monday, before 13:00 and 14:00 meetings that day (London is on UTC in November).
NOON = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
MEMBERS = ("alice", "bob", "carol")
# The processes' local time zone: their lines are stamped in it (14:00 UTC is 15:00 there).
LOCAL_ZONE = "Europe/Paris"
SCHEDULING = "scheduling meetings"
WAITING = "another worker schedules; waiting to take over"


@dataclass(frozen=True)
class World:
    env: dict[str, str]
    clock: Path
    engine: Engine
    home: Path

    def move_clock(self, moment: datetime) -> None:
        FileClock.write(self.clock, moment)


@pytest.fixture
def world(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    clock = tmp_path / "clock"
    FileClock.write(clock, NOON)
    env = peerset_env(
        tmp_path / "data",
        PEERSET_DATABASE_URL=db_url,
        PEERSET_CLOCK_FILE=str(clock),
        PEERSET_SCHEDULER_RETRY_SECONDS="0.2",
        PEERSET_SCHEDULER_SYNC_SECONDS="5",
    )
    env["TZ"] = LOCAL_ZONE
    # The command line run in this process (to make sets) sees the same settings.
    for name in [n for n in os.environ if n.startswith("PEERSET_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if name.startswith("PEERSET_"):
            monkeypatch.setenv(name, value)
    engine = make_engine(db_url)
    yield World(env, clock, engine, tmp_path)
    engine.dispose()


def _schedule(world: World, set_name: str, at: str, going: tuple[str, ...] = MEMBERS) -> int:
    """Make a console set meeting on Mondays at `at` (London) with `peerset schedule add`, and
    have `going` say they will come (`peerset bid`); returns the first meeting's id."""
    words = f"add weekly mon {at} Europe/London 60 rsvp 2h remind 1h".split()
    assert main(["schedule", *words, "--set", set_name, "--members", ",".join(MEMBERS)]) == 0
    for member in going:
        assert main(["bid", "--set", set_name, "--as", member]) == 0
    return _meetings(world.engine, set_name)[0][0]


def _meetings(engine: Engine, set_name: str) -> list[tuple[int, str, datetime]]:
    """The set's meetings, in order: id, status, start."""
    with engine.connect() as db:
        rows = db.execute(
            select(Meeting.id, Meeting.status, Meeting.starts_at)
            .join(PeerSet, PeerSet.id == Meeting.set_id)
            .where(PeerSet.name == set_name)
            .order_by(Meeting.number)
        ).all()
    return [(meeting_id, status, start) for meeting_id, status, start in rows]


def _status(engine: Engine, meeting_id: int) -> str:
    with engine.connect() as db:
        return str(db.scalar(select(Meeting.status).where(Meeting.id == meeting_id)))


def _jobs(engine: Engine) -> set[str]:
    with engine.connect() as db:
        return set(db.scalars(text("SELECT id FROM apscheduler_jobs")).all())


def _jobs_of(meeting_id: int) -> set[str]:
    """The jobs a planned meeting has: its RSVP, its reminder and its opening."""
    return {f"{job}:{meeting_id}" for job in ("rsvp", "remind", "open")}


def _sessions_of(engine: Engine, meeting_id: int) -> int:
    with engine.connect() as db:
        found = db.scalar(
            select(func.count())
            .select_from(SessionRecord)
            .where(SessionRecord.meeting_id == meeting_id)
        )
        return int(found or 0)


def _outbox(engine: Engine, prefix: str) -> list[tuple[str, bool]]:
    """Outbox entries whose effect id starts with `prefix`: (effect id, delivered)."""
    with engine.connect() as db:
        rows = db.execute(
            select(OutboxEntry.effect_id, OutboxEntry.delivered_at).where(
                OutboxEntry.effect_id.startswith(prefix)
            )
        ).all()
    return [(effect_id, delivered is not None) for effect_id, delivered in rows]


def _undelivered(engine: Engine) -> int:
    with engine.connect() as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(OutboxEntry)
                .where(OutboxEntry.delivered_at.is_(None))
            )
            or 0
        )


def _told(worker: Peerset) -> list[str]:
    """What the worker said about scheduling, in order (its log lines left out)."""
    return [line for line in worker.said() if line in (SCHEDULING, WAITING)]


def _lines(output: str) -> list[str]:
    """Delivered lines (each starts with its stamp), without the continuation lines of a post."""
    return [line for line in output.splitlines() if line.startswith("[")]


def test_a_meeting_opens_when_its_stored_job_fires_in_a_scheduler_process(world: World) -> None:
    meeting = _schedule(world, "leaders", "14:00")
    with processes(world.env, world.home) as start:
        worker = start("run", "scheduler")
        worker.wait_until_said(SCHEDULING)
        eventually("the opening job is stored", lambda: f"open:{meeting}" in _jobs(world.engine))
        # The RSVP was due at noon: the worker posts it to the set.
        worker.wait_until_printed(
            "[2026-11-16 13:00] peerset: Meeting 1 is Mon 16 Nov 2026 14:00 Europe/London"
        )
        assert _sessions_of(world.engine, meeting) == 0
        assert _status(world.engine, meeting) == "planned"

        world.move_clock(NOON + timedelta(hours=2, seconds=30))
        eventually("the meeting's session starts", lambda: _sessions_of(world.engine, meeting))
        worker.wait_until_printed("[2026-11-16 15:00] peerset: The rota: ")
        assert _status(world.engine, meeting) == "open"
        eventually(
            "the next meeting is planned and its jobs stored",
            lambda: (
                len(_meetings(world.engine, "leaders")) == 2
                and _jobs_of(_meetings(world.engine, "leaders")[1][0]) <= _jobs(world.engine)
            ),
        )
        assert worker.stop() == 0  # SIGTERM: a clean stop

    out = worker.printed()
    assert out.count('peerset: opened a private space "Peer mentoring round"') == 1
    assert "peerset: Updates: nobody has action items from earlier meetings yet." in out
    assert _told(worker) == [SCHEDULING]
    assert "Traceback" not in "".join(worker.err)


def test_after_downtime_a_meeting_a_little_late_opens_once_and_one_long_past_is_missed(
    world: World,
) -> None:
    # Two sets: the bot will be down from before 13:00 until 13:45.
    long_past = _schedule(world, "north", "13:00")
    a_little_late = _schedule(world, "south", "13:40")
    with processes(world.env, world.home) as start:
        first = start("run", "scheduler")
        first.wait_until_said(SCHEDULING)
        eventually(
            "both opening jobs are stored",
            lambda: {f"open:{long_past}", f"open:{a_little_late}"} <= _jobs(world.engine),
        )
        first.kill()
        world.move_clock(NOON + timedelta(hours=1, minutes=45))  # late_start_minutes is 15
        second = start("run", "scheduler")
        eventually(
            "the meeting 5 minutes late opens", lambda: _sessions_of(world.engine, a_little_late)
        )
        eventually(
            "the set is told its meeting was missed",
            lambda: _outbox(world.engine, f"missed.{long_past}") == [(f"missed.{long_past}", True)],
        )
        second.wait_until_printed("did not open: the bot was not running then")
        second.wait_until_printed("peerset: The rota: ")
        eventually(
            "the missed meeting's set has its next meeting planned, and its job stored",
            lambda: (
                len(_meetings(world.engine, "north")) == 2
                and f"open:{_meetings(world.engine, 'north')[1][0]}" in _jobs(world.engine)
            ),
        )
        assert second.stop() == 0

    assert _status(world.engine, long_past) == "missed"
    assert _sessions_of(world.engine, long_past) == 0
    assert _status(world.engine, a_little_late) == "open"
    assert _sessions_of(world.engine, a_little_late) == 1
    _, status, starts_at = _meetings(world.engine, "north")[1]
    assert (status, starts_at) == ("planned", NOON + timedelta(days=7, hours=1))
    out = second.printed()
    assert out.count("did not open: the bot was not running then") == 1
    assert "Meeting 1, planned for Mon 16 Nov 2026 13:00 Europe/London, did not open" in out
    assert out.count("peerset: opened a private space") == 1
    assert _outbox(world.engine, f"missed.{a_little_late}") == []


def test_when_the_scheduling_worker_dies_the_waiting_one_takes_over(world: World) -> None:
    meeting = _schedule(world, "leaders", "14:00")
    with processes(world.env, world.home) as start:
        workers = [start("run", "scheduler"), start("run", "scheduler")]
        eventually("each worker says where it stands", lambda: all(map(_told, workers)))
        eventually("the opening job is stored", lambda: f"open:{meeting}" in _jobs(world.engine))
        assert sorted(_told(worker)[0] for worker in workers) == [WAITING, SCHEDULING]
        leader, waiting = workers if _told(workers[0]) == [SCHEDULING] else workers[::-1]

        leader.kill()
        waiting.wait_until_said(SCHEDULING)
        world.move_clock(NOON + timedelta(hours=2, seconds=30))
        eventually("the meeting's session starts", lambda: _sessions_of(world.engine, meeting))
        waiting.wait_until_printed("peerset: The rota: ")
        assert waiting.stop() == 0

    assert _told(leader) == [SCHEDULING]
    assert _told(waiting) == [WAITING, SCHEDULING]
    assert _status(world.engine, meeting) == "open"


def test_with_the_lock_bypassed_two_schedulers_still_open_a_meeting_once(world: World) -> None:
    meeting = _schedule(world, "leaders", "14:00")
    bypass = {"PEERSET_SCHEDULER_LOCK": "false", "PEERSET_LOG_LEVEL": "INFO"}
    with processes(world.env, world.home) as start:
        workers = [start("run", "scheduler", **bypass), start("run", "scheduler", **bypass)]
        for worker in workers:
            worker.wait_until_said(SCHEDULING)
        eventually("the opening job is stored", lambda: f"open:{meeting}" in _jobs(world.engine))
        world.move_clock(NOON + timedelta(hours=2, seconds=30))
        eventually("the meeting's session starts", lambda: _sessions_of(world.engine, meeting))
        eventually("everything is delivered", lambda: _undelivered(world.engine) == 0)
        eventually(
            "the rota is shown",
            lambda: any("peerset: The rota: " in worker.printed() for worker in workers),
        )
        for worker in workers:
            assert worker.stop() == 0

    assert _sessions_of(world.engine, meeting) == 1
    assert _status(world.engine, meeting) == "open"
    assert len(_outbox(world.engine, f"rsvp.{meeting}.")) == 1
    shown = Counter(line for worker in workers for line in _lines(worker.printed()))
    assert [line for line, times in shown.items() if times > 1] == []
    with world.engine.connect() as db:
        entries = db.scalar(select(func.count()).select_from(OutboxEntry))
    assert sum(shown.values()) == entries  # each entry shown once, by one of the two
