"""Delivering the outbox to a platform: in order, with retries and backoff, never twice.

Before each attempt the entry's attempt count is committed. So after a crash, an entry with
attempts but no delivery time may or may not have reached the platform; the platform is asked
(by the effect's stable id) before it is sent again. Once delivered, the payload, which may carry
a member's own words back to them, is erased.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, select, update

from bot.clock import Clock
from bot.engine.effects import Effect, effect_from_dict
from bot.store import (
    OutboxEntry,
    PeerSet,
    SessionRecord,
    Tenant,
    erase_checkpoint,
    session_factory,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One effect on its way to the platform, with what the platform needs to place it."""

    effect_id: str
    session_id: int | None  # None for a meeting's notice, which belongs to no session
    set_id: int
    space_id: str | None  # the set's private space on the platform (a channel)
    thread_id: str | None  # the session's thread in that space, once it is open
    created_at: datetime
    effect: Effect

    def channel(self) -> str:
        """The set's channel, which every platform needs to place a post."""
        if self.space_id is None:
            raise RuntimeError(f"set {self.set_id} has no channel")
        return self.space_id

    def session(self) -> int:
        """The session of a session's effect (a notice has none)."""
        if self.session_id is None:
            raise RuntimeError(f"{self.effect_id} is a session's effect but names no session")
        return self.session_id


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the platform made of a delivery. Opening a space gives the session's thread id,
    which later deliveries of the same session receive as `Delivery.thread_id`."""

    thread_id: str | None = None


class Deliverer(Protocol):
    """The platform side of delivery: each adapter provides one."""

    def deliver(self, delivery: Delivery) -> Receipt:
        """Make the effect happen on the platform; raise if it did not."""

    def already_delivered(self, delivery: Delivery) -> Receipt | None:
        """The receipt of this effect (found by its id) if the platform already has it."""


# Called at "before" and "after" each platform delivery; lets a test stop the process there.
Hook = Callable[[str, str], None]

# How long a worker's claim on an outbox entry lasts before another worker may take it.
LEASE_SECONDS = 15.0


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        deliverer: Deliverer,
        clock: Clock,
        *,
        backoff_seconds: float = 1.0,
        backoff_max_seconds: float = 300.0,
        warn_after_attempts: int = 8,
        lease_seconds: float = LEASE_SECONDS,
        hook: Hook | None = None,
        platform: str | None = None,
        worker_id: str = "",
    ) -> None:
        self.engine = engine
        self.deliverer = deliverer
        self.clock = clock
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.warn_after_attempts = warn_after_attempts
        self.lease_seconds = lease_seconds
        self.hook = hook
        # Deliver only this platform's entries: workers of several platforms may share a database.
        self.platform = platform
        self.worker_id = worker_id
        self._sessions = session_factory(engine)

    def backoff(self, attempts: int) -> timedelta:
        seconds = self.backoff_seconds * 2 ** max(attempts - 1, 0)
        return timedelta(seconds=min(seconds, self.backoff_max_seconds))

    def take_back_claims(self) -> int:
        """At start: what this worker (by its stable id) had claimed when it stopped is due
        again now, not when its lease runs out. Returns how many entries."""
        if not self.worker_id:
            return 0
        with self._sessions.begin() as db:
            taken = db.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.claimed_by == self.worker_id,
                    OutboxEntry.delivered_at.is_(None),
                )
                .values(next_attempt_at=self.clock.now(), claimed_by=None)
                .execution_options(synchronize_session=False)
            )
            return int(taken.rowcount)  # type: ignore[attr-defined]

    def pending(self) -> int:
        with self._sessions() as db:
            return len(
                db.scalars(select(OutboxEntry.id).where(OutboxEntry.delivered_at.is_(None))).all()
            )

    def deliver_pending(self, limit: int = 1000, session_id: int | None = None) -> int:
        """Deliver what is due, oldest first; returns how many were delivered.

        Order is kept per lane: a session's thread is one lane, a set's channel (its meeting
        notices) another, each member's private messages another. An entry that failed holds
        back the rest of its lane until its retry, so a thread never shows messages out of order;
        a private message that cannot reach one member (say, their direct messages are closed)
        holds back nothing else. A thread that failed holds back the whole session, whose private
        words may need it; a set's channel holds back none of its direct messages.
        """
        now = self.clock.now()
        query = select(
            OutboxEntry.id,
            OutboxEntry.session_id,
            OutboxEntry.set_id,
            OutboxEntry.recipient,
            OutboxEntry.next_attempt_at,
        ).where(OutboxEntry.delivered_at.is_(None))
        if session_id is not None:
            query = query.where(OutboxEntry.session_id == session_id)
        if self.platform is not None:
            query = (
                query.join(PeerSet, PeerSet.id == OutboxEntry.set_id)
                .join(Tenant, Tenant.id == PeerSet.tenant_id)
                .where(Tenant.platform == self.platform)
            )
        with self._sessions() as db:
            rows = db.execute(query.order_by(OutboxEntry.id).limit(limit)).all()
        held_owners: set[tuple[str, int]] = set()
        held_lanes: set[tuple[tuple[str, int], str]] = set()
        delivered = 0
        for entry_id, session, set_id, recipient, next_attempt_at in rows:
            owner = ("session", session) if session is not None else ("set", set_id)
            if recipient and (owner, recipient) in held_lanes:
                continue
            # A session's private words may need its thread; a set's notices by direct message
            # (reminders, check-ins) never need its channel's.
            if owner in held_owners and (session is not None or not recipient):
                continue
            if next_attempt_at > now or not self._deliver_one(entry_id, now):
                if recipient:
                    held_lanes.add((owner, recipient))
                else:
                    held_owners.add(owner)
                continue
            delivered += 1
        if delivered:
            erase_checkpoint(self.engine)
        return delivered

    def _claim(self, entry_id: int, now: datetime) -> bool:
        """Take the entry for this worker, so no other worker delivers it at the same time.

        The claim is a lease: until it runs out the entry is not due for anyone else; if this
        worker dies meanwhile, another takes it up afterwards (and asks the platform first).
        """
        with self._sessions.begin() as db:
            claimed = db.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.id == entry_id,
                    OutboxEntry.delivered_at.is_(None),
                    OutboxEntry.next_attempt_at <= now,
                )
                .values(
                    attempts=OutboxEntry.attempts + 1,
                    next_attempt_at=now + timedelta(seconds=self.lease_seconds),
                    claimed_by=self.worker_id or None,
                )
                .execution_options(synchronize_session=False)
            )
            return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]

    def _deliver_one(self, entry_id: int, now: datetime) -> bool:
        if not self._claim(entry_id, now):
            return False
        with self._sessions() as db:
            entry = db.get(OutboxEntry, entry_id)
            if entry is None or entry.delivered_at is not None:
                return True
            maybe_sent = entry.attempts > 1
            record = db.get(SessionRecord, entry.session_id) if entry.session_id else None
            peer_set = db.get(PeerSet, entry.set_id)
            if entry.payload is None:
                raise RuntimeError(f"outbox entry {entry.effect_id} has no payload")
            delivery = Delivery(
                effect_id=entry.effect_id,
                session_id=entry.session_id,
                set_id=entry.set_id,
                space_id=peer_set.space_id if peer_set else None,
                thread_id=record.thread_id if record else None,
                created_at=entry.created_at,
                effect=effect_from_dict(entry.payload),
            )
        try:
            # Asking the platform can fail like delivering: the same backoff, never a lost pass.
            found = self.deliverer.already_delivered(delivery) if maybe_sent else None
            if found is not None:
                log.info("effect %s had reached the platform already", delivery.effect_id)
                self._mark_delivered(entry_id, now, found.thread_id)
                return True
            if self.hook:
                self.hook("before", delivery.effect_id)
            receipt = self.deliverer.deliver(delivery)
        except Exception as exc:  # the platform said no: keep the entry and try again later
            self._mark_failed(entry_id, now, exc)
            return False
        if self.hook:
            self.hook("after", delivery.effect_id)
        self._mark_delivered(entry_id, now, receipt.thread_id)
        return True

    def _mark_delivered(self, entry_id: int, now: datetime, thread_id: str | None = None) -> None:
        with self._sessions.begin() as db:
            entry = db.get(OutboxEntry, entry_id)
            if entry is not None:
                entry.delivered_at = now
                entry.payload = None  # erased: member text lives here only in transit
                entry.last_error = None
                entry.claimed_by = None
                record = db.get(SessionRecord, entry.session_id) if entry.session_id else None
                if thread_id is not None and record is not None and record.thread_id is None:
                    record.thread_id = thread_id

    def _mark_failed(self, entry_id: int, now: datetime, exc: Exception) -> None:
        with self._sessions.begin() as db:
            entry = db.get(OutboxEntry, entry_id)
            if entry is None:
                return
            entry.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            entry.next_attempt_at = now + self.backoff(entry.attempts)
            entry.claimed_by = None
            level = logging.ERROR if entry.attempts >= self.warn_after_attempts else logging.WARNING
            log.log(
                level,
                "delivering %s failed (attempt %s), retrying at %s: %s",
                entry.effect_id,
                entry.attempts,
                entry.next_attempt_at.isoformat(),
                entry.last_error,
            )
