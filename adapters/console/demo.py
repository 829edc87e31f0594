"""Simulated members for `peerset demo`: they read the session as a person reads the thread
(whose turn, which part) and type console lines. Every line goes through the console adapter, so
the transcript is rendered only from effects delivered through the outbox.

The members are a little imperfect on purpose, so the demo shows the bot's nudges: one speaks out
of turn, one gives advice where the protocol asks for experience, the presenter jots notes while
listening in silence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from adapters.console.app import ConsoleSession
from bot.engine import SessionState
from bot.protocol.model import EndRule, Speaking

NAMES = ("alice", "bob", "carol", "dan", "erin", "fay", "gus", "hal")
MAX_LINES = 2000


class DemoError(RuntimeError):
    """The simulated members could not finish the session."""


@dataclass
class _Memory:
    done: set[tuple[object, ...]] = field(default_factory=set)
    interrupted: bool = False
    advised: bool = False
    passed: bool = False

    def first(self, *key: object) -> bool:
        """True the first time `key` is seen."""
        if key in self.done:
            return False
        self.done.add(key)
        return True


def demo_members(count: int) -> tuple[str, ...]:
    if not 1 <= count <= len(NAMES):
        raise ValueError(f"the demo has 1 to {len(NAMES)} members; --members {count} asked")
    return NAMES[:count]


def play(app: ConsoleSession) -> None:
    memory = _Memory()
    for _ in range(MAX_LINES):
        if app.ended:
            return
        line = next_line(app.state, memory)
        app.feed(line, typing=_typing_time(line))
    raise DemoError(f"the session did not end within {MAX_LINES} lines")


def next_line(state: SessionState, memory: _Memory) -> str:
    phase, index = state.phase, state.index
    presenter, peers = state.presenter, state.peers
    if phase.contract:
        for member in state.members:
            if member not in state.agreed:
                return f"{member}: /agree"
    speaking = phase.speaking
    if speaking is Speaking.PRESENTER_ONLY and presenter:
        if memory.first(index, "story"):
            return f"{presenter}: {_presenter_line(phase.asks_for_actions, phase.returns_notes)}"
        if not memory.interrupted and peers:
            memory.interrupted = True
            return f"{peers[0]}: Sorry, can I just ask who else was in that meeting?"
        if phase.asks_for_actions and memory.first(index, "action"):
            return f"{presenter}: /action {_action_for(state, presenter)}"
        if EndRule.PRESENTER in phase.ends_by:
            return f"{presenter}: /done"
        return _wait_or_next(state)
    if speaking in (Speaking.QUESTIONS, Speaking.ROUND):
        return _turn_line(state, memory)
    if speaking is Speaking.PEERS and presenter:
        for peer in peers[:2]:
            if memory.first(index, "say", peer):
                return f"{peer}: {_peer_line(state, memory)}"
        if memory.first(index, "note"):
            return f"{presenter}: Note to self: I never asked what they needed."
        return _wait_or_next(state)
    if speaking is Speaking.ALL:
        for member in state.members[:3]:
            if memory.first(index, "say", member):
                return f"{member}: That worked for me; the turns kept it calm."
        return _wait_or_next(state)
    if speaking is Speaking.SILENCE and presenter and memory.first(index, "note"):
        return f"{presenter}: Note to self: what am I avoiding here?"
    return _wait_or_next(state)


def _turn_line(state: SessionState, memory: _Memory) -> str:
    turn, presenter, index = state.turn, state.presenter, state.index
    if turn is None:
        return _wait_or_next(state)
    if turn in state.had_turn:  # everyone has had a turn; the phase runs on its timer
        return _wait_or_next(state)
    this_turn = (index, turn, len(state.had_turn))
    if state.phase.speaking is Speaking.QUESTIONS:
        if memory.first(*this_turn, "ask"):
            return f"{turn}: {_advice(state, memory, '?') or _question(state)}"
        if presenter and memory.first(*this_turn, "answer"):
            return f"{presenter}: Mostly my two leads; it had been building for a month."
        return f"{turn}: /done"
    if not memory.passed and len(state.peers) >= 3 and turn == state.peers[-1]:
        memory.passed = True
        return f"{turn}: /pass"
    if memory.first(*this_turn, "say"):
        return f"{turn}: {_peer_line(state, memory)}"
    if presenter and memory.first(index, "note"):
        return f"{presenter}: Note to self: ask the team what they saw."
    return f"{turn}: /done"


def _typing_time(line: str) -> timedelta:
    """Members take a little while to write: about 20 seconds for a sentence."""
    if line.startswith("/"):
        return timedelta(0)
    words = len(line.split())
    return timedelta(seconds=3 if words <= 2 else min(10 + 2 * words, 60))


def _wait_or_next(state: SessionState) -> str:
    if state.phase_deadline is None:
        return "/next"
    left = (state.phase_deadline - state.clock).total_seconds() / 60
    return f"/wait {max(math.ceil(left * 2) / 2, 0.5):g}"


def _presenter_line(actions: bool, responding: bool) -> str:
    if actions:
        return "What stands out for me: I went quiet when I should have asked. I'll change that."
    if responding:
        return "Hearing you all, I think I was protecting myself more than the project."
    return (
        "Last month my project slipped and I told the team late. The meeting went badly and "
        "I left feeling I had let them down."
    )


ACTIONS = (
    "Talk to my team lead about the deadline by Friday",
    "Ask two colleagues what they saw in that meeting",
    "Block an hour each week to plan before I commit",
    "Tell the client about the delay myself, this week",
)


def _action_for(state: SessionState, presenter: str) -> str:
    """Each presenter commits to something of their own."""
    return ACTIONS[state.members.index(presenter) % len(ACTIONS)]


QUESTIONS = (
    "Who was in the room when you told them?",
    "How long had you known before you said anything?",
    "What did your team lead say afterwards?",
    "How did you feel walking out of that meeting?",
)


def _question(state: SessionState) -> str:
    """A question in the phase's own stems where it has question stems."""
    count = len(state.had_turn)
    stems = [s for s in _stems(state) if s.rstrip().endswith("?")]
    if stems:
        stem = stems[count % len(stems)]
        told = stem.endswith(("when...?", "after...?", "before...?"))
        return stem.replace("...?", " you told them?" if told else " that?")
    return QUESTIONS[count % len(QUESTIONS)]


def _advice(state: SessionState, memory: _Memory, end: str) -> str | None:
    """Advice, once, in the first phase that checks for it: the demo's nudge shows why not."""
    if not state.phase.advice_check or memory.advised:
        return None
    memory.advised = True
    marker = state.protocol.advice_markers[0]
    return f"{marker[0].upper()}{marker[1:]} just tell them how you feel{end}"


def _peer_line(state: SessionState, memory: _Memory) -> str:
    advice = _advice(state, memory, " next time.")
    if advice:
        return advice
    stems = _stems(state)
    if not stems:
        return "I noticed how honestly you told it; that took courage."
    stem = stems[len(state.had_turn) % len(stems)].rstrip(".?")
    if stem.endswith(" I"):
        return stem + " let a deadline slip and said nothing for weeks; it got worse, not better."
    return stem + " the way you owned your part in it."


def _stems(state: SessionState) -> list[str]:
    return [s for name in state.phase.stems for s in state.protocol.stems[name]]
