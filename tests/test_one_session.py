"""At most one unfinished session a set: two starts at once give one session and one clear
answer; a scheduled meeting that finds a session running is called off, saying so; and a
database that already had several is mended by its migration."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.commands import Start
from bot.engine import start
from bot.engine.effects import Choice, NoticeKind
from bot.protocol import load_shipped
from bot.service.desk import Answer
from bot.service.sessions import SessionService
from bot.store import SessionRecord, make_engine, session_factory, upgrade
from tests.meeting_helpers import MeetingWorld, NoSpaces, make_world

TUE_3 = datetime(2026, 3, 3, 18, 30, tzinfo=UTC)
ALREADY = "A session is already running in this set: /peer status shows where."


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[MeetingWorld]:
    world = make_world(db_url, tmp_path)
    yield world
    world.engine.dispose()


def _unfinished(world: MeetingWorld) -> list[int]:
    with session_factory(world.engine)() as db:
        return list(
            db.scalars(
                select(SessionRecord.id).where(
                    SessionRecord.set_id == world.set_id, SessionRecord.status != "ended"
                )
            )
        )


def test_two_starts_at_once_give_one_session_and_one_refusal(world: MeetingWorld) -> None:
    start = threading.Barrier(2)
    answers: list[Answer] = []
    problems: list[BaseException] = []

    def press_start(member: str) -> None:
        try:
            start.wait(10)
            answers.append(world.desk.answer(Start(), world.caller(member), NoSpaces()))
        except BaseException as exc:  # collected, so the test names it
            problems.append(exc)

    threads = [threading.Thread(target=press_start, args=(m,)) for m in ("ana", "ben")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert problems == []
    assert sorted(a.ok for a in answers) == [False, True]
    [refused] = [a for a in answers if not a.ok]
    assert refused.text == ALREADY
    [winner] = _unfinished(world)
    assert refused.session_id == winner


def test_a_meeting_that_finds_a_session_running_is_called_off_saying_so(
    world: MeetingWorld,
) -> None:
    assert world.say("schedule add weekly tue 18:30 Europe/London 90").ok
    world.answer_all(1, dict.fromkeys(("ana", "ben", "cleo"), Choice.GOING))
    running = world.say("start", "dev")
    assert running.ok and running.session_id is not None
    world.notices()  # what came before
    world.clock.move_to(TUE_3)
    opened = world.desk.meetings.open(1)
    assert opened.session_id is None
    assert world.meeting(1).status == "called_off"
    [notice] = [n for n in world.notices() if n.kind is NoticeKind.CALLED_OFF]
    assert "A session is already running in this set; end it to meet as planned." in notice.text
    assert _unfinished(world) == [running.session_id]


def test_the_migration_ends_all_but_each_sets_newest_unfinished_session(
    db_url: str, tmp_path: Path
) -> None:
    upgrade(db_url, "0003")
    engine = make_engine(db_url)
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    state, _ = start(load_shipped("peer-mentoring-round"), ("a", "b", "c"), now=now)
    try:
        # Written as the schema of 0003 stood, with plain SQL.
        with engine.begin() as connection:
            tenant = connection.execute(
                sa.text(
                    "INSERT INTO tenants (platform, external_id, name, created_at) "
                    "VALUES ('console', 'local', '', :now) RETURNING id"
                ),
                {"now": now},
            ).scalar_one()
            sets = {
                name: connection.execute(
                    sa.text(
                        "INSERT INTO sets (tenant_id, name, protocol, facilitated, "
                        "keep_transcripts, created_at) "
                        "VALUES (:tenant, :name, 'peer-mentoring-round', false, false, :now) "
                        "RETURNING id"
                    ),
                    {"tenant": tenant, "name": name, "now": now},
                ).scalar_one()
                for name in ("one", "two")
            }

            def begin(set_id: int) -> int:
                found: int = connection.execute(
                    sa.insert(SessionRecord.__table__)
                    .values(
                        tenant_id=tenant,
                        set_id=set_id,
                        protocol_name="peer-mentoring-round",
                        state=state.to_dict(),
                        version=1,
                        status="running",
                        started_at=now,
                    )
                    .returning(SessionRecord.__table__.c.id)
                ).scalar_one()
                return found

            old, older, newest = begin(sets["one"]), begin(sets["one"]), begin(sets["one"])
            alone = begin(sets["two"])
        upgrade(db_url)
        service = SessionService(engine, _Clock())
        assert service.state(old).ended and service.state(older).ended
        assert not service.state(newest).ended and not service.state(alone).ended
        assert service.unfinished(sets["one"]) == newest
        with pytest.raises(IntegrityError), engine.begin() as connection:
            begin(sets["one"])
    finally:
        engine.dispose()


class _Clock:
    def now(self) -> datetime:
        return datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
