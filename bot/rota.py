"""The rota: who takes a turn at a meeting, presenting or facilitating.

Pure: the members, their last turns (meeting numbers) and this meeting's bids come in as
arguments. When bids exceed the slots, those whose last turn is oldest go first (never first,
ties by the set's member order); with no bids the rota proposes the next person; fewer bids
than slots means every bidder takes a turn.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.protocol.model import Phase, Protocol


@dataclass(frozen=True)
class RotaChoice:
    """Who takes a turn, in order of priority, and why, in words a member can read."""

    chosen: tuple[str, ...]
    reason: str


def choose(
    members: Sequence[str],
    last_turn: Mapping[str, int | None],
    bids: Collection[str],
    slots: int,
) -> RotaChoice:
    """Choose who takes a turn this meeting.

    `last_turn` maps a member to the meeting number of their last turn, or None (or no entry)
    for never. `bids` are the members who have something to bring. `slots` is how many turns
    the meeting has (`presenter_slots` for presenters, 1 for a facilitator).
    """
    if not members:
        raise ValueError("a rota needs at least one member")
    if len(set(members)) != len(members):
        raise ValueError("each member appears once in the rota")
    if slots < 1:
        raise ValueError(f"a meeting has at least 1 slot, got {slots}")
    strangers = sorted(set(bids) - set(members))
    if strangers:
        raise ValueError(f"only members can bid: {', '.join(strangers)} is not in this set")

    position = {member: i for i, member in enumerate(members)}

    def priority(member: str) -> tuple[bool, int, int]:
        last = last_turn.get(member)
        return (last is not None, last or 0, position[member])

    def turn(member: str) -> str:
        last = last_turn.get(member)
        when = "no turn yet" if last is None else f"last turn at meeting {last}"
        return f"{member} ({when})"

    if not bids:
        proposed = min(members, key=priority)
        return RotaChoice(
            (proposed,), f"No bids, so the rota proposes the next person: {turn(proposed)}."
        )
    queue = sorted(set(bids), key=priority)
    bid_words = _count(len(queue), "bid")
    slot_words = _count(slots, "slot")
    if len(queue) <= slots:
        return RotaChoice(
            tuple(queue),
            f"{bid_words} for {slot_words}, so every bidder takes a turn: {_and(queue)}.",
        )
    chosen, waiting = queue[:slots], queue[slots:]
    return RotaChoice(
        tuple(chosen),
        f"{bid_words} for {slot_words}, so those whose last turn is oldest go first: "
        f"{_and(turn(m) for m in chosen)}. Waiting: {_and(turn(m) for m in waiting)}.",
    )


def presenter_slots(meeting_minutes: float, protocol: Protocol) -> int:
    """How many presenter rounds fit in a meeting of this length: at least 1.

    Opening and closing phases happen once; each presenter takes one pass through the round
    phases. Phases without a time limit count as no minutes, so a protocol whose round has no
    timed phase gets 1 slot.
    """
    if meeting_minutes <= 0:
        raise ValueError(f"a meeting lasts a positive number of minutes, got {meeting_minutes}")
    per_round = _minutes(protocol.round)
    if per_round <= 0:
        return 1
    available = meeting_minutes - _minutes(protocol.opening) - _minutes(protocol.closing)
    return max(1, int(available // per_round))


def _minutes(phases: Sequence[Phase]) -> float:
    return sum(phase.minutes or 0 for phase in phases)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _and(items: Iterable[str]) -> str:
    words = list(items)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
