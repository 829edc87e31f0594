"""The session engine: `start` and `step`, pure functions in the sans-I/O style.

`step(state, event, now) -> (state, effects)`. No clock, no database, no socket: time comes in
as `now`, deadlines go out in the state (`state.wake_at`), and everything a session does can be
replayed from its events. Two kinds of trouble: a member doing something the phase does not
allow gets a kind private nudge (an effect); a bug raises `EngineBug`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.engine import wording
from bot.engine.effects import (
    Button,
    CloseSpace,
    Effect,
    Nudge,
    NudgeReason,
    OpenSpace,
    Post,
    PostKind,
    RecordActionItem,
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
from bot.engine.rules import (
    Verdict,
    advice_marker,
    ends_by,
    may_facilitate,
    may_speak,
    takes_turns,
)
from bot.engine.state import STATUS_MOVES, Balance, SessionState, Status
from bot.engine.wording import at
from bot.protocol.model import EndRule, Protocol, Speaking

MAX_ACTION_CHARS = 500
MAX_EXTEND_MINUTES = 120
_MAX_DEADLINES_PER_TICK = 10_000

Effects = list[Effect]


class SetupError(ValueError):
    """A session cannot start as asked; the message says what was wrong and what is right."""


class EngineBug(RuntimeError):
    """The engine reached a state it should never reach."""


def move(state: SessionState, status: Status, **changes: object) -> SessionState:
    """The state with its status moved to `status`, as `STATUS_MOVES` allows, and `changes`."""
    if status not in STATUS_MOVES[state.status]:
        raise EngineBug(f"a session cannot move from {state.status} to {status}")
    return state.draft(status=status, **changes)


def start(
    protocol: Protocol,
    members: tuple[str, ...],
    presenters: tuple[str, ...] = (),
    facilitator: str | None = None,
    *,
    now: datetime,
) -> tuple[SessionState, Effects]:
    """Open a session: the first phase begins at `now`."""
    check_setup(protocol, members, presenters, facilitator)
    state = SessionState(
        protocol=protocol,
        members=members,
        presenters=presenters or members[:1],
        facilitator=facilitator,
        status=Status.RUNNING,
        index=0,
        started_at=now,
        clock=now,
        phase_started=now,
        balance={m: Balance() for m in members},
    )
    fx: Effects = [
        OpenSpace(title=protocol.title, members=members),
        Post(PostKind.SESSION_STARTED, wording.session_started(state)),
    ]
    return _enter(state, 0, now, fx).seal(), fx


def step(state: SessionState, event: Event, now: datetime) -> tuple[SessionState, Effects]:
    """Apply one event at time `now`; return the new state and what should happen."""
    now = max(now, state.clock)  # time never runs backwards inside a session
    fx: Effects = []
    if state.ended:
        member = getattr(event, "member", None)
        if member is not None and not isinstance(event, (MemberJoined, MemberLeft)):
            fx.append(Nudge(member, NudgeReason.NOT_ALLOWED, "This session has ended."))
        return state, fx
    match event:
        case MessagePosted():
            new = _on_message(state, event, now, fx)
        case Done():
            new = _on_done(state, event.member, now, fx)
        case Pass():
            new = _on_pass(state, event.member, now, fx)
        case Agree():
            new = _on_agree(state, event.member, now, fx)
        case RecordAction():
            new = _on_action(state, event, fx)
        case FacilitatorCommand():
            new = _on_command(state, event, now, fx)
        case Tick():
            new = _on_tick(state, now, fx)
        case MemberJoined():
            new = _on_joined(state, event.member, fx)
        case MemberLeft():
            new = _on_left(state, event.member, now, fx)
        case _:
            raise EngineBug(f"unknown event {event!r}")
    actor = getattr(event, "member", None)
    if (
        new is not state  # a refused event changes nothing, this included
        and actor in new.members
        and actor not in new.took_part
        and not isinstance(event, (MemberJoined, MemberLeft))
    ):
        new = new.draft(took_part=new.took_part + (actor,))
    return new.draft(clock=now).seal(), fx


# --- setup -----------------------------------------------------------------------------------


def check_setup(
    protocol: Protocol,
    members: tuple[str, ...],
    presenters: tuple[str, ...],
    facilitator: str | None,
) -> None:
    """Raise SetupError if a session of `protocol` cannot start with these people: a caller
    checks this before making anything for the session."""
    size = protocol.group_size
    if any(not m.strip() for m in members):
        raise SetupError("a member's name is empty")
    if len(set(members)) != len(members):
        doubled = sorted({m for m in members if members.count(m) > 1})
        raise SetupError(
            f"{wording.names(doubled, mention=False)} named twice; name each member once"
        )
    if not size.min <= len(members) <= size.max:
        raise SetupError(
            f"{protocol.name} is for {wording.group_size(size.min, size.max)}; "
            f"{len(members)} named ({wording.names(members, mention=False)})"
        )
    known = wording.names(members, mention=False)
    for presenter in presenters:
        if presenter not in members:
            raise SetupError(f"presenter {presenter!r} is not a member; members are {known}")
    if len(set(presenters)) != len(presenters):
        raise SetupError("a presenter is named twice; each presenter has one round")
    if facilitator is not None and facilitator not in members:
        raise SetupError(f"facilitator {facilitator!r} is not a member; members are {known}")


# --- phases and turns ------------------------------------------------------------------------


def _enter(state: SessionState, index: int, now: datetime, fx: Effects) -> SessionState:
    slots = state.slots
    while index < len(slots) and slots[index].presenter not in (None, *state.members):
        index += 1  # this presenter has left: their round is skipped
    if index >= len(slots):
        return _finish(state, now, fx, closed=True)  # the last phase was closed already
    slot = slots[index]
    phase = slot.phase
    new_round = slot.block == "round" and (
        index == 0 or slots[index - 1].presenter != slot.presenter
    )
    if new_round and slot.presenter is not None:
        fx.append(
            Post(
                PostKind.ROUND_STARTED,
                wording.round_started(slot.presenter),
                member=slot.presenter,
            )
        )
    deadline = None
    if EndRule.TIMER in phase.ends_by and phase.minutes is not None:
        deadline = now + timedelta(minutes=phase.minutes)
    state = state.draft(
        index=index,
        phase_started=now,
        phase_deadline=deadline,
        phase_warned=False,
        turn=None,
        turn_started=None,
        turn_deadline=None,
        turn_warned=False,
        queue=(),
        had_turn=(),
        passed=(),
        agreed=(),
        notes_told=False,
    )
    buttons: list[Button] = []
    if EndRule.PRESENTER in phase.ends_by:
        buttons.append(Button.DONE)
    if phase.contract:
        buttons.append(Button.AGREE)
    if phase.asks_for_actions:
        buttons.append(Button.ACTION)
    fx.append(
        Post(
            PostKind.PHASE,
            wording.phase_intro(state),
            tuple(buttons),
            member=slot.presenter,
            phase=phase.id,
        )
    )
    if phase.returns_notes:
        state = _return_notes(state, fx)
    if takes_turns(state):
        state = _advance_turn(state, now, fx)
    return state


def _return_notes(state: SessionState, fx: Effects) -> SessionState:
    if state.notes and state.presenter is not None:
        fx.append(
            Nudge(state.presenter, NudgeReason.NOTES_RETURNED, wording.notes_returned(state.notes))
        )
    return state.draft(notes=())


def _advance_turn(state: SessionState, now: datetime, fx: Effects) -> SessionState:
    """Nobody holds the turn: give it to the next peer, start a new cycle, or end the phase."""
    peers = state.peers
    queue = tuple(m for m in state.queue if m in peers)
    if not queue:
        pending = tuple(m for m in peers if m not in state.had_turn)
        if pending:
            queue = pending
        elif not peers or ends_by(state, EndRule.ROUND_DONE):
            return _end_phase(state, now, fx)
        else:
            queue = peers  # the turn order rotates again until the phase ends another way
    member, rest = queue[0], queue[1:]
    limit = state.phase.turn_minutes
    state = state.draft(
        turn=member,
        turn_started=now,
        turn_deadline=now + timedelta(minutes=limit) if limit else None,
        turn_warned=False,
        queue=rest,
    )
    fx.append(
        Post(
            PostKind.TURN,
            wording.turn(state, member),
            (Button.DONE, Button.PASS),
            member=member,
            phase=state.phase.id,
        )
    )
    if state.phase.stems:
        fx.append(Nudge(member, NudgeReason.STEMS, wording.stems_offer(state)))
    return state


def _end_turn(state: SessionState, now: datetime, fx: Effects, reason: str) -> SessionState:
    member = state.turn
    if member is None or state.turn_started is None:
        raise EngineBug("ending a turn that nobody holds")
    held = (now - state.turn_started).total_seconds()
    counted = reason not in ("pass", "skip", "left")
    state = _credit(state, member, turns=1 if counted else 0, seconds=held)
    passed = state.passed + (member,) if reason in ("pass", "skip") else state.passed
    state = state.draft(
        turn=None,
        turn_started=None,
        turn_deadline=None,
        turn_warned=False,
        had_turn=state.had_turn + (member,),
        passed=passed,
    )
    fx.append(
        Post(
            PostKind.TURN_ENDED,
            wording.turn_ended(member, reason),
            member=member,
            phase=state.phase.id,
            detail=reason,
        )
    )
    if reason == "phase":
        return state
    return _advance_turn(state, now, fx)


def _close_phase(state: SessionState, now: datetime, fx: Effects) -> SessionState:
    """Settle the phase's accounts: the open turn, and the presenter's airtime."""
    if state.turn is not None:
        state = _end_turn(state, now, fx, "phase")
    presenter = state.presenter
    if state.phase.speaking is Speaking.PRESENTER_ONLY and presenter in state.members:
        assert presenter is not None
        held = (now - state.phase_started).total_seconds()
        state = _credit(state, presenter, turns=1, seconds=held)
    return state


def _end_phase(state: SessionState, now: datetime, fx: Effects) -> SessionState:
    state = _close_phase(state, now, fx)
    following = state.index + 1
    slots = state.slots
    if following < len(slots) and slots[following].presenter != state.presenter:
        state = _return_notes(state, fx)  # the round is over: nothing the presenter wrote is lost
    return _enter(state, following, now, fx)


def _finish(
    state: SessionState, now: datetime, fx: Effects, *, closed: bool = False
) -> SessionState:
    if state.paused_at is not None:
        now = state.paused_at  # time stood still while paused
    if not closed and state.status is not Status.ENDED:
        state = _close_phase(state, now, fx)
    state = _return_notes(state, fx)
    state = move(
        state,
        Status.ENDED,
        phase_deadline=None,
        turn=None,
        turn_started=None,
        turn_deadline=None,
        paused_at=None,
        queue=(),
    )
    fx.append(Post(PostKind.SUMMARY, wording.summary(state)))
    fx.append(CloseSpace("ended"))
    return state


def _credit(
    state: SessionState, member: str, *, turns: int = 0, words: int = 0, seconds: float = 0.0
) -> SessionState:
    balance = dict(state.balance)
    old = balance.get(member, Balance())
    balance[member] = Balance(old.turns + turns, old.words + words, old.seconds + seconds)
    return state.draft(balance=balance)


# --- events ----------------------------------------------------------------------------------


def _nudge(
    fx: Effects, member: str, text: str, reason: NudgeReason = NudgeReason.NOT_ALLOWED
) -> None:
    fx.append(Nudge(member, reason, text))


def _on_message(
    state: SessionState, event: MessagePosted, now: datetime, fx: Effects
) -> SessionState:
    member = event.member
    verdict = may_speak(state, member)
    if verdict is Verdict.NOT_A_MEMBER:
        _nudge(fx, member, "You are not a member of this session, so I cannot count you in.")
        return state
    state = _credit(state, member, words=len(event.text.split()))
    if verdict is Verdict.MAY_SPEAK:
        marker = advice_marker(state, member, event.text)
        if marker is not None:
            _nudge(fx, member, wording.advice(state, marker), NudgeReason.ADVICE)
    elif verdict is Verdict.LISTENING:
        state = state.draft(notes=state.notes + (event.text,))
        if not state.notes_told:
            _nudge(fx, member, wording.listening(state), NudgeReason.SILENT_LISTENING)
            state = state.draft(notes_told=True)
    elif verdict is Verdict.SILENCE:
        _nudge(fx, member, wording.silence(state), NudgeReason.SILENCE)
    elif verdict is Verdict.OUT_OF_TURN:
        _nudge(fx, member, wording.out_of_turn(state), NudgeReason.OUT_OF_TURN)
    return state


def _blocked(state: SessionState, member: str, fx: Effects) -> bool:
    if member not in state.members:
        _nudge(fx, member, "You are not a member of this session.")
        return True
    if state.status is Status.PAUSED:
        _nudge(fx, member, wording.paused())
        return True
    return False


def _on_done(state: SessionState, member: str, now: datetime, fx: Effects) -> SessionState:
    if _blocked(state, member, fx):
        return state
    if member == state.turn:
        return _end_turn(state, now, fx, "done")
    if member == state.presenter and ends_by(state, EndRule.PRESENTER):
        return _end_phase(state, now, fx)
    if state.turn is not None:
        _nudge(fx, member, f"Done is for {at(state.turn)}, whose turn it is.")
    else:
        how = " or ".join(
            wording.HOW_IT_ENDS[r].format(
                presenter=at(state.presenter) if state.presenter else "the presenter"
            )
            for r in state.phase.ends_by
        )
        _nudge(fx, member, f"{state.phase.title} ends {how}.")
    return state


def _on_pass(state: SessionState, member: str, now: datetime, fx: Effects) -> SessionState:
    if _blocked(state, member, fx):
        return state
    if member == state.turn:
        return _end_turn(state, now, fx, "pass")
    if state.turn is None:
        _nudge(fx, member, "Nobody holds a turn just now, so there is nothing to pass.")
    else:
        _nudge(fx, member, f"It is {at(state.turn)}'s turn; you can pass when yours comes.")
    return state


def _on_agree(state: SessionState, member: str, now: datetime, fx: Effects) -> SessionState:
    if _blocked(state, member, fx):
        return state
    if state.phase.contract is None:
        _nudge(fx, member, "No ground rules are on the table just now.")
        return state
    if member in state.agreed:
        _nudge(fx, member, "You have agreed already; thank you.")
        return state
    agreed = state.agreed + (member,)
    state = state.draft(agreed=agreed)
    present = [m for m in state.members if m in agreed]
    fx.append(
        Post(
            PostKind.AGREED,
            wording.agreed(member, len(present), len(state.members)),
            member=member,
            phase=state.phase.id,
        )
    )
    if ends_by(state, EndRule.AGREED) and len(present) == len(state.members):
        return _end_phase(state, now, fx)
    return state


def _on_action(state: SessionState, event: RecordAction, fx: Effects) -> SessionState:
    member, text = event.member, " ".join(event.text.split())
    if member not in state.members:
        _nudge(fx, member, "You are not a member of this session.")
        return state
    if not text:
        _nudge(
            fx,
            member,
            "Write the action you will take, e.g. ask my manager about the deadline by Friday.",
        )
        return state
    if len(text) > MAX_ACTION_CHARS:
        _nudge(
            fx,
            member,
            f"That action is {len(text)} characters; keep it to {MAX_ACTION_CHARS} "
            "and record more than one if you need to.",
        )
        return state
    fx.append(RecordActionItem(member, text))
    fx.append(
        Post(PostKind.ACTION_RECORDED, f"{at(member)} recorded an action item.", member=member)
    )
    _nudge(fx, member, f"Recorded your action item: {text}", NudgeReason.ACTION_RECORDED)
    return state.draft(actions=state.actions + ((member, text),))


def _on_command(
    state: SessionState, event: FacilitatorCommand, now: datetime, fx: Effects
) -> SessionState:
    member, command = event.member, event.command
    if not may_facilitate(state, member):
        if member not in state.members:
            _nudge(fx, member, "You are not a member of this session.")
        else:
            _nudge(
                fx,
                member,
                f"Only {at(state.facilitator or '')}, the facilitator, can "
                f"{wording.COMMAND_DOES[command]}.",
            )
        return state
    if command is Command.END:
        return _finish(state, now, fx)
    if command is Command.RESUME:
        return _resume(state, member, now, fx)
    if state.status is Status.PAUSED:
        _nudge(fx, member, "The session is paused; resume it first.")
        return state
    if command is Command.PAUSE:
        fx.append(Post(PostKind.PAUSED, f"{at(member)} paused the session. Take a breath."))
        return move(state, Status.PAUSED, paused_at=now)
    if command is Command.NEXT:
        others_waiting = any(m not in state.had_turn and m != state.turn for m in state.peers)
        if state.turn is not None and others_waiting:
            return _end_turn(state, now, fx, "next")
        return _end_phase(state, now, fx)
    if command is Command.SKIP:
        if state.turn is None:
            _nudge(fx, member, "Nobody holds a turn just now; next moves on to the next part.")
            return state
        return _end_turn(state, now, fx, "skip")
    return _extend(state, member, event.minutes, fx)


def _extend(state: SessionState, member: str, minutes: int | None, fx: Effects) -> SessionState:
    if minutes is None or not 1 <= minutes <= MAX_EXTEND_MINUTES:
        _nudge(fx, member, f"Extend by 1 to {MAX_EXTEND_MINUTES} minutes, e.g. extend 5.")
        return state
    if state.phase_deadline is None and state.turn_deadline is None:
        _nudge(fx, member, f"{state.phase.title} has no time limit to extend.")
        return state
    more = timedelta(minutes=minutes)
    state = state.draft(
        phase_deadline=state.phase_deadline + more if state.phase_deadline else None,
        turn_deadline=state.turn_deadline + more if state.turn_deadline else None,
        phase_warned=False,
        turn_warned=False,
    )
    what = f"{at(state.turn)}'s turn" if state.turn else state.phase.title
    fx.append(
        Post(
            PostKind.EXTENDED,
            f"{what} has {wording.minutes(minutes)} more.",
            phase=state.phase.id,
        )
    )
    return state


def _resume(state: SessionState, member: str, now: datetime, fx: Effects) -> SessionState:
    if state.paused_at is None:
        _nudge(fx, member, "The session is not paused.")
        return state
    gap = now - state.paused_at

    def later(moment: datetime | None) -> datetime | None:
        return moment + gap if moment else None

    fx.append(
        Post(PostKind.RESUMED, f"{at(member)} resumed the session. {state.phase.title} goes on.")
    )
    return move(
        state,
        Status.RUNNING,
        paused_at=None,
        phase_started=state.phase_started + gap,
        phase_deadline=later(state.phase_deadline),
        turn_started=later(state.turn_started),
        turn_deadline=later(state.turn_deadline),
    )


def _on_tick(state: SessionState, now: datetime, fx: Effects) -> SessionState:
    """Fire every due deadline in time order, each at its own moment, not at `now`."""
    for _ in range(_MAX_DEADLINES_PER_TICK):
        if state.status is not Status.RUNNING:
            return state
        phase_warn, turn_warn = state.warn_times()
        due = [
            (at, rank, kind)
            for rank, (at, kind) in enumerate(
                (
                    (state.phase_deadline, "phase_deadline"),
                    (state.turn_deadline, "turn_deadline"),
                    (phase_warn, "phase_warn"),
                    (turn_warn, "turn_warn"),
                )
            )
            if at is not None and at <= now
        ]
        if not due:
            return state
        at, _, kind = min(due)
        at = max(at, state.clock)  # a deadline missed before the last event fires as of it
        if kind == "phase_deadline":
            state = _end_phase(state, at, fx)
        elif kind == "turn_deadline":
            state = _end_turn(state, at, fx, "timeout")
        elif kind == "phase_warn":
            state = state.draft(phase_warned=True)
            fx.append(Post(PostKind.WARNING, wording.warning_phase(state), phase=state.phase.id))
        else:
            state = state.draft(turn_warned=True)
            if state.turn is not None:
                _nudge(fx, state.turn, wording.warning_turn(state), NudgeReason.TIME)
    raise EngineBug("a tick fired more deadlines than any session can have")


def _on_joined(state: SessionState, member: str, fx: Effects) -> SessionState:
    if member in state.members:
        return state
    balance = dict(state.balance)
    balance.setdefault(member, Balance())
    state = state.draft(members=state.members + (member,), balance=balance)
    fx.append(Post(PostKind.MEMBERS, f"Welcome, {at(member)}.", member=member))
    if takes_turns(state) and state.turn is not None:
        state = state.draft(queue=state.queue + (member,))
    return state


def _on_left(state: SessionState, member: str, now: datetime, fx: Effects) -> SessionState:
    if member not in state.members:
        return state
    if state.paused_at is not None:
        now = state.paused_at  # while paused, the session's time stands still
    fx.append(Post(PostKind.MEMBERS, f"{at(member)} has left the session.", member=member))
    was_presenter = state.presenter == member
    state = state.draft(
        members=tuple(m for m in state.members if m != member),
        queue=tuple(m for m in state.queue if m != member),
        facilitator=None if state.facilitator == member else state.facilitator,
    )
    if len(state.members) < 2:
        return _finish(state, now, fx)
    if was_presenter:
        state = _close_phase(state, now, fx)
        return _enter(_return_notes(state, fx), state.index + 1, now, fx)
    if state.turn == member:
        return _end_turn(state, now, fx, "left")
    everyone_agreed = all(m in state.agreed for m in state.members)
    if ends_by(state, EndRule.AGREED) and everyone_agreed and state.paused_at is None:
        return _end_phase(state, now, fx)  # the one still to agree has gone
    return state
