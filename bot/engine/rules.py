"""Who may speak now, and what else a phase allows: the one place that decides it.

Everything here is a question about a state; nothing changes it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

from bot.engine.state import SessionState
from bot.protocol.model import TURN_TAKING, EndRule, Speaking


class Verdict(StrEnum):
    MAY_SPEAK = "may_speak"
    OUT_OF_TURN = "out_of_turn"
    LISTENING = "listening"  # the presenter, listening in silence: what they write is kept
    SILENCE = "silence"
    PAUSED = "paused"
    NOT_A_MEMBER = "not_a_member"


def may_speak(state: SessionState, member: str) -> Verdict:
    if member not in state.members:
        return Verdict.NOT_A_MEMBER
    if state.paused_at is not None:
        return Verdict.PAUSED
    speaking = state.phase.speaking
    presenter = state.presenter
    if speaking is Speaking.ALL:
        return Verdict.MAY_SPEAK
    if speaking is Speaking.SILENCE:
        return Verdict.LISTENING if member == presenter else Verdict.SILENCE
    if speaking is Speaking.PRESENTER_ONLY:
        return Verdict.MAY_SPEAK if member == presenter else Verdict.OUT_OF_TURN
    if speaking is Speaking.QUESTIONS:
        return Verdict.MAY_SPEAK if member in (presenter, state.turn) else Verdict.OUT_OF_TURN
    if speaking is Speaking.ROUND:
        if member == state.turn:
            return Verdict.MAY_SPEAK
        return Verdict.LISTENING if member == presenter else Verdict.OUT_OF_TURN
    # PEERS: open discussion among the peers while the presenter listens.
    return Verdict.LISTENING if member == presenter else Verdict.MAY_SPEAK


def speakers(state: SessionState) -> tuple[str, ...]:
    """Everyone who may speak at this moment."""
    return tuple(m for m in state.members if may_speak(state, m) is Verdict.MAY_SPEAK)


def takes_turns(state: SessionState) -> bool:
    return state.phase.speaking in TURN_TAKING


def may_facilitate(state: SessionState, member: str) -> bool:
    """The facilitator runs the session where it has one; otherwise the bot does, and any member
    may move it on."""
    if state.facilitator is not None:
        return member == state.facilitator
    return member in state.members


def ends_by(state: SessionState, rule: EndRule) -> bool:
    return rule in state.phase.ends_by


def first_turns_pending(state: SessionState) -> bool:
    """Someone present has not yet had a first turn in this phase."""
    return any(m not in state.had_turn for m in state.peers)


def advice_marker(state: SessionState, member: str, text: str) -> str | None:
    """The advice marker in `text`, when this phase asks for questions or experience instead."""
    if not state.phase.advice_check or member == state.presenter:
        return None
    match = _marker_pattern(state.protocol.advice_markers).search(text)
    return match.group(0).lower() if match else None


@lru_cache(maxsize=64)
def _marker_pattern(markers: tuple[str, ...]) -> re.Pattern[str]:
    # Longest first, so "why don't you" wins over "you"; apostrophes match either kind.
    ordered = sorted(markers, key=len, reverse=True)
    alternatives = [re.escape(m).replace("'", "['\u2019]") for m in ordered]
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)
