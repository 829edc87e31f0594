"""Helpers shared by the engine tests: a clock, a session driven through `start` and `step`
that keeps every effect, and a script that plays a phase the way a well-behaved group would."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from bot.engine import SessionState, start, step
from bot.engine.effects import Effect, Nudge, NudgeReason, Post, PostKind
from bot.engine.events import (
    Agree,
    Command,
    Done,
    Event,
    FacilitatorCommand,
    MessagePosted,
    Tick,
)
from bot.protocol import EndRule, Protocol, Speaking, load_shipped
from bot.protocol.model import TURN_TAKING

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

ANA, BEN, CLEO, DEV, ELI = "Ana", "Ben", "Cleo", "Dev", "Eli"
NAMES = (ANA, BEN, CLEO, DEV, ELI, "Fay", "Gus", "Hana", "Ivo", "Jo", "Kit", "Lu")

# What a well-behaved group says: no advice markers, nothing out of turn.
PEER_SAYS = "I wonder what happened next"
PRESENTER_SAYS = "Then we talked it over"


def at(minutes: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


@cache
def protocol(name: str) -> Protocol:
    return load_shipped(name)


def rotation(members: Iterable[str], presenter: str | None) -> tuple[str, ...]:
    """The peers in turn order: everyone after the presenter, wrapping round."""
    members = tuple(members)
    if presenter is None or presenter not in members:
        return members
    i = members.index(presenter)
    return members[i + 1 :] + members[:i]


def mentions(text: str, member: str) -> bool:
    """`text` names `member` (plainly or as a platform mention), not just a longer word."""
    return re.search(rf"(?<!\w){re.escape(member)}(?!\w)", text) is not None


def line_about(text: str, member: str) -> str:
    """The one line of `text` that names `member`."""
    lines = [line for line in text.splitlines() if mentions(line, member)]
    assert len(lines) == 1, f"{member} is on {len(lines)} lines of {text!r}"
    return lines[0]


def posts(effects: Iterable[Effect], kind: PostKind | None = None) -> list[Post]:
    return [e for e in effects if isinstance(e, Post) and (kind is None or e.kind is kind)]


def nudges(
    effects: Iterable[Effect], member: str | None = None, reason: NudgeReason | None = None
) -> list[Nudge]:
    return [
        e
        for e in effects
        if isinstance(e, Nudge)
        and (member is None or e.member == member)
        and (reason is None or e.reason is reason)
    ]


@dataclass(frozen=True)
class Moment:
    """One step as it happened: enough to replay it."""

    before: SessionState
    event: Event
    now: datetime
    after: SessionState
    effects: list[Effect]


class Run:
    """A session driven through start/step, keeping every effect and every step."""

    def __init__(
        self,
        protocol_or_name: Protocol | str,
        members: Iterable[str],
        presenters: Iterable[str] = (),
        facilitator: str | None = None,
        *,
        now: datetime = T0,
    ) -> None:
        proto = (
            protocol(protocol_or_name) if isinstance(protocol_or_name, str) else protocol_or_name
        )
        self.state, fx = start(proto, tuple(members), tuple(presenters), facilitator, now=now)
        self.now = now
        self.effects: list[Effect] = list(fx)
        self.last: list[Effect] = list(fx)
        self.history: list[Moment] = []

    def step(self, event: Event, *, now: datetime | None = None, after: float = 0) -> list[Effect]:
        """Apply `event` at `now`, or `after` seconds past the last step."""
        when = now if now is not None else self.now + timedelta(seconds=after)
        before = self.state
        self.state, fx = step(before, event, when)
        self.history.append(Moment(before, event, when, self.state, fx))
        self.now = max(self.now, when)
        self.effects.extend(fx)
        self.last = fx
        return fx

    def tick(self, when: datetime) -> list[Effect]:
        return self.step(Tick(), now=when)

    # --- the script of a well-behaved group ----------------------------------------------------

    def _same_phase(self, index: int) -> bool:
        return not self.state.ended and self.state.index == index

    def play_phase(self, pace: float = 10) -> None:
        """Play the current phase to its end: agree, speak in turn, press Done, let time pass."""
        state = self.state
        index, phase, presenter = state.index, state.phase, state.presenter
        if phase.contract is not None:
            for member in state.members:
                if self._same_phase(index):
                    self.step(Agree(member), after=pace)
        elif phase.speaking is Speaking.PRESENTER_ONLY:
            assert presenter is not None
            self.step(MessagePosted(presenter, PRESENTER_SAYS), after=pace)
            if EndRule.PRESENTER in phase.ends_by:
                self.step(Done(presenter), after=pace)
        elif phase.speaking in TURN_TAKING:
            for _ in state.peers:
                if not self._same_phase(index):
                    break
                holder = self.state.turn
                assert holder is not None, f"{phase.id}: nobody holds the turn"
                self.step(MessagePosted(holder, PEER_SAYS), after=pace)
                if phase.speaking is Speaking.QUESTIONS:
                    assert presenter is not None
                    self.step(MessagePosted(presenter, PRESENTER_SAYS), after=pace)
                self.step(Done(holder), after=pace)
        elif phase.speaking is Speaking.ALL:
            for member in state.members:
                self.step(MessagePosted(member, PEER_SAYS), after=pace)
        elif phase.speaking is Speaking.PEERS:
            for member in state.peers:
                self.step(MessagePosted(member, PEER_SAYS), after=pace)
        if self._same_phase(index):
            if EndRule.FACILITATOR in phase.ends_by:
                by = self.state.facilitator or self.state.members[0]
                self.step(FacilitatorCommand(by, Command.NEXT), after=pace)
            else:
                deadline = self.state.phase_deadline
                assert deadline is not None, f"{phase.id} cannot end by itself"
                self.tick(deadline)
        assert not self._same_phase(index), f"{phase.id} did not end"

    def play_until(self, phase_id: str, presenter: str | None = None) -> None:
        """Play phases until `phase_id` (for `presenter`, if given) has just begun."""
        for _ in range(100):
            state = self.state
            assert not state.ended, f"the session ended before {phase_id}"
            if state.phase.id == phase_id and presenter in (None, state.presenter):
                return
            self.play_phase()
        raise AssertionError(f"never reached {phase_id}")

    def play_to_end(self) -> None:
        for _ in range(200):
            if self.state.ended:
                return
            self.play_phase()
        raise AssertionError("the session never ended")
