"""A small world for service tests: a migrated database, a set, a virtual clock, and a
deliverer that records what reached the "platform" (and can be told to fail)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.clock import VirtualClock
from bot.engine.effects import Effect
from bot.protocol import load_shipped
from bot.service import Delivery, Dispatcher, Receipt, SessionService
from bot.service.directory import ensure_set, ensure_tenant
from bot.store import make_engine, session_factory, upgrade

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MEMBERS = ("alice", "bob", "carol")


@dataclass
class RecordingPlatform:
    """Stands in for a chat platform: remembers every effect it was given, by id."""

    delivered: list[tuple[str, Effect]] = field(default_factory=list)
    failures_left: int = 0

    def deliver(self, delivery: Delivery) -> Receipt:
        if self.failures_left > 0:
            self.failures_left -= 1
            raise ConnectionError("platform unavailable")
        self.delivered.append((delivery.effect_id, delivery.effect))
        return Receipt(thread_id=f"thread-{delivery.session_id}")

    def already_delivered(self, delivery: Delivery) -> Receipt | None:
        if any(seen == delivery.effect_id for seen, _ in self.delivered):
            return Receipt(thread_id=f"thread-{delivery.session_id}")
        return None


@dataclass
class World:
    engine: Engine
    clock: VirtualClock
    service: SessionService
    platform: RecordingPlatform
    dispatcher: Dispatcher
    tenant_id: int
    set_id: int

    def start(self, protocol: str = "peer-mentoring-round", **kwargs: object) -> int:
        return self.service.start_session(
            tenant_id=self.tenant_id,
            set_id=self.set_id,
            protocol=load_shipped(protocol),
            members=MEMBERS,
            **kwargs,  # type: ignore[arg-type]
        )


def make_world(url: str, migrate: bool = True) -> World:
    if migrate:
        upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as db:
        tenant = ensure_tenant(db, "test", "T1")
        peer_set = ensure_set(
            db, tenant.id, "set one", "peer-mentoring-round", [(m, m) for m in MEMBERS]
        )
        tenant_id, set_id = tenant.id, peer_set.id
    clock = VirtualClock(START)
    platform = RecordingPlatform()
    return World(
        engine=engine,
        clock=clock,
        service=SessionService(engine, clock),
        platform=platform,
        dispatcher=Dispatcher(engine, platform, clock, backoff_seconds=2, backoff_max_seconds=60),
        tenant_id=tenant_id,
        set_id=set_id,
    )
