"""The lifecycles as tables: a meeting's statuses and a session's, the moves each table allows,
that the code makes only those moves (and all of them), and that everything else is a bug."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.engine import EngineBug, SessionState, Status, start
from bot.engine.effects import Choice
from bot.engine.events import Agree, Command, FacilitatorCommand
from bot.engine.session import move as move_session
from bot.engine.state import STATUS_MOVES
from bot.service import lifecycle
from bot.service.lifecycle import (
    FINAL,
    MOVES,
    IllegalTransition,
    MeetingStatus,
    move,
    move_where,
)
from bot.store import Meeting, session_factory
from tests.engine_helpers import ANA, BEN, CLEO, T0, protocol
from tests.meeting_helpers import MeetingWorld, make_world

ROOT = Path(__file__).resolve().parent.parent
TUE_3 = datetime(2026, 3, 3, 18, 30, tzinfo=UTC)
TUE_17 = datetime(2026, 3, 17, 18, 30, tzinfo=UTC)
TUE_24 = datetime(2026, 3, 24, 18, 30, tzinfo=UTC)
PAIRS = list(itertools.product(MeetingStatus, repeat=2))
EDGES = {(source, target) for source, onward in MOVES.items() for target in onward}


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[MeetingWorld]:
    world = make_world(db_url, tmp_path)
    assert world.say("schedule add weekly tue 18:30 Europe/London 90").ok
    yield world
    world.engine.dispose()


def test_statuses_are_the_values_stored_before_the_enum() -> None:
    # The column keeps these strings: a new value would need a migration of old rows.
    assert [s.value for s in MeetingStatus] == [
        "planned",
        "open",
        "held",
        "called_off",
        "missed",
        "skipped",
        "cancelled",
    ]
    assert MeetingStatus.CALLED_OFF.wording == "called off"
    assert set(MOVES) == set(MeetingStatus)


def test_every_move_the_code_makes_is_in_the_table_and_every_move_is_made(
    world: MeetingWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[tuple[MeetingStatus, MeetingStatus]] = []
    check = lifecycle.check

    def recording(source: MeetingStatus, target: MeetingStatus) -> None:
        made.append((source, target))
        check(source, target)

    monkeypatch.setattr(lifecycle, "check", recording)
    meetings, calendar = world.desk.meetings, world.desk.calendar

    # Meeting 1 opens for three and is held.
    world.answer_all(1, dict.fromkeys(("ana", "ben", "cleo"), Choice.GOING))
    world.clock.move_to(TUE_3)
    session_id = meetings.open(1).session_id
    assert session_id is not None
    world.service.handle(session_id, Agree("ana"))
    world.service.handle(session_id, FacilitatorCommand("ben", Command.END))
    # Meeting 2 is skipped; meeting 3 passes while the bot is down.
    calendar.plan_all()
    assert world.say("schedule skip-next").ok
    world.clock.move_to(TUE_17 + timedelta(minutes=16))
    assert calendar.plan_all() == [3]
    # Meeting 4 opens with nobody going and is called off; meeting 5 is cancelled.
    world.clock.move_to(TUE_24)
    assert meetings.open(4).session_id is None
    calendar.plan_all()
    assert world.say("schedule cancel").ok

    assert [m.status for m in world.meetings()] == [
        MeetingStatus.HELD,
        MeetingStatus.SKIPPED,
        MeetingStatus.MISSED,
        MeetingStatus.CALLED_OFF,
        MeetingStatus.CANCELLED,
    ]
    assert set(made) == EDGES


def test_no_code_outside_the_lifecycle_writes_a_meetings_status() -> None:
    writes = re.compile(
        r"meeting\.status\s*=[^=]|update\(Meeting\)|status=MeetingStatus\.(?!PLANNED)"
    )
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path.name == "lifecycle.py":
            continue
        found = writes.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path.relative_to(ROOT)} changes a meeting's status: {found}"


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=lambda s: str(s))
def test_the_table_decides_every_move(source: MeetingStatus, target: MeetingStatus) -> None:
    meeting = Meeting(status=source.value)
    if (source, target) in EDGES:
        move(meeting, target)
        assert meeting.status == target
    else:
        with pytest.raises(IllegalTransition, match=f"from {source} to {target}"):
            move(meeting, target)
        assert meeting.status == source


def test_a_refused_conditional_update_changes_nothing(world: MeetingWorld) -> None:
    with session_factory(world.engine).begin() as db:
        [meeting] = db.scalars(select(Meeting)).all()
        for source, target in PAIRS:
            if (source, target) in EDGES:
                continue
            meeting.status = source.value
            db.flush()
            with pytest.raises(IllegalTransition):
                move_where(db, source, target, Meeting.id == meeting.id)
            db.expire_all()
            assert meeting.status == source


@pytest.mark.parametrize("final", sorted(FINAL))
def test_a_final_status_has_no_way_out(final: MeetingStatus) -> None:
    for target in MeetingStatus:
        with pytest.raises(IllegalTransition):
            move(Meeting(status=final.value), target)


def test_the_final_statuses_are_the_ends_of_a_meetings_life() -> None:
    assert {
        MeetingStatus.HELD,
        MeetingStatus.CALLED_OFF,
        MeetingStatus.MISSED,
        MeetingStatus.SKIPPED,
        MeetingStatus.CANCELLED,
    } == FINAL
    # Every status can be reached from a planned meeting.
    reached, frontier = {MeetingStatus.PLANNED}, [MeetingStatus.PLANNED]
    while frontier:
        onward = MOVES[frontier.pop()] - reached
        reached |= onward
        frontier.extend(onward)
    assert reached == set(MeetingStatus)


def _session(status: Status) -> SessionState:
    state, _ = start(protocol("peer-mentoring-round"), (ANA, BEN, CLEO), now=T0)
    return state.evolve(status=status)


@pytest.mark.parametrize(
    ("source", "target"), list(itertools.product(Status, repeat=2)), ids=lambda s: str(s)
)
def test_the_engine_moves_a_session_only_as_its_table_allows(
    source: Status, target: Status
) -> None:
    if target in STATUS_MOVES[source]:
        assert move_session(_session(source), target).status is target
    else:
        with pytest.raises(EngineBug, match=f"from {source} to {target}"):
            move_session(_session(source), target)


def test_an_ended_session_has_no_way_out() -> None:
    assert not STATUS_MOVES[Status.ENDED]
    assert set(STATUS_MOVES) == set(Status)
