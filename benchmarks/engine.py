"""How fast Peerset runs sessions: the pure engine, the service on a database, the dispatcher.

    python benchmarks/engine.py

Prints one JSON line per measurement:

    {"benchmark": ..., "database": ..., "value": ..., "unit": ..., "count": ..., "seconds": ...}

- `engine_transitions_per_second`: `bot.engine.step` calls, replaying whole sessions of
  peer-mentoring-round with 5 members (no database).
- `service_events_per_second`: `SessionService.handle` calls, each one transaction (idempotency
  check, load, step, save, outbox append), on SQLite and on PostgreSQL.
- `dispatch_effects_per_second`: outbox entries delivered by a `Dispatcher` to an in-memory
  deliverer (two transactions each, plus the erase checkpoint on SQLite).
- `scheduler_sync_sets_per_second`: the meeting scheduler bringing its APScheduler jobs (kept in
  the database) up to date with `MEETING_SETS` newly scheduled sets: planning each set's meeting
  and storing its RSVP, reminder and opening jobs.
- `meetings_opened_per_second`: those meetings' opening jobs fired by APScheduler at their start
  (each choosing presenters by the rota and starting a session for the 4 of 5 going).

PostgreSQL comes from `PEERSET_BENCH_POSTGRES_URL` (default: a local server, user postgres,
database test); the benchmark works in a schema of its own, dropped afterwards. When the server
cannot be reached, its lines say why instead of giving a value.

Every measurement is bounded in count and in time, so the whole run takes well under a minute.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from bot.app import Peerset
from bot.clock import VirtualClock
from bot.engine import SessionState, start, step
from bot.engine.effects import Choice
from bot.engine.events import (
    Agree,
    Command,
    Done,
    Event,
    FacilitatorCommand,
    MessagePosted,
    RecordAction,
    Tick,
)
from bot.protocol import EndRule, Protocol, Speaking, load_shipped
from bot.protocol.model import TURN_TAKING
from bot.schedule import parse_recurrence
from bot.service import Delivery, Dispatcher, Receipt, SessionService
from bot.service.calendar import Leads
from bot.service.directory import ensure_set, ensure_tenant
from bot.settings import Settings
from bot.store import Meeting, SessionRecord, make_engine, session_factory, upgrade

PROTOCOL = "peer-mentoring-round"
MEMBERS = ("ana", "ben", "cleo", "dev", "eli")
PACE = timedelta(seconds=10)  # virtual time between two events of the script

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

ENGINE_MIN_SECONDS = 2.0
ENGINE_MAX_STEPS = 2_000_000
SERVICE_MAX_SECONDS = 3.0
SERVICE_MAX_EVENTS = 20_000
DISPATCH_MAX_SECONDS = 3.0
DISPATCH_MAX_EFFECTS = 20_000
DISPATCH_BATCH = 200
MEETING_SETS = 100

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def report(
    benchmark: str,
    database: str | None,
    count: int,
    seconds: float,
    unit: str,
    **extra: Any,
) -> None:
    value = round(count / seconds, 1) if seconds > 0 else None
    line = {
        "benchmark": benchmark,
        "database": database,
        "value": value,
        "unit": unit,
        "count": count,
        "seconds": round(seconds, 3),
        **extra,
    }
    print(json.dumps(line), flush=True)


def skipped(benchmark: str, database: str, unit: str, reason: str) -> None:
    line = {
        "benchmark": benchmark,
        "database": database,
        "value": None,
        "unit": unit,
        "count": 0,
        "seconds": 0.0,
        "skipped": reason,
    }
    print(json.dumps(line), flush=True)


# --- the script -----------------------------------------------------------------------------


def scripted_session(protocol: Protocol, members: tuple[str, ...]) -> list[Event]:
    """The events of one whole session played by a well-behaved group, one every `PACE`.

    The script is found once by driving the engine and reading whose turn it is; the benchmarks
    then replay it. Replaying the same events at the same pace gives the same session.
    """
    state, _ = start(protocol, members, now=T0)
    now = T0
    events: list[Event] = []

    def feed(event: Event) -> None:
        nonlocal state, now
        now += PACE
        state, _ = step(state, event, now)
        events.append(event)

    for _ in range(100):
        if state.ended:
            return events
        index, phase, presenter = state.index, state.phase, state.presenter
        if phase.contract is not None:
            for member in members:
                if not state.ended and state.index == index and member not in state.agreed:
                    feed(Agree(member))
        elif phase.speaking in TURN_TAKING:
            while state.index == index and state.turn and state.turn not in state.had_turn:
                holder = state.turn
                feed(MessagePosted(holder, "That reminds me of when I kept quiet too long."))
                if presenter is not None:
                    # An answer in Q&A; a note, held for the presenter, while they listen.
                    feed(MessagePosted(presenter, "It had been building for a month."))
                feed(Done(holder))
                feed(Tick())
        elif phase.speaking is Speaking.PRESENTER_ONLY and presenter is not None:
            feed(MessagePosted(presenter, "The project slipped and I told the team late."))
            if phase.asks_for_actions:
                feed(RecordAction(presenter, "Talk to my team lead by Friday"))
            feed(Tick())
            if EndRule.PRESENTER in phase.ends_by:
                feed(Done(presenter))
        else:
            for member in members:
                feed(MessagePosted(member, "That worked for me."))
        if not state.ended and state.index == index:
            feed(FacilitatorCommand(members[0], Command.NEXT))
    if not state.ended:
        raise RuntimeError(f"the scripted {protocol.name} session did not end")
    return events


# --- (a) the pure engine --------------------------------------------------------------------


def bench_engine(protocol: Protocol, script: list[Event]) -> None:
    steps = sessions = 0
    began = time.perf_counter()
    elapsed = 0.0
    while elapsed < ENGINE_MIN_SECONDS and steps + len(script) <= ENGINE_MAX_STEPS:
        state: SessionState
        state, _ = start(protocol, MEMBERS, now=T0)
        now = T0
        for event in script:
            now += PACE
            state, _ = step(state, event, now)
        if not state.ended:
            raise RuntimeError("a replayed session did not end")
        steps += len(script)
        sessions += 1
        elapsed = time.perf_counter() - began
    report(
        "engine_transitions_per_second",
        None,
        steps,
        elapsed,
        "steps/s",
        sessions=sessions,
        events_per_session=len(script),
    )


# --- (b) the service, (c) the dispatcher -------------------------------------------------------


class MemoryDeliverer:
    """A platform that accepts everything at once and remembers what it was given."""

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self._ids: set[str] = set()

    def deliver(self, delivery: Delivery) -> Receipt:
        self.delivered.append(delivery.effect_id)
        self._ids.add(delivery.effect_id)
        return Receipt()

    def already_delivered(self, delivery: Delivery) -> Receipt | None:
        return Receipt() if delivery.effect_id in self._ids else None


@dataclass
class ServiceRun:
    events: int
    seconds: float
    sessions: int


def bench_service(url: str, database: str, protocol: Protocol, script: list[Event]) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine).begin() as db:
            tenant = ensure_tenant(db, "bench", f"bench-{uuid.uuid4().hex[:8]}", "Benchmarks")
            peer_set = ensure_set(db, tenant.id, "bench set", PROTOCOL, [(m, m) for m in MEMBERS])
            tenant_id, set_id = tenant.id, peer_set.id
        clock = VirtualClock(T0)
        service = SessionService(engine, clock)
        run = _drive_service(service, clock, tenant_id, set_id, protocol, script)
        report(
            "service_events_per_second",
            database,
            run.events,
            run.seconds,
            "events/s",
            sessions=run.sessions,
        )
        _bench_dispatch(engine, clock, database)
        _bench_meetings(engine, database)
    finally:
        engine.dispose()


def _drive_service(
    service: SessionService,
    clock: VirtualClock,
    tenant_id: int,
    set_id: int,
    protocol: Protocol,
    script: list[Event],
) -> ServiceRun:
    handled = sessions = 0
    began = time.perf_counter()
    elapsed = 0.0
    while elapsed < SERVICE_MAX_SECONDS and handled + len(script) <= SERVICE_MAX_EVENTS:
        session_id = service.start_session(
            tenant_id=tenant_id, set_id=set_id, protocol=protocol, members=MEMBERS
        )
        outcome = None
        for number, event in enumerate(script):
            clock.advance(PACE)
            outcome = service.handle(session_id, event, event_key=f"{session_id}:{number}")
        if outcome is None or not outcome.state.ended:
            raise RuntimeError("a session driven through the service did not end")
        handled += len(script)
        sessions += 1
        clock.advance(timedelta(hours=1))
        elapsed = time.perf_counter() - began
    return ServiceRun(handled, elapsed, sessions)


def _bench_dispatch(engine: Any, clock: VirtualClock, database: str) -> None:
    deliverer = MemoryDeliverer()
    dispatcher = Dispatcher(engine, deliverer, clock)
    delivered = 0
    began = time.perf_counter()
    elapsed = 0.0
    while elapsed < DISPATCH_MAX_SECONDS and delivered < DISPATCH_MAX_EFFECTS:
        batch = min(DISPATCH_BATCH, DISPATCH_MAX_EFFECTS - delivered)
        done = dispatcher.deliver_pending(limit=batch)
        delivered += done
        elapsed = time.perf_counter() - began
        if done == 0:
            break
    if delivered != len(deliverer.delivered):
        raise RuntimeError("the dispatcher counted deliveries the deliverer never saw")
    report("dispatch_effects_per_second", database, delivered, elapsed, "effects/s")


def _bench_meetings(engine: Any, database: str) -> None:
    clock = VirtualClock(T0)
    root = Peerset(Settings(scheduler_sync_seconds=86400.0), engine, clock)
    calendar = root.calendar
    recurrence = parse_recurrence("weekly wed 18:30 Europe/London 90", T0.date())
    leads = Leads(rsvp_hours=48, reminder_hours=4, check_in_days=7)
    tenant_ids: list[int] = []
    with session_factory(engine).begin() as db:
        tenant = ensure_tenant(db, "bench", f"meetings-{uuid.uuid4().hex[:8]}", "Benchmarks")
        set_ids = [
            ensure_set(db, tenant.id, f"set {n}", PROTOCOL, [(m, m) for m in MEMBERS]).id
            for n in range(MEETING_SETS)
        ]
        tenant_ids.append(tenant.id)
    meetings = [calendar.add(set_id, recurrence, leads, MEMBERS[0]) for set_id in set_ids]
    scheduler = root.meeting_scheduler(stepped=True)
    began = time.perf_counter()
    scheduler.start()  # the first sync: every set's jobs into the job store
    report(
        "scheduler_sync_sets_per_second",
        database,
        len(set_ids),
        time.perf_counter() - began,
        "sets/s",
    )
    answers = root.meetings
    for meeting in meetings:
        for member in MEMBERS[:4]:
            answers.answer(tenant_ids[0], member, meeting.id, Choice.BRINGING)
    clock.move_to(meetings[0].starts_at)
    began = time.perf_counter()
    scheduler.scheduler.run_due()
    elapsed = time.perf_counter() - began
    scheduler.shutdown()
    with session_factory(engine)() as db:
        opened = db.scalar(
            select(func.count())
            .select_from(SessionRecord)
            .where(SessionRecord.meeting_id.in_([m.id for m in meetings]))
        )
        still = db.scalar(
            select(func.count())
            .select_from(Meeting)
            .where(Meeting.id.in_([m.id for m in meetings]), Meeting.status == "planned")
        )
    if opened != len(meetings) or still:
        raise RuntimeError(f"{opened} of {len(meetings)} meetings opened; {still} still planned")
    report("meetings_opened_per_second", database, len(meetings), elapsed, "meetings/s")


# --- PostgreSQL -------------------------------------------------------------------------------


@contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    server = create_engine(make_url(server_url), connect_args={"connect_timeout": 5})
    schema = f"bench_{uuid.uuid4().hex[:16]}"
    try:
        with server.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = server.url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        try:
            with server.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '10s'"))
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            server.dispose()


def postgres_problem(server_url: str) -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers."""
    try:
        url = make_url(server_url)
        where = url.render_as_string(hide_password=True)
        engine = create_engine(url, connect_args={"connect_timeout": 5})
    except Exception as exc:
        return f"cannot use PEERSET_BENCH_POSTGRES_URL: {type(exc).__name__}: {exc}"
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        orig = getattr(exc, "orig", None) or exc
        first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        return f"PostgreSQL unreachable at {where}: {first}"
    finally:
        engine.dispose()
    return None


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    protocol = load_shipped(PROTOCOL)
    script = scripted_session(protocol, MEMBERS)

    bench_engine(protocol, script)

    with tempfile.TemporaryDirectory(prefix="peerset-bench-") as tmp:
        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        bench_service(sqlite_url, "sqlite", protocol, script)

    server_url = os.environ.get("PEERSET_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    problem = postgres_problem(server_url)
    if problem is not None:
        skipped("service_events_per_second", "postgresql", "events/s", problem)
        skipped("dispatch_effects_per_second", "postgresql", "effects/s", problem)
        skipped("scheduler_sync_sets_per_second", "postgresql", "sets/s", problem)
        skipped("meetings_opened_per_second", "postgresql", "meetings/s", problem)
    else:
        with postgres_schema(server_url) as url:
            bench_service(url, "postgresql", protocol, script)
    return 0


if __name__ == "__main__":
    sys.exit(main())
