"""The state as a value: a step copies it once and changes only its copy, the phase plan is
worked out once per session, and neither shows in the stored form."""

from __future__ import annotations

import json
from dataclasses import fields

from bot.engine import SessionState, start, step
from bot.engine.events import Pass
from bot.engine.state import plan
from tests.engine_helpers import ANA, BEN, CLEO, DEV, T0, Run, protocol

MEMBERS = (ANA, BEN, CLEO, DEV)


def test_no_step_changes_a_state_it_was_given_or_gave_out() -> None:
    run = Run("peer-mentoring-round", MEMBERS)
    run.step(Pass(DEV), after=5)  # refused: nobody holds a turn yet
    run.play_to_end()
    state, _ = start(protocol("peer-mentoring-round"), MEMBERS, now=T0)
    for moment in run.history:
        state, _ = step(state, moment.event, moment.now)
        # Taken as it was returned, against the same state after every later step has run.
        assert moment.after.to_dict() == state.to_dict()


def test_a_session_plans_its_phases_once() -> None:
    run = Run("peer-mentoring-round", MEMBERS, presenters=(ANA, BEN))
    run.play_to_end()
    slots = run.history[0].before.slots
    assert slots == plan(protocol("peer-mentoring-round"), (ANA, BEN))
    assert all(moment.after.slots is slots for moment in run.history)
    assert run.state.evolve(presenters=(CLEO,)).slots == plan(run.state.protocol, (CLEO,))


def test_the_stored_form_holds_the_fields_and_nothing_else() -> None:
    run = Run("peer-mentoring-round", MEMBERS)
    run.play_until("peer-feedback")
    data = run.state.to_dict()
    assert set(data) == {f.name for f in fields(SessionState)}
    loaded = SessionState.from_dict(json.loads(json.dumps(data)))
    assert loaded == run.state
    assert loaded.slots == run.state.slots
