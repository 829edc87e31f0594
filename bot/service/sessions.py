"""The one door every adapter uses to run a session.

Each inbound event is one transaction: skip it if its event key was seen, load the session, step
the engine, save the new state (its version checked, so two workers never both advance one
session), append the effects to the outbox, record action items. A crash between any two lines
leaves either all of that or none of it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from bot.clock import Clock
from bot.engine import SessionState, Status, start, step
from bot.engine.effects import Effect, Nudge, Post, RecordActionItem, effect_to_dict
from bot.engine.events import Event, Tick
from bot.protocol import Protocol
from bot.service.attendance import meeting_held, took_part
from bot.service.directory import member_ids
from bot.store import (
    ActionItem,
    OutboxEntry,
    PeerSet,
    ProcessedEvent,
    SessionRecord,
    session_factory,
)

log = logging.getLogger(__name__)

# How often a step is retried when another worker advanced the same session first.
_VERSION_RETRIES = 5


class UnknownSession(LookupError):
    """No session has that id."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What handling one event did."""

    applied: bool  # False: the event key was seen before, nothing changed
    state: SessionState
    effects: tuple[Effect, ...] = ()


class SessionService:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._sessions = session_factory(engine)

    # --- starting -----------------------------------------------------------------------------

    def start_session(
        self,
        *,
        tenant_id: int,
        set_id: int,
        protocol: Protocol,
        members: tuple[str, ...],
        presenters: tuple[str, ...] = (),
        facilitator: str | None = None,
        thread_id: str | None = None,
        event_key: str | None = None,
    ) -> int:
        """Start a session of `protocol` for a set; returns the session's id.

        Raises `bot.engine.SetupError` (with a message for the member) when it cannot start.
        With an `event_key` seen before, returns the session that key started.
        """
        now = self.clock.now()
        with self._sessions.begin() as db:
            if event_key is not None:
                seen = db.get(ProcessedEvent, event_key)
                if seen is not None and seen.session_id is not None:
                    return seen.session_id
            record = self.start_in(
                db,
                tenant_id=tenant_id,
                set_id=set_id,
                protocol=protocol,
                members=members,
                presenters=presenters,
                facilitator=facilitator,
                thread_id=thread_id,
                now=now,
            )
            if event_key is not None:
                db.add(ProcessedEvent(event_key=event_key, session_id=record.id, processed_at=now))
            return record.id

    def start_in(
        self,
        db: Session,
        *,
        tenant_id: int,
        set_id: int,
        protocol: Protocol,
        members: tuple[str, ...],
        presenters: tuple[str, ...],
        facilitator: str | None,
        now: datetime,
        thread_id: str | None = None,
        meeting_id: int | None = None,
        preface: Sequence[Post] = (),
    ) -> SessionRecord:
        """Start a session inside the caller's transaction. A scheduled meeting's session names
        its meeting (unique: a second session for it breaks the transaction) and may open with
        `preface` posts, shown right after the thread opens, before the protocol's first."""
        state, effects = start(protocol, members, presenters, facilitator, now=now)
        if preface:
            effects = [effects[0], *preface, *effects[1:]]
        record = SessionRecord(
            tenant_id=tenant_id,
            set_id=set_id,
            protocol_name=protocol.name,
            state=state.to_dict(),
            status=state.status.value,
            wake_at=state.wake_at,
            thread_id=thread_id,
            started_at=now,
            meeting_id=meeting_id,
        )
        db.add(record)
        db.flush()
        self._append(db, record, 0, effects, now)
        return record

    # --- stepping -----------------------------------------------------------------------------

    def handle(self, session_id: int, event: Event, event_key: str | None = None) -> Outcome:
        """Apply one event; with an `event_key` seen before, change nothing."""
        for attempt in range(_VERSION_RETRIES):
            try:
                return self._handle_once(session_id, event, event_key)
            except StaleDataError:
                log.info("session %s moved on under us; retrying (%s)", session_id, attempt + 1)
            except IntegrityError:
                # Another worker recorded the same event key first: it has been handled.
                if event_key is None:
                    raise
                return Outcome(applied=False, state=self.state(session_id))
        raise RuntimeError(f"session {session_id} kept changing under us; event not applied")

    def _handle_once(self, session_id: int, event: Event, event_key: str | None) -> Outcome:
        now = self.clock.now()
        with self._sessions.begin() as db:
            if event_key is not None and db.get(ProcessedEvent, event_key) is not None:
                return Outcome(applied=False, state=self._load(db, session_id)[1])
            record, state = self._load(db, session_id)
            effects: list[Effect] = []
            if not isinstance(event, Tick) and state.wake_at is not None and state.wake_at <= now:
                # What fell due before this event happens first, even if no sweep came by yet.
                state, effects = step(state, Tick(), now)
            new_state, more = step(state, event, now)
            effects += more
            if event_key is not None:
                db.add(ProcessedEvent(event_key=event_key, session_id=session_id, processed_at=now))
            self._save(db, record, new_state, effects, now)
            return Outcome(applied=True, state=new_state, effects=tuple(effects))

    def fire_due(self, session_id: int | None = None) -> int:
        """Tick every running session (or just one) whose next deadline has come."""
        query = select(SessionRecord.id).where(
            SessionRecord.status == Status.RUNNING, SessionRecord.wake_at <= self.clock.now()
        )
        if session_id is not None:
            query = query.where(SessionRecord.id == session_id)
        with self._sessions() as db:
            due = db.scalars(query.order_by(SessionRecord.wake_at)).all()
        for due_id in due:
            self.handle(due_id, Tick())
        return len(due)

    # --- reading ------------------------------------------------------------------------------

    def state(self, session_id: int) -> SessionState:
        with self._sessions() as db:
            return self._load(db, session_id)[1]

    def unfinished(self, set_id: int) -> int | None:
        """The set's session that has not ended, if any (there is at most one)."""
        with self._sessions() as db:
            return self.unfinished_in(db, set_id)

    @staticmethod
    def unfinished_in(db: Session, set_id: int) -> int | None:
        return db.scalars(
            select(SessionRecord.id).where(
                SessionRecord.set_id == set_id, SessionRecord.status != Status.ENDED
            )
        ).first()

    def tenant_of(self, session_id: int) -> int | None:
        with self._sessions() as db:
            record = db.get(SessionRecord, session_id)
            return record.tenant_id if record else None

    def in_thread(self, tenant_id: int, space_id: str, thread_id: str) -> int | None:
        """The session whose thread this is, in a set's space, if any."""
        with self._sessions() as db:
            return db.scalars(
                select(SessionRecord.id)
                .join(PeerSet, PeerSet.id == SessionRecord.set_id)
                .where(
                    SessionRecord.tenant_id == tenant_id,
                    SessionRecord.thread_id == thread_id,
                    PeerSet.space_id == space_id,
                )
            ).first()

    # --- inside a transaction -----------------------------------------------------------------

    @staticmethod
    def _load(db: Session, session_id: int) -> tuple[SessionRecord, SessionState]:
        record = db.get(SessionRecord, session_id)
        if record is None:
            raise UnknownSession(f"no session {session_id}")
        return record, SessionState.from_dict(record.state)

    def _save(
        self,
        db: Session,
        record: SessionRecord,
        state: SessionState,
        effects: Sequence[Effect],
        now: datetime,
    ) -> None:
        step_number = record.version  # the version this step moves on from: unique per step
        record.state = state.to_dict()
        flag_modified(record, "state")  # every step moves the version on, changed or not
        record.status = state.status.value
        record.wake_at = state.wake_at
        if state.ended and record.ended_at is None:
            record.ended_at = now
            if record.meeting_id is not None:
                meeting_held(db, record.meeting_id, record.tenant_id, took_part(state))
        db.flush()  # the version check first: a worker that lost the race appends nothing
        self._append(db, record, step_number, effects, now)

    @staticmethod
    def _append(
        db: Session,
        record: SessionRecord,
        step_number: int,
        effects: Sequence[Effect],
        now: datetime,
    ) -> None:
        ids: dict[str, int] = {}
        for index, effect in enumerate(effects):
            if isinstance(effect, RecordActionItem):
                ids = ids or member_ids(db, record.tenant_id)
                db.add(
                    ActionItem(
                        session_id=record.id,
                        set_id=record.set_id,
                        member_id=ids[effect.member],
                        text=effect.text,
                        created_at=now,
                        updated_at=now,
                    )
                )
                continue
            db.add(
                OutboxEntry(
                    session_id=record.id,
                    set_id=record.set_id,
                    effect_id=f"{record.id}.{step_number}.{index}",
                    kind=type(effect).__name__,
                    recipient=effect.member if isinstance(effect, Nudge) else None,
                    payload=effect_to_dict(effect),
                    created_at=now,
                    next_attempt_at=now,
                )
            )
