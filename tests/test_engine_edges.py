"""Edges of the engine found in review: ending while paused, and the last member still to agree
leaving the ground-rules phase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.engine import start, step
from bot.engine.effects import Post, PostKind
from bot.engine.events import Agree, Command, FacilitatorCommand, MemberLeft
from bot.protocol import load_shipped

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_ending_a_paused_session_counts_no_airtime_for_the_pause() -> None:
    state, _ = start(load_shipped("good-news-analysis"), ("ana", "ben"), now=T0)
    state, _ = step(state, FacilitatorCommand("ben", Command.PAUSE), T0 + timedelta(minutes=1))
    state, fx = step(state, FacilitatorCommand("ben", Command.END), T0 + timedelta(hours=3))
    assert state.ended
    assert state.balance["ana"].seconds == 60  # her story ran one minute before the pause
    assert any(isinstance(e, Post) and e.kind is PostKind.SUMMARY for e in fx)


def test_the_ground_rules_phase_ends_when_the_last_one_to_agree_leaves() -> None:
    members = ("ana", "ben", "cleo", "dev")
    state, _ = start(load_shipped("peer-mentoring-round"), members, now=T0)
    for member in ("ana", "ben", "cleo"):
        state, _ = step(state, Agree(member), T0)
    assert state.phase.id == "contracting"
    state, fx = step(state, MemberLeft("dev"), T0 + timedelta(seconds=30))
    assert state.phase.id == "presentation"
    assert [e.phase for e in fx if isinstance(e, Post) and e.kind is PostKind.PHASE] == [
        "presentation"
    ]
