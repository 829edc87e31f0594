"""The service through a real database (SQLite file and PostgreSQL): idempotency, the version
check between two workers, the outbox's retries and crash recovery, deadlines that survive a
restart, and confidentiality of what members write."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from bot.engine.effects import Notice, NoticeKind, Nudge, NudgeReason, Post, PostKind
from bot.engine.events import Agree, Done, MessagePosted, RecordAction, Tick
from bot.service import Dispatcher
from bot.service.notices import append_notice
from bot.store import ActionItem, OutboxEntry, ProcessedEvent, SessionRecord, session_factory
from tests.service_helpers import MEMBERS, RecordingPlatform, make_world

SECRET = "my-manager-zorblax-knows-nothing"


def _agree_all(world, session_id: int) -> None:  # type: ignore[no-untyped-def]
    for member in MEMBERS:
        world.service.handle(session_id, Agree(member))


def test_same_event_id_twice_changes_nothing(db_url: str) -> None:
    world = make_world(db_url)
    session_id = world.start()
    _agree_all(world, session_id)
    first = world.service.handle(session_id, MessagePosted("bob", "a question"), "slack:Ev1")
    outbox_before = world.dispatcher.pending()
    version_before = _version(world, session_id)
    second = world.service.handle(session_id, MessagePosted("bob", "a question"), "slack:Ev1")
    assert first.applied and not second.applied
    assert second.effects == ()
    assert world.dispatcher.pending() == outbox_before
    assert _version(world, session_id) == version_before
    assert first.effects and isinstance(first.effects[0], Nudge)  # bob spoke out of turn once
    with session_factory(world.engine)() as db:
        assert db.scalars(select(ProcessedEvent.event_key)).all() == ["slack:Ev1"]


def test_a_repeated_start_command_opens_one_session(db_url: str) -> None:
    world = make_world(db_url)
    first = world.start(event_key="slack:cmd-1")
    second = world.start(event_key="slack:cmd-1")
    assert first == second
    with session_factory(world.engine)() as db:
        assert len(db.scalars(select(SessionRecord.id)).all()) == 1


def test_two_workers_never_both_advance_one_session(db_url: str) -> None:
    """Two service instances (two workers) press Done for the presenter at once: the version
    check makes one of them re-read, so the phase moves on exactly once."""
    world_a = make_world(db_url)
    world_b = make_world(db_url, migrate=False)
    session_id = world_a.start()
    _agree_all(world_a, session_id)
    barrier = threading.Barrier(2)
    outcomes = []

    def press(world) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        outcomes.append(world.service.handle(session_id, Done("alice")))

    threads = [threading.Thread(target=press, args=(w,)) for w in (world_a, world_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2 and all(o.applied for o in outcomes)
    state = world_a.service.state(session_id)
    assert state.phase.id == "clarifying"  # one Done ended the presentation, not two phases
    phase_posts = [
        e for o in outcomes for e in o.effects if isinstance(e, Post) and e.kind is PostKind.PHASE
    ]
    assert [p.phase for p in phase_posts] == ["clarifying"]


def test_outbox_delivers_in_order_once_and_erases_payloads(db_url: str) -> None:
    world = make_world(db_url)
    session_id = world.start()
    _agree_all(world, session_id)
    delivered = world.dispatcher.deliver_pending()
    assert delivered > 0 and world.dispatcher.pending() == 0
    ids = [effect_id for effect_id, _ in world.platform.delivered]
    assert ids == sorted(ids, key=lambda i: tuple(int(p) for p in i.split(".")))
    assert len(ids) == len(set(ids))
    assert world.dispatcher.deliver_pending() == 0  # nothing is delivered twice
    with session_factory(world.engine)() as db:
        payloads = db.scalars(select(OutboxEntry.payload)).all()
    assert payloads and all(p is None for p in payloads)


def test_a_failing_platform_delays_but_never_drops(db_url: str) -> None:
    world = make_world(db_url)
    session_id = world.start()
    world.platform.failures_left = 3
    assert world.dispatcher.deliver_pending() == 0
    waiting = world.dispatcher.pending()
    assert waiting > 0
    # Before the backoff has passed nothing is tried again.
    assert world.dispatcher.deliver_pending() == 0
    assert world.platform.failures_left == 2
    for _ in range(3):
        world.clock.advance(timedelta(seconds=61))
        world.dispatcher.deliver_pending()
    assert world.platform.failures_left == 0
    assert world.dispatcher.pending() == 0
    assert len(world.platform.delivered) == waiting
    first = world.platform.delivered[0][1]
    assert first.__class__.__name__ == "OpenSpace"
    with session_factory(world.engine)() as db:
        attempts = db.scalars(
            select(OutboxEntry.attempts).where(OutboxEntry.session_id == session_id)
        ).all()
    assert max(attempts) == 4  # three failures, then the delivery


def test_an_effect_that_reached_the_platform_before_a_crash_is_not_sent_again(
    db_url: str,
) -> None:
    world = make_world(db_url)
    world.start()

    platform = _CrashAfterSending()
    dying = Dispatcher(world.engine, platform, world.clock)
    with pytest.raises(SystemExit):
        dying.deliver_pending()
    assert len(platform.delivered) == 1
    # A new worker, same platform, once the dead worker's claim has run out: it asks the
    # platform by the effect's id before sending.
    world.clock.advance(timedelta(seconds=dying.lease_seconds + 1))
    restarted = Dispatcher(world.engine, _Honest(platform), world.clock)
    restarted.deliver_pending()
    ids = [effect_id for effect_id, _ in platform.delivered]
    assert len(ids) == len(set(ids))
    assert restarted.pending() == 0


def test_a_worker_restarted_under_its_own_name_takes_back_its_claims_at_once(
    db_url: str,
) -> None:
    world = make_world(db_url)
    world.start()

    platform = _CrashAfterSending()
    dying = Dispatcher(world.engine, platform, world.clock, worker_id="worker-a")
    with pytest.raises(SystemExit):
        dying.deliver_pending()
    # Another worker must wait out the claim's lease: nothing is due for it yet.
    other = Dispatcher(world.engine, _Honest(platform), world.clock, worker_id="worker-b")
    assert other.take_back_claims() == 0
    assert other.deliver_pending() == 0
    # The same worker, started again, takes its claim back at once (same moment, no lease
    # waited out), asks the platform first, and sends nothing twice.
    restarted = Dispatcher(world.engine, _Honest(platform), world.clock, worker_id="worker-a")
    assert restarted.take_back_claims() == 1
    assert restarted.deliver_pending() > 0
    ids = [effect_id for effect_id, _ in platform.delivered]
    assert len(ids) == len(set(ids))
    assert restarted.pending() == 0


class _CrashAfterSending(RecordingPlatform):
    def deliver(self, delivery):  # type: ignore[no-untyped-def]
        super().deliver(delivery)
        raise SystemExit("the worker died after the platform accepted the post")


class _Honest:
    """The same platform, without the crash."""

    def __init__(self, platform: RecordingPlatform) -> None:
        self.platform = platform

    def deliver(self, delivery):  # type: ignore[no-untyped-def]
        return RecordingPlatform.deliver(self.platform, delivery)

    def already_delivered(self, delivery):  # type: ignore[no-untyped-def]
        return self.platform.already_delivered(delivery)


def test_deadlines_survive_a_restart(db_url: str) -> None:
    world = make_world(db_url)
    session_id = world.start()
    _agree_all(world, session_id)
    world.service.handle(session_id, Done("alice"))  # into clarifying questions
    before = world.service.state(session_id)
    assert before.turn == "bob" and before.turn_deadline is not None
    # The process stops; a new one starts later with a fresh service over the same database.
    later = make_world(db_url, migrate=False)
    later.clock.move_to(before.turn_deadline + timedelta(seconds=1))
    assert later.service.fire_due() == 1
    after = later.service.state(session_id)
    assert after.phase.id == "clarifying" and after.turn == "carol"
    assert "bob" in after.had_turn
    assert later.service.fire_due() == 0  # nothing else due yet


def test_action_items_are_kept_for_their_owner(db_url: str) -> None:
    world = make_world(db_url)
    session_id = world.start()
    world.service.handle(session_id, RecordAction("alice", "Call my mentor by Friday"))
    with session_factory(world.engine)() as db:
        items = db.scalars(select(ActionItem)).all()
    assert [(i.text, i.status) for i in items] == [("Call my mentor by Friday", "open")]


def test_member_text_is_only_in_transit(db_url: str, tmp_path: Path) -> None:
    """What members write passes through the database only while in transit: the presenter's
    notes until handed back, and the outbox entry carrying them until delivered."""
    world = make_world(db_url)
    session_id = world.start()
    _agree_all(world, session_id)
    handle = world.service.handle
    handle(session_id, MessagePosted("alice", f"my story about {SECRET}"))
    handle(session_id, Done("alice"))
    handle(session_id, MessagePosted("bob", f"did {SECRET} know?"))
    handle(session_id, Done("bob"))
    handle(session_id, Done("carol"))
    # Peer feedback: alice listens in silence and jots a note.
    handle(session_id, MessagePosted("alice", f"note: {SECRET}"))
    assert SECRET in str(world.service.state(session_id).notes)
    world.clock.advance(timedelta(hours=2))
    handle(session_id, Tick())
    state = world.service.state(session_id)
    assert state.ended and state.notes == ()
    notes_back = [
        e
        for _, e in world.platform.delivered
        if isinstance(e, Nudge) and e.reason is NudgeReason.NOTES_RETURNED
    ]
    assert notes_back == []  # not yet delivered: it waits in the outbox
    world.dispatcher.deliver_pending()
    notes_back = [
        e
        for _, e in world.platform.delivered
        if isinstance(e, Nudge) and e.reason is NudgeReason.NOTES_RETURNED
    ]
    assert len(notes_back) == 1 and SECRET in notes_back[0].text
    assert SECRET not in _every_value(world)
    if world.engine.dialect.name == "sqlite":
        world.engine.dispose()
        database = Path(world.engine.url.database or "")
        for path in database.parent.glob(database.name + "*"):
            assert SECRET.encode() not in path.read_bytes(), path.name


def _every_value(world) -> str:  # type: ignore[no-untyped-def]
    with world.engine.connect() as connection:
        dumps = []
        for table in inspect(connection).get_table_names():
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
            dumps.append(repr(rows))
    return "\n".join(dumps)


def _version(world, session_id: int) -> int:  # type: ignore[no-untyped-def]
    with session_factory(world.engine)() as db:
        record = db.get(SessionRecord, session_id)
        assert record is not None
        return record.version


def test_two_workers_delivering_at_once_post_each_effect_once(db_url: str) -> None:
    world = make_world(db_url)
    session_id = world.start()
    _agree_all(world, session_id)
    other = make_world(db_url, migrate=False)
    platform = RecordingPlatform()
    workers = [
        Dispatcher(world.engine, platform, world.clock),
        Dispatcher(other.engine, platform, world.clock),
    ]
    expected = workers[0].pending()
    barrier = threading.Barrier(2)

    def drain(dispatcher: Dispatcher) -> None:
        barrier.wait()
        for _ in range(20):
            if dispatcher.deliver_pending() == 0 and dispatcher.pending() == 0:
                return

    threads = [threading.Thread(target=drain, args=(d,)) for d in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [effect_id for effect_id, _ in platform.delivered]
    assert len(ids) == expected == len(set(ids))
    assert workers[0].pending() == 0


def test_a_step_that_changes_nothing_but_a_nudge_still_moves_the_version(db_url: str) -> None:
    world = make_world(db_url)
    session_id = world.start()
    before = _version(world, session_id)
    world.service.handle(session_id, Done("carol"))  # not carol's to press: a nudge only
    world.service.handle(session_id, Done("carol"))
    assert _version(world, session_id) == before + 2
    world.dispatcher.deliver_pending()
    nudges = [e for _, e in world.platform.delivered if isinstance(e, Nudge)]
    assert len(nudges) == 2


def test_deadlines_due_before_an_event_fire_first(db_url: str) -> None:
    """No sweep ran, and bob presses Done after his turn ran out: the timeout comes first, so
    the press is answered as the next person's turn, and no airtime is negative."""
    world = make_world(db_url)
    session_id = world.start()
    _agree_all(world, session_id)
    world.service.handle(session_id, Done("alice"))  # clarifying questions: bob's turn
    deadline = world.service.state(session_id).turn_deadline
    assert deadline is not None
    world.clock.move_to(deadline + timedelta(seconds=30))
    outcome = world.service.handle(session_id, Done("bob"))
    ended = [e for e in outcome.effects if isinstance(e, Post) and e.kind is PostKind.TURN_ENDED]
    assert [e.detail for e in ended] == ["timeout"]
    state = world.service.state(session_id)
    assert state.turn == "carol"
    assert all(b.seconds >= 0 for b in state.balance.values())


