"""A set with regular meetings, in one process: a migrated database, a virtual clock, the desk
answering `/peer` commands from a console caller, a platform that records what reached it, and
the meeting scheduler stepped by hand over the jobs APScheduler keeps in the database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from bot.app import Peerset, load_settings
from bot.clock import VirtualClock
from bot.commands import parse
from bot.engine.effects import Choice, Notice
from bot.scheduler import MeetingScheduler
from bot.scheduler.runner import SYNC_JOB
from bot.service import Delivery, Dispatcher, Receipt, SessionService
from bot.service.desk import Answer, Caller, Desk
from bot.service.directory import ensure_set, ensure_tenant
from bot.settings import Settings
from bot.store import Meeting, SessionRecord, session_factory
from tests.service_helpers import RecordingPlatform

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
MEMBERS = ("ana", "ben", "cleo", "dev")
PLATFORM, TENANT, SPACE = "console", "local", "C-leaders"
# The scheduler's own sync job runs far apart; the tests sync where a worker's periodic sync would.
SYNC_SECONDS = 90 * 24 * 3600


class NoSpaces:
    """Meeting commands never make or change a platform space."""

    def create(self, name: str, members: Sequence[str]) -> str:
        raise AssertionError(f"no space should be made ({name})")

    def invite(self, space_id: str, member: str) -> None:
        raise AssertionError("nobody should be invited")

    def remove(self, space_id: str, member: str) -> None:
        raise AssertionError("nobody should be removed")


@dataclass
class NoticeBoard(RecordingPlatform):
    """Keeps each whole delivery too: where a notice went (the set's space, or a member)."""

    deliveries: list[Delivery] = field(default_factory=list)

    def deliver(self, delivery: Delivery) -> Receipt:
        receipt = super().deliver(delivery)
        self.deliveries.append(delivery)
        return receipt


@dataclass
class MeetingWorld:
    root: Peerset
    engine: Engine
    clock: VirtualClock
    settings: Settings
    service: SessionService
    desk: Desk
    board: NoticeBoard
    dispatcher: Dispatcher
    tenant_id: int
    set_id: int
    _seen: int = 0

    # --- members at the desk ------------------------------------------------------------------

    def caller(self, member: str = "ana", tenant: str = TENANT, space: str = SPACE) -> Caller:
        return Caller(PLATFORM, tenant, space, member)

    def say(self, text: str, member: str = "ana", space: str = SPACE) -> Answer:
        """`member` types `/peer text` in a set's channel (by default, the world's set's)."""
        return self.desk.answer(parse(text), self.caller(member, space=space), NoSpaces())

    def press(self, member: str, choice: Choice, subject: int) -> Answer:
        return self.desk.choose(self.caller(member), choice, subject)

    def answer_all(self, meeting_id: int, answers: dict[str, Choice]) -> None:
        for member, choice in answers.items():
            assert self.press(member, choice, meeting_id).ok

    # --- what reached the platform ------------------------------------------------------------

    def delivered(self) -> list[Delivery]:
        """Deliver the outbox; what reached the platform since the last call."""
        self.dispatcher.deliver_pending()
        fresh = self.board.deliveries[self._seen :]
        self._seen = len(self.board.deliveries)
        return fresh

    def notices(self) -> list[Notice]:
        return [d.effect for d in self.delivered() if isinstance(d.effect, Notice)]

    # --- the database -------------------------------------------------------------------------

    def meetings(self, set_id: int | None = None) -> list[Meeting]:
        """A set's meetings (by default, the world's set's), in the order they were planned."""
        with session_factory(self.engine)() as db:
            return list(
                db.scalars(
                    select(Meeting)
                    .where(Meeting.set_id == (set_id or self.set_id))
                    .order_by(Meeting.id)
                ).all()
            )

    def meeting(self, meeting_id: int) -> Meeting:
        [found] = [m for m in self.meetings() if m.id == meeting_id]
        return found

    def planned(self) -> Meeting:
        [found] = [m for m in self.meetings() if m.status == "planned"]
        return found

    def session_of(self, meeting_id: int) -> SessionRecord | None:
        with session_factory(self.engine)() as db:
            return db.scalars(
                select(SessionRecord).where(SessionRecord.meeting_id == meeting_id)
            ).first()

    def another_set(
        self,
        name: str,
        space: str,
        members: Sequence[str] = MEMBERS,
        facilitator: str | None = None,
    ) -> int:
        """One more set of peer-mentoring-round, meeting in the channel `space`."""
        with session_factory(self.engine).begin() as db:
            peer_set = ensure_set(
                db,
                self.tenant_id,
                name,
                "peer-mentoring-round",
                [(m, m) for m in members],
                facilitator,
            )
            peer_set.space_id = space
            return peer_set.id

    # --- the scheduler ------------------------------------------------------------------------

    @contextmanager
    def scheduler(self) -> Iterator[MeetingScheduler]:
        scheduler = self.root.meeting_scheduler(stepped=True)
        scheduler.start()
        try:
            yield scheduler
        finally:
            scheduler.shutdown()


def next_job(scheduler: MeetingScheduler) -> datetime | None:
    """When the next meeting or check-in job is due (the periodic sync left aside)."""
    times = [
        job.next_run_time
        for job in scheduler.scheduler.get_jobs()
        if job.id != SYNC_JOB and job.next_run_time is not None
    ]
    return min(times) if times else None


def step(world: MeetingWorld, scheduler: MeetingScheduler) -> datetime:
    """Move the clock to the next job and run what is due then; returns that moment."""
    due = next_job(scheduler)
    assert due is not None, "the scheduler has nothing to do"
    world.clock.move_to(due)
    scheduler.scheduler.run_due()
    return due


def run_until(world: MeetingWorld, scheduler: MeetingScheduler, moment: datetime) -> None:
    """Run every job due up to `moment` (in order), then move the clock to it."""
    while (due := next_job(scheduler)) is not None and due <= moment:
        step(world, scheduler)
    world.clock.move_to(moment)


def make_world(
    url: str,
    tmp_path: Path,
    *,
    start: datetime = START,
) -> MeetingWorld:
    """A migrated database with one set, "leaders", meeting in the channel `SPACE`."""
    clock = VirtualClock(start)
    settings = load_settings(data_dir=tmp_path / "data", scheduler_sync_seconds=SYNC_SECONDS)
    root = Peerset.build(settings, database_url=url, clock=clock)
    engine = root.engine
    with session_factory(engine).begin() as db:
        tenant = ensure_tenant(db, PLATFORM, TENANT)
        peer_set = ensure_set(
            db, tenant.id, "leaders", "peer-mentoring-round", [(m, m) for m in MEMBERS]
        )
        peer_set.space_id = SPACE
        tenant_id, set_id = tenant.id, peer_set.id
    board = NoticeBoard()
    return MeetingWorld(
        root=root,
        engine=engine,
        clock=clock,
        settings=settings,
        service=root.service,
        desk=root.desk,
        board=board,
        dispatcher=Dispatcher(engine, board, clock),
        tenant_id=tenant_id,
        set_id=set_id,
    )
