"""A scheduled meeting's cycle through the service: the RSVP, one reminder, opening the session
for those going (updates and the rota first), calling it off, members' answers, and attendance."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.engine.effects import (
    RSVP_CHOICES,
    Choice,
    Notice,
    NoticeKind,
    OpenSpace,
    Post,
    PostKind,
)
from bot.engine.events import Agree, Command, FacilitatorCommand, MessagePosted, Tick
from bot.engine.state import SessionState
from bot.protocol import load_shipped
from bot.rota import presenter_slots
from bot.service.directory import set_members
from bot.service.notices import time_token
from bot.store import OutboxEntry, PeerSet, SessionRecord, session_factory
from tests.meeting_helpers import SPACE, MeetingWorld, make_world

TUE_3 = datetime(2026, 3, 3, 18, 30, tzinfo=UTC)
GOING, BRINGING, NOT_GOING = Choice.GOING, Choice.BRINGING, Choice.NOT_GOING


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[MeetingWorld]:
    world = make_world(db_url, tmp_path)
    assert world.say("schedule add weekly tue 18:30 Europe/London 90").ok
    world.notices()  # the schedule's own notice
    yield world
    world.engine.dispose()


def _count(world: MeetingWorld, prefix: str) -> int:
    with session_factory(world.engine)() as db:
        return db.scalar(select(func.count()).where(OutboxEntry.effect_id.startswith(prefix))) or 0


def _open(world: MeetingWorld, answers: dict[str, Choice]) -> int | None:
    world.answer_all(1, answers)
    world.clock.move_to(TUE_3)
    return world.desk.meetings.open(1).session_id


def test_the_rsvp_is_posted_once_in_the_sets_channel(world: MeetingWorld) -> None:
    meetings = world.desk.meetings
    assert meetings.post_rsvp(1) is True
    assert meetings.post_rsvp(1) is False
    assert _count(world, "rsvp.") == 1
    [delivery] = world.delivered()
    notice = delivery.effect
    assert isinstance(notice, Notice)
    assert (delivery.space_id, delivery.thread_id, notice.member) == (SPACE, None, None)
    assert notice.kind is NoticeKind.RSVP and notice.choices == RSVP_CHOICES
    assert (notice.subject, notice.when, notice.zone) == (1, TUE_3, "Europe/London")
    assert notice.text.startswith(f"Meeting 1 is {time_token(TUE_3)}, 90 minutes. Are you coming?")
    assert "those who presented least recently go first" in notice.text


def test_the_reminder_goes_once_to_those_who_have_not_answered(world: MeetingWorld) -> None:
    meetings = world.desk.meetings
    meetings.post_rsvp(1)
    world.answer_all(1, {"ana": GOING, "ben": NOT_GOING})
    world.clock.move_to(TUE_3 - timedelta(hours=4))
    assert meetings.remind(1) == ["cleo", "dev"]
    assert meetings.remind(1) == []
    reminders = world.notices()[1:]  # after the RSVP
    assert [(n.member, n.kind) for n in reminders] == [
        ("cleo", NoticeKind.REMINDER),
        ("dev", NoticeKind.REMINDER),
    ]
    first = reminders[0]
    assert first.text == (
        f"A reminder: leaders meets {time_token(TUE_3)} (meeting 1). Are you coming?"
    )
    assert first.choices == RSVP_CHOICES and first.subject == 1


def test_the_session_opens_for_those_going_with_updates_and_the_rota_first(
    world: MeetingWorld,
) -> None:
    session_id = _open(world, {"ana": BRINGING, "ben": GOING, "cleo": GOING, "dev": NOT_GOING})
    assert session_id is not None
    state = world.service.state(session_id)
    assert state.members == ("ana", "ben", "cleo")  # dev said no; nobody else is let in
    assert state.presenters == ("ana",)  # the one bid
    effects = [d.effect for d in world.delivered() if d.session_id == session_id]
    assert isinstance(effects[0], OpenSpace) and effects[0].members == ("ana", "ben", "cleo")
    kinds = [e.kind for e in effects[1:4] if isinstance(e, Post)]
    assert kinds == [PostKind.UPDATES, PostKind.ROTA, PostKind.SESSION_STARTED]
    rota = effects[2]
    assert isinstance(rota, Post)
    assert rota.text == "The rota: 1 bid for 2 slots, so every bidder takes a turn: ana."
    meeting = world.meeting(1)
    assert (meeting.status, meeting.opened_at) == ("open", TUE_3)
    record = world.session_of(1)
    assert record is not None and record.id == session_id and record.started_at == TUE_3


def test_opening_twice_opens_one_session(world: MeetingWorld) -> None:
    first = _open(world, dict.fromkeys(("ana", "ben", "cleo"), GOING))
    second = world.desk.meetings.open(1)
    assert first is not None and second.session_id is None
    with session_factory(world.engine)() as db:
        assert db.scalars(select(SessionRecord.id)).all() == [first]


def test_without_bids_the_rota_proposes_someone(world: MeetingWorld) -> None:
    session_id = _open(world, dict.fromkeys(("ben", "cleo", "dev"), GOING))
    assert session_id is not None
    assert world.service.state(session_id).presenters == ("ben",)
    [rota] = [
        d.effect
        for d in world.delivered()
        if isinstance(d.effect, Post) and d.effect.kind is PostKind.ROTA
    ]
    assert rota.text == (
        "The rota: No bids, so the rota proposes the next person: ben (no turn yet)."
    )


def test_too_few_going_calls_the_meeting_off(world: MeetingWorld) -> None:
    opened = world.desk.meetings
    world.answer_all(1, {"ana": BRINGING, "ben": GOING, "cleo": NOT_GOING})
    world.clock.move_to(TUE_3)
    result = opened.open(1)
    assert result.session_id is None
    assert result.reason == "2 said they are going, and Peer mentoring round needs at least 3."
    assert world.meeting(1).status == "called_off"
    assert world.session_of(1) is None
    [notice] = world.notices()
    assert notice.kind is NoticeKind.CALLED_OFF and notice.member is None
    assert notice.text == (
        f"Meeting 1 ({time_token(TUE_3)}) is called off: 2 said they are going, and Peer "
        "mentoring round needs at least 3. See you at the next one."
    )
    assert opened.open(1).session_id is None
    assert _count(world, "calledoff.") == 1


def test_answers_are_taken_and_changed_until_the_meeting_opens(world: MeetingWorld) -> None:
    assert world.press("ana", GOING, 1).text == "Thanks: you're going to meeting 1."
    assert world.press("ana", BRINGING, 1).text == (
        "Thanks: you're going to meeting 1 and have something to bring."
    )
    assert world.say("bid", "ben").text == (
        "Thanks: you're going to meeting 1 and have something to bring."
    )
    assert world.press("cleo", NOT_GOING, 1).text == (
        "Thanks: you can't make meeting 1. You'll be missed."
    )
    world.press("dev", GOING, 1)
    world.clock.move_to(TUE_3)
    session_id = world.desk.meetings.open(1).session_id
    assert session_id is not None
    # Two bids for two slots: both present; cleo is not there.
    assert world.service.state(session_id).presenters == ("ana", "ben")
    assert world.service.state(session_id).members == ("ana", "ben", "dev")


def test_answers_are_refused_to_strangers_and_once_the_meeting_opened(
    world: MeetingWorld,
) -> None:
    stranger = world.press("mallory", GOING, 1)
    assert (stranger.ok, stranger.text) == (
        False,
        "Only members of 'leaders' can answer for its meetings.",
    )
    assert world.say("bid", "mallory").text == "Only members of 'leaders' can use /peer bid here."
    elsewhere = world.desk.choose(world.caller("ana", tenant="another-workspace"), GOING, 1)
    assert (elsewhere.ok, elsewhere.text) == (False, "That meeting is not one of your sets'.")
    nowhere = world.press("ana", GOING, 99)
    assert (nowhere.ok, nowhere.text) == (False, "That meeting is not one of your sets'.")
    _open(world, dict.fromkeys(("ana", "ben", "cleo"), GOING))
    late = world.press("dev", GOING, 1)
    assert (late.ok, late.text) == (
        False,
        "Meeting 1 has started: join it in its thread; answers are closed.",
    )
    assert world.service.state(world.session_of(1).id).members == (  # type: ignore[union-attr]
        "ana",
        "ben",
        "cleo",
    )


def test_answers_to_a_called_off_meeting_are_refused(world: MeetingWorld) -> None:
    world.clock.move_to(TUE_3)
    world.desk.meetings.open(1)
    answer = world.press("ana", GOING, 1)
    assert (answer.ok, answer.text) == (
        False,
        "Meeting 1 is called off; answers are closed.",
    )


def test_attendance_records_who_took_part_when_the_session_ends(world: MeetingWorld) -> None:
    assert world.say("attendance").text == (
        "No meetings yet: attendance appears here after the first one."
    )
    session_id = _open(world, {"ana": BRINGING, "ben": GOING, "cleo": GOING, "dev": NOT_GOING})
    assert session_id is not None
    # ana and ben agree to the ground rules; cleo came but does nothing.
    world.service.handle(session_id, Agree("ana"))
    world.service.handle(session_id, Agree("ben"))
    world.clock.advance(timedelta(minutes=2))
    world.service.handle(session_id, FacilitatorCommand("ben", Command.END))
    assert world.service.state(session_id).ended
    assert world.say("attendance", "dev").text == (
        "Attendance:\n"
        f"Meeting 1, {time_token(TUE_3)}, held: said going: <@ana>, <@ben> and <@cleo>; "
        "took part: <@ana> and <@ben>."
    )


def test_a_session_that_runs_out_of_time_records_attendance_too(world: MeetingWorld) -> None:
    session_id = _open(world, dict.fromkeys(("ana", "ben", "cleo"), GOING))
    assert session_id is not None
    for member in ("ana", "ben", "cleo"):
        world.service.handle(session_id, Agree(member))
    # Then the timers move the session on to its end.
    for _ in range(200):
        if world.service.state(session_id).ended:
            break
        wake = world.service.state(session_id).wake_at
        assert wake is not None
        world.clock.move_to(wake)
        world.service.handle(session_id, Tick())
    assert world.service.state(session_id).ended
    assert world.meeting(1).status == "held"
    assert world.say("attendance").text.endswith(
        "held: said going: <@ana>, <@ben> and <@cleo>; took part: <@ana>, <@ben> and <@cleo>."
    )


def test_a_member_whose_turns_only_ran_out_did_not_take_part(world: MeetingWorld) -> None:
    """cleo came but stayed silent: her turns timed out, one after another. That is being
    there, not taking part."""
    session_id = _open(world, dict.fromkeys(("ana", "ben", "cleo"), GOING))
    assert session_id is not None
    world.service.handle(session_id, Agree("ana"))
    world.service.handle(session_id, Agree("ben"))
    for _ in range(200):
        state = world.service.state(session_id)
        if state.ended:
            break
        if state.turn in ("ana", "ben") and state.turn not in state.had_turn:
            world.service.handle(session_id, MessagePosted(state.turn, "That reminds me of when I"))
        wake = world.service.state(session_id).wake_at
        assert wake is not None
        world.clock.move_to(wake)
        world.service.handle(session_id, Tick())
    state = world.service.state(session_id)
    assert state.ended and state.balance["cleo"].turns > 0  # she had turns; they ran out
    assert world.say("attendance").text.endswith(
        "held: said going: <@ana>, <@ben> and <@cleo>; took part: <@ana> and <@ben>."
    )


# --- the rota, over many meetings -------------------------------------------------------------

EAGER, OCCASIONAL = ("ana", "ben"), ("cleo", "dev", "eli")


def _new_set(
    world: MeetingWorld, members: Sequence[str], minutes: int, facilitator: str | None = None
) -> int:
    """A set of its own (each example of a property gets one), meeting weekly."""
    space = f"C-{uuid.uuid4().hex[:8]}"
    set_id = world.another_set(space, space, members, facilitator)
    added = world.say(f"schedule add weekly tue 18:30 Europe/London {minutes}", space=space)
    assert added.ok, added.text
    return set_id


def _hold(world: MeetingWorld, set_id: int, bidders: Collection[str]) -> SessionState:
    """The set's next meeting with every member going and `bidders` bringing something: opened,
    and the one after it planned, as the scheduler does."""
    [meeting] = [m for m in world.meetings(set_id) if m.status == "planned"]
    with session_factory(world.engine)() as db:
        everyone = set_members(db, set_id)
    world.answer_all(meeting.id, {m: BRINGING if m in bidders else GOING for m in everyone})
    world.clock.move_to(meeting.starts_at)
    opened = world.desk.meetings.open(meeting.id)
    assert opened.session_id is not None, opened.reason
    world.desk.calendar.plan_all()
    state = world.service.state(opened.session_id)
    # The meeting ends before the next opens: a set has one unfinished session at most.
    ender = state.facilitator or state.members[0]
    world.service.handle(opened.session_id, FacilitatorCommand(ender, Command.END))
    return state


# Each example runs 20 meetings on a database: few examples, and no shrinking (the assertion
# messages say which meeting and who).
@settings(
    max_examples=3,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    minutes=st.sampled_from((60, 90, 120)),
    occasional_bids=st.lists(st.sets(st.sampled_from(OCCASIONAL)), min_size=20, max_size=20),
)
def test_nobody_presents_twice_before_every_bidder_has_presented_once(
    world: MeetingWorld, minutes: int, occasional_bids: list[set[str]]
) -> None:
    """Over 20 meetings two members bid every time and three sometimes. Each meeting has as many
    presenter slots as its length and the protocol allow; bidders beyond them wait, and those
    who presented least recently (never, first) go first."""
    members = EAGER + OCCASIONAL
    set_id = _new_set(world, members, minutes)
    slots = presenter_slots(minutes, load_shipped("peer-mentoring-round"))
    assert slots == {60: 1, 90: 2, 120: 3}[minutes]
    last: dict[str, int] = {}  # each member's last meeting as presenter
    for number, sometimes in enumerate(occasional_bids, start=1):
        bidders = set(EAGER) | sometimes
        presenters = _hold(world, set_id, bidders).presenters
        assert set(presenters) <= bidders
        assert len(presenters) == min(len(bidders), slots)
        for chosen in [p for p in presenters if p in last]:
            for waiting in bidders - set(presenters):
                # Nobody presents again while a bidder waits for their first time, nor while
                # one waits who presented longer ago.
                assert waiting in last, (number, chosen, waiting, last)
                assert last[chosen] <= last[waiting], (number, chosen, waiting, last)
        last.update(dict.fromkeys(presenters, number))
    assert world.say("schedule cancel", space=_space_of(world, set_id)).ok


def _space_of(world: MeetingWorld, set_id: int) -> str:
    with session_factory(world.engine)() as db:
        peer_set = db.get(PeerSet, set_id)
        assert peer_set is not None and peer_set.space_id is not None
        return peer_set.space_id


def test_without_bids_the_rota_proposes_whoever_presented_least_recently(
    world: MeetingWorld,
) -> None:
    set_id = _new_set(world, ("ana", "ben", "cleo", "dev"), 60)
    assert _hold(world, set_id, {"cleo"}).presenters == ("cleo",)
    assert _hold(world, set_id, {"ana"}).presenters == ("ana",)
    # Nobody bids: first those who never presented, in the set's order; then the longest ago.
    assert [_hold(world, set_id, ()).presenters for _ in range(4)] == [
        ("ben",),
        ("dev",),
        ("cleo",),
        ("ana",),
    ]


def test_the_facilitator_rota_rotates_too(world: MeetingWorld) -> None:
    set_id = _new_set(world, ("ana", "ben", "cleo", "dev"), 60, "ana")
    held = [_hold(world, set_id, ()) for _ in range(6)]
    assert [state.presenters for state in held] == [
        ("ana",),
        ("ben",),
        ("cleo",),
        ("dev",),
        ("ana",),
        ("ben",),
    ]
    # Never the presenter; everyone once before anyone twice.
    assert [state.facilitator for state in held] == ["ben", "ana", "dev", "cleo", "ben", "ana"]
    rota = [
        d.effect.text
        for d in world.delivered()
        if isinstance(d.effect, Post) and d.effect.kind is PostKind.ROTA
    ]
    assert rota[4] == (
        "The rota: No bids, so the rota proposes the next person: ana (last turn at meeting 1). "
        "Facilitating: the rota proposes the next person: ben (last turn at meeting 1)."
    )