def test_a_private_message_that_cannot_be_delivered_holds_back_nothing_else(db_url: str) -> None:
    """bob's direct messages are closed: his nudge waits for a retry, the thread goes on."""
    world = make_world(db_url)
    session_id = world.start()
    world.dispatcher.deliver_pending()

    class BobUnreachable(RecordingPlatform):
        def deliver(self, delivery):  # type: ignore[no-untyped-def]
            if isinstance(delivery.effect, Nudge) and delivery.effect.member == "bob":
                raise PermissionError("Cannot send messages to this user")
            return super().deliver(delivery)

    platform = BobUnreachable()
    dispatcher = Dispatcher(world.engine, platform, world.clock)
    _agree_all(world, session_id)
    world.dispatcher.deliver_pending()
    world.service.handle(session_id, MessagePosted("bob", "out of turn"))  # a nudge for bob
    world.service.handle(session_id, Done("alice"))  # posts in the thread after it
    dispatcher.deliver_pending()
    delivered = [e for _, e in platform.delivered]
    assert not any(isinstance(e, Nudge) and e.member == "bob" for e in delivered)
    assert [e.phase for e in delivered if isinstance(e, Post) and e.kind is PostKind.PHASE] == [
        "clarifying"
    ]
    with session_factory(world.engine)() as db:
        waiting = db.scalars(
            select(OutboxEntry.recipient).where(OutboxEntry.delivered_at.is_(None))
        ).all()
    assert waiting == ["bob", "bob"]  # his out-of-turn nudge and his stems, kept for a retry


