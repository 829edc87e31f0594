"""Properties of the session engine that hold for any session and any sequence of events.

Each example draws a shipped protocol, a group, presenters and maybe a facilitator, then up to 60
events of every kind (from members, strangers and newcomers; with advice, long and empty texts;
commands with silly minutes) at non-decreasing times, drawn one at a time so that many of them
come from the member who holds the turn or presents.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine import SessionState, Status, start, step
from bot.engine.effects import (
    CloseSpace,
    Effect,
    Nudge,
    NudgeReason,
    Post,
    PostKind,
    effect_from_dict,
    effect_to_dict,
)
from bot.engine.events import (
    Agree,
    Command,
    Done,
    Event,
    FacilitatorCommand,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    Pass,
    RecordAction,
    Tick,
)
from bot.engine.rules import Verdict, may_speak, speakers
from bot.protocol import EndRule, Phase, Protocol, Speaking, shipped_names
from bot.protocol.model import TURN_TAKING
from tests.engine_helpers import NAMES, T0, Moment, protocol, rotation

SHIPPED = shipped_names()
STRANGERS = ("Zed", "Yara")
NEWCOMERS = ("Mo", "Nia")
PHRASES = (
    "You should just quit",
    "why don't you talk to her",
    "Why don\u2019t you ask?",
    "HAVE YOU CONSIDERED leaving",
    "if i were you",
    "That reminds me of when I moved",
    "I wonder if it helps",
    "You shoulder a lot",
    "",
    "   ",
)
TURN_ENDINGS = {"done", "pass", "skip", "timeout", "next", "phase", "left"}

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def token(n: int) -> str:
    """A word that appears nowhere but in the n-th message: to follow where text goes."""
    return f"qx{n}zq"


@dataclass
class Trace:
    """A whole generated session: how it started and every step after."""

    protocol: Protocol
    first: SessionState
    opening: list[Effect]
    moments: list[Moment] = field(default_factory=list)

    def states(self) -> list[SessionState]:
        return [self.first, *(m.after for m in self.moments)]

    def effects(self) -> list[Effect]:
        return self.opening + [e for m in self.moments for e in m.effects]

    def phase(self, phase_id: str | None) -> Phase:
        return next(p for p in self.protocol.phases() if p.id == phase_id)


# Events are drawn as templates once built (building strategies per step is slow); `who` is an
# index into the people who matter at that moment, resolved against the state by `_event`.
WHO = st.one_of(st.sampled_from(["turn", "presenter", "facilitator"]), st.integers(0, 63))
TEXT = st.one_of(st.sampled_from(PHRASES), st.text(max_size=40))
ACTION = st.one_of(
    st.sampled_from(["", "  ", "ask my manager", "y" * 500, "z" * 501]),
    st.text(max_size=60),
)
MINUTES = st.one_of(
    st.none(),
    st.just(0),
    st.integers(-100, -1),
    st.integers(1, 130),
    st.integers(121, 10**9),
)
TEMPLATES = st.one_of(
    st.tuples(st.just("message"), WHO, TEXT),
    st.tuples(st.just("message"), WHO, TEXT),
    st.tuples(st.just("message"), st.just("turn"), TEXT),
    st.tuples(st.just("done"), WHO),
    st.tuples(st.just("done"), st.just("turn")),
    st.tuples(st.just("done"), st.just("turn")),
    st.tuples(st.just("done"), st.just("presenter")),
    st.tuples(st.just("pass"), WHO),
    st.tuples(st.just("agree"), WHO),
    st.tuples(st.just("action"), WHO, ACTION),
    st.tuples(st.just("command"), WHO, st.sampled_from(list(Command)), MINUTES),
    st.tuples(st.just("command"), st.just("facilitator"), st.sampled_from(list(Command)), MINUTES),
    st.tuples(st.just("tick")),
    st.tuples(st.just("tick")),
    st.tuples(st.just("joined"), st.sampled_from(NAMES + STRANGERS + NEWCOMERS)),
    st.tuples(st.just("left"), st.integers(0, 63)),
    st.tuples(st.just("left"), st.just("turn")),
)


def _event(template: tuple[object, ...], state: SessionState, n: int) -> Event:
    """The event a template stands for: `who` is a role (the turn holder, the presenter, the
    facilitator) or an index into the members and strangers."""
    people = [*state.members, *STRANGERS]
    kind, *args = template

    def who() -> str:
        role = args[0]
        if isinstance(role, int):
            return people[role % len(people)]
        chosen = {"turn": state.turn, "presenter": state.presenter}.get(str(role))
        return chosen or state.facilitator or state.members[0]

    match kind:
        case "message":
            return MessagePosted(who(), f"{args[1]} {token(n)}")
        case "done":
            return Done(who())
        case "pass":
            return Pass(who())
        case "agree":
            return Agree(who())
        case "action":
            return RecordAction(who(), str(args[1]))
        case "command":
            minutes = args[2]
            assert minutes is None or isinstance(minutes, int)
            return FacilitatorCommand(who(), Command(str(args[1])), minutes)
        case "tick":
            return Tick()
        case "joined":
            return MemberJoined(str(args[0]))
        case _:
            return MemberLeft(who())


GAPS = st.one_of(
    st.just(timedelta(0)),
    st.integers(0, 120).map(lambda s: timedelta(seconds=s)),
    st.integers(0, 120).map(lambda s: timedelta(seconds=s)),
    st.integers(0, 20 * 60).map(lambda s: timedelta(seconds=s)),
)


def drive(data: st.DataObject) -> Trace:
    name = data.draw(st.sampled_from(SHIPPED), label="protocol")
    proto = protocol(name)
    size = data.draw(st.integers(proto.group_size.min, proto.group_size.max), label="size")
    members = NAMES[:size]
    presenters = tuple(
        data.draw(st.lists(st.sampled_from(members), min_size=1, max_size=2, unique=True))
    )
    facilitator = data.draw(st.none() | st.sampled_from(members), label="facilitator")
    state, opening = start(proto, members, presenters, facilitator, now=T0)
    trace = Trace(proto, state, list(opening))
    now = T0
    count = data.draw(st.integers(0, 60), label="events")
    after_end = 0
    for n in range(count):
        if state.ended:
            after_end += 1
            if after_end > 6:
                break
        now += data.draw(GAPS)
        event = _event(data.draw(TEMPLATES), state, n)
        after, fx = step(state, event, now)
        trace.moments.append(Moment(state, event, now, after, fx))
        state = after
    return trace


# --- the properties ----------------------------------------------------------------------------


@SETTINGS
@given(st.data())
def test_step_never_raises_and_keeps_the_clock(data: st.DataObject) -> None:
    trace = drive(data)
    for m in trace.moments:
        if m.before.ended:
            assert m.after is m.before
        else:
            assert m.after.clock == max(m.now, m.before.clock)
        assert isinstance(m.effects, list)
        for effect in m.effects:
            assert effect_from_dict(json.loads(json.dumps(effect_to_dict(effect)))) == effect
        event = m.event
        stranger = isinstance(event, MessagePosted) and event.member not in m.before.members
        if stranger and not m.before.ended:
            # A stranger is told so privately, and nothing else happens.
            assert [(type(e), getattr(e, "member", None)) for e in m.effects] == [
                (Nudge, getattr(event, "member", None))
            ]
            assert m.after == m.before.evolve(clock=m.after.clock)


@SETTINGS
@given(st.data())
def test_only_the_right_people_may_speak(data: st.DataObject) -> None:
    trace = drive(data)
    for state in trace.states():
        if state.ended:
            assert state.turn is None
            continue
        running = state.status is Status.RUNNING
        speaking, presenter, turn = state.phase.speaking, state.presenter, state.turn
        who = speakers(state)
        if speaking in TURN_TAKING:
            assert turn is not None, f"nobody holds the turn in {state.phase.id}"
            assert turn in state.members and turn in state.peers and turn != presenter
        else:
            assert turn is None
        if not running:
            assert who == ()
        elif speaking is Speaking.ROUND:
            assert who == (turn,)
        elif speaking is Speaking.QUESTIONS:
            assert set(who) == {presenter, turn} and len(who) == 2
        elif speaking is Speaking.PRESENTER_ONLY:
            assert who == (presenter,)
        elif speaking is Speaking.PEERS:
            assert set(who) == set(state.peers) - {presenter}
        elif speaking is Speaking.ALL:
            assert who == state.members
        else:
            assert who == ()


@SETTINGS
@given(st.data())
def test_one_turn_at_a_time(data: st.DataObject) -> None:
    """A TURN post never comes while someone else holds the turn; TURN_ENDED ends that turn."""
    trace = drive(data)
    holder: str | None = None

    def follow(effects: list[Effect]) -> None:
        nonlocal holder
        for e in effects:
            if isinstance(e, Post) and e.kind is PostKind.TURN:
                assert holder is None, f"{e.member} got the turn while {holder} held it"
                holder = e.member
            elif isinstance(e, Post) and e.kind is PostKind.TURN_ENDED:
                assert e.member == holder and e.detail in TURN_ENDINGS
                holder = None

    follow(trace.opening)
    assert holder == trace.first.turn
    for m in trace.moments:
        follow(m.effects)
        assert holder == m.after.turn


@SETTINGS
@given(st.data())
def test_no_peer_is_skipped(data: st.DataObject) -> None:
    """The turn never moves past a present peer: it goes round every present peer (newcomers
    included) before anyone has another turn; a phase that ends because every peer had a turn
    really gave every present peer one; and while nobody joins or leaves, turns follow the
    rotation exactly."""
    trace = drive(data)
    phase: Phase | None = None
    presenter: str | None = None
    turned: list[str] = []  # every TURN in this phase, in order
    cycle: set[str] = set()  # who has had a turn since the turn last went round
    order: tuple[str, ...] = ()
    phase_members: tuple[str, ...] = ()
    stable = True
    last_ended: str | None = None

    def close(members: tuple[str, ...]) -> None:
        if phase is None or phase.speaking not in TURN_TAKING:
            return
        if last_ended is not None and last_ended != "phase":
            # Nobody held the turn as the phase ended: it ended because every peer had one.
            assert EndRule.ROUND_DONE in phase.ends_by, phase.id
            missing = set(rotation(members, presenter)) - set(turned)
            assert not missing, f"{phase.id} ended before {missing} had a turn"
        if stable:
            assert turned == list((order * (len(turned) + 1))[: len(turned)]), phase.id

    steps = [(trace.first.members, trace.opening)]
    steps += [(m.after.members, m.effects) for m in trace.moments]
    for members, effects in steps:
        if members != phase_members:
            stable = False  # someone joined or left during this phase
        for e in effects:
            if not isinstance(e, Post):
                continue
            if e.kind in (PostKind.PHASE, PostKind.SUMMARY):
                close(members)
                phase = None if e.kind is PostKind.SUMMARY else trace.phase(e.phase)
                presenter, turned, cycle, last_ended = e.member, [], set(), None
                order, phase_members, stable = rotation(members, presenter), members, True
            elif e.kind is PostKind.TURN:
                assert e.member is not None and phase is not None
                peers = rotation(members, presenter)
                assert e.member in peers and e.member != presenter
                if e.member in cycle:
                    # The turn goes round again: only once every present peer has had one.
                    missing = set(peers) - cycle
                    assert not missing, f"{e.member} had another turn before {missing} had one"
                    cycle = set()
                cycle.add(e.member)
                turned.append(e.member)
                last_ended = None
            elif e.kind is PostKind.TURN_ENDED:
                last_ended = e.detail


@SETTINGS
@given(st.data())
def test_an_ended_session_stays_ended(data: st.DataObject) -> None:
    trace = drive(data)
    effects = trace.effects()
    closes = [e for e in effects if isinstance(e, CloseSpace)]
    summaries = [e for e in effects if isinstance(e, Post) and e.kind is PostKind.SUMMARY]
    ended = [m for m in trace.moments if m.before.ended]
    final = trace.states()[-1]
    assert len(closes) == len(summaries) == (1 if final.ended else 0)
    for i, m in enumerate(trace.moments):
        if m.after.ended and not m.before.ended:
            assert isinstance(m.effects[-1], CloseSpace)
            assert isinstance(m.effects[-2], Post) and m.effects[-2].kind is PostKind.SUMMARY
            assert m.after.notes == () and m.after.turn is None and m.after.wake_at is None
            assert all(later.before.ended for later in trace.moments[i + 1 :])
    for m in ended:
        assert m.after is m.before
        if isinstance(m.event, (Tick, MemberJoined, MemberLeft)):
            assert m.effects == []
        else:
            member = m.event.member
            assert m.effects == [Nudge(member, NudgeReason.NOT_ALLOWED, "This session has ended.")]


@SETTINGS
@given(st.data())
def test_wake_at_is_when_a_tick_next_changes_something(data: st.DataObject) -> None:
    trace = drive(data)
    for state in trace.states():
        has_deadline = state.phase_deadline is not None or state.turn_deadline is not None
        expected_none = state.status is not Status.RUNNING or not has_deadline
        assert (state.wake_at is None) == expected_none
        if state.status is Status.PAUSED:
            assert step(state, Tick(), state.clock + timedelta(days=1))[1] == []
        wake = state.wake_at
        if wake is None:
            continue
        if wake > state.clock:
            for early in (state.clock, wake - timedelta(microseconds=1)):
                after, fx = step(state, Tick(), early)
                assert fx == []
                assert after == state.evolve(clock=early)
        after, fx = step(state, Tick(), max(wake, state.clock))
        assert fx != []


@SETTINGS
@given(st.data())
def test_state_survives_json_and_replays(data: st.DataObject) -> None:
    trace = drive(data)
    for m in [None, *trace.moments]:
        state = trace.first if m is None else m.after
        dumped = json.dumps(state.to_dict())
        back = SessionState.from_dict(json.loads(dumped))
        assert back == state
        assert back.to_dict() == state.to_dict()
        assert json.dumps(back.to_dict()) == dumped
    for m in trace.moments:
        restored = SessionState.from_dict(json.loads(json.dumps(m.before.to_dict())))
        assert step(restored, m.event, m.now) == (m.after, m.effects)


@SETTINGS
@given(st.data())
def test_balance_counts_words_and_airtime_sanely(data: st.DataObject) -> None:
    trace = drive(data)
    words: Counter[str] = Counter()
    for m in trace.moments:
        event = m.event
        if (
            isinstance(event, MessagePosted)
            and not m.before.ended
            and event.member in m.before.members
        ):
            words[event.member] += len(event.text.split())
        for member, balance in m.after.balance.items():
            assert balance.words == words[member]
            assert balance.turns >= 0
            assert balance.seconds >= 0, f"{member} has negative airtime"
        state = m.after
        for moment in (state.turn_started, state.phase_started):
            if state.status is Status.RUNNING and moment is not None:
                assert moment <= state.clock, "a turn or phase started in the future"


@SETTINGS
@given(st.data())
def test_notes_go_back_to_the_presenter_and_no_text_stays(data: st.DataObject) -> None:
    """What the presenter writes while listening is kept, and handed back to them alone; nothing
    else anyone writes is ever in the state."""
    trace = drive(data)
    kept: dict[str, str] = {}  # token -> its author, while in transit
    for n, m in enumerate(trace.moments):
        event = m.event
        for e in m.effects:
            if isinstance(e, Nudge) and e.reason is NudgeReason.NOTES_RETURNED:
                back = {t for t in kept if t in e.text}
                assert back, "notes returned that nobody wrote"
                assert all(kept[t] == e.member for t in back)
                for t in back:
                    del kept[t]
        if isinstance(event, MessagePosted) and not m.before.ended:
            listening = may_speak(m.before, event.member) is Verdict.LISTENING
            if listening:
                assert event.member == m.before.presenter
                if not any(
                    isinstance(e, Nudge) and e.reason is NudgeReason.NOTES_RETURNED
                    for e in m.effects
                ):
                    kept[token(n)] = event.member
        state = m.after
        assert {t for t in kept if any(t in note for note in state.notes)} == set(kept)
        assert len(state.notes) == len(kept)
        if state.notes:
            assert state.presenter is not None
            assert set(kept.values()) == {state.presenter}
        rest = {k: v for k, v in state.to_dict().items() if k != "notes"}
        dumped = json.dumps(rest)
        assert not any(token(i) in dumped for i in range(n + 1))
    if trace.states()[-1].ended:
        assert kept == {}