def test_a_set_channel_that_fails_holds_back_its_notices_but_not_its_direct_messages(
    db_url: str,
) -> None:
    """The set's channel is down: its RSVP and later channel notices wait, in order; a member's
    reminder by direct message goes at once."""
    world = make_world(db_url)

    class ChannelDown(RecordingPlatform):
        def deliver(self, delivery):  # type: ignore[no-untyped-def]
            if isinstance(delivery.effect, Notice) and delivery.effect.member is None:
                raise ConnectionError("channel unavailable")
            return super().deliver(delivery)

    platform = ChannelDown()
    dispatcher = Dispatcher(world.engine, platform, world.clock)
    now = world.clock.now()
    with session_factory(world.engine).begin() as db:
        for effect_id, member in (("rsvp.1", None), ("remind.1.bob", "bob"), ("missed.1", None)):
            notice = Notice(NoticeKind.RSVP, effect_id, member=member)
            append_notice(db, world.set_id, effect_id, notice, now)
    assert dispatcher.deliver_pending() == 1
    assert [effect_id for effect_id, _ in platform.delivered] == ["remind.1.bob"]
    with session_factory(world.engine)() as db:
        waiting = db.scalars(
            select(OutboxEntry.effect_id)
            .where(OutboxEntry.delivered_at.is_(None))
            .order_by(OutboxEntry.id)
        ).all()
        attempts = db.scalars(
            select(OutboxEntry.attempts).where(OutboxEntry.effect_id == "missed.1")
        ).one()
    assert waiting == ["rsvp.1", "missed.1"]
    assert attempts == 0  # held back behind the RSVP, never tried out of order
