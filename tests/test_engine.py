"""The session engine by example: what a facilitator would notice, through start and step."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.engine import SessionState, SetupError, Status, start, step
from bot.engine.effects import (
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
    FacilitatorCommand,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    Pass,
    RecordAction,
    Tick,
)
from bot.engine.wording import COMMAND_DOES
from bot.protocol import EndRule, Phase, Protocol, Speaking, shipped_names
from tests.engine_helpers import (
    ANA,
    BEN,
    CLEO,
    DEV,
    ELI,
    NAMES,
    T0,
    Run,
    at,
    line_about,
    mentions,
    nudges,
    posts,
    protocol,
    rotation,
)

SHIPPED = shipped_names()
GNA = "good-news-analysis"  # story (P-ONLY) -> positive-feedback (ROUND) -> standing-out
PMR = "peer-mentoring-round"  # contracting, presentation, clarifying, peer-, positive-feedback, ...
FOUR = (ANA, BEN, CLEO, DEV)


def kinds(effects: list[Effect]) -> list[tuple[str, str, str | None]]:
    """Each effect as (type, kind or reason, member): easy to compare with an expected story."""
    out: list[tuple[str, str, str | None]] = []
    for e in effects:
        if isinstance(e, Post):
            out.append(("post", e.kind.value, e.member))
        elif isinstance(e, Nudge):
            out.append(("nudge", e.reason.value, e.member))
        else:
            out.append((type(e).__name__, "", getattr(e, "member", None)))
    return out


def text_of(effect: Effect) -> str:
    assert isinstance(effect, (Post, Nudge)), effect
    return effect.text


def protocol_phase(proto: Protocol, phase_id: str | None) -> Phase:
    return next(p for p in proto.phases() if p.id == phase_id)


def feedback_round(members: tuple[str, ...] = FOUR, **kwargs: Any) -> Run:
    """Good News Analysis, at the start of the presenter's positive feedback round."""
    run = Run(GNA, members, **kwargs)
    run.play_until("positive-feedback")
    return run


def command(run: Run, member: str, cmd: Command, minutes: int | None = None) -> list[Effect]:
    return run.step(FacilitatorCommand(member, cmd, minutes))


# --- every shipped protocol, start to end ------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_protocol_runs_from_start_to_end(name: str) -> None:
    proto = protocol(name)
    members = NAMES[: proto.group_size.suggested]
    presenters = members[:2]
    run = Run(proto, members, presenters)
    slots = run.state.slots
    assert [s.presenter for s in slots if s.block == "round"] == [
        p for p in presenters for _ in proto.round
    ]

    run.play_to_end()

    fx = run.effects
    assert fx[0] == OpenSpace(proto.title, members)
    phase_posts = posts(fx, PostKind.PHASE)
    assert [(p.phase, p.member) for p in phase_posts] == [(s.phase.id, s.presenter) for s in slots]
    assert [p.member for p in posts(fx, PostKind.ROUND_STARTED)] == list(presenters)
    assert isinstance(fx[-2], Post) and fx[-2].kind is PostKind.SUMMARY
    assert fx[-1] == CloseSpace("ended")
    assert len(posts(fx, PostKind.SUMMARY)) == 1
    assert sum(isinstance(e, CloseSpace) for e in fx) == 1
    assert run.state.status is Status.ENDED
    assert run.state.notes == ()
    assert run.state.wake_at is None
    # Turns are counted once each: a presenter's part, and every turn not passed or left.
    for member in members:
        presented = [
            p
            for p in phase_posts
            if p.member == member
            and protocol_phase(proto, p.phase).speaking is Speaking.PRESENTER_ONLY
        ]
        took = [
            p
            for p in posts(fx, PostKind.TURN_ENDED)
            if p.member == member and p.detail not in ("pass", "skip", "left")
        ]
        assert run.state.balance[member].turns == len(presented) + len(took), member
    # A well-behaved group is never corrected: the only private words are stems and time.
    assert {n.reason for n in nudges(fx)} <= {NudgeReason.STEMS, NudgeReason.TIME}

    # Cut the effects into one piece per phase, in the order of the slots.
    starts = [fx.index(p) for p in phase_posts] + [fx.index(posts(fx, PostKind.SUMMARY)[0])]
    for slot, begin, end in zip(slots, starts, starts[1:], strict=False):
        piece = fx[begin:end]
        phase = slot.phase
        turns = posts(piece, PostKind.TURN)
        if phase.speaking not in (Speaking.ROUND, Speaking.QUESTIONS):
            assert turns == [], phase.id
            continue
        peers = rotation(members, slot.presenter)
        if EndRule.ROUND_DONE in phase.ends_by:
            assert [t.member for t in turns] == list(peers), phase.id
            ended = posts(piece, PostKind.TURN_ENDED)
            assert [(t.member, t.detail) for t in ended] == [(p, "done") for p in peers]
        else:
            assert [t.member for t in turns][: len(peers)] == list(peers), phase.id
        for turn in turns:
            after = piece[piece.index(turn) + 1 :]
            offered = nudges(after[:1], turn.member, NudgeReason.STEMS)
            if phase.stems:
                assert offered, f"{phase.id}: no stems for {turn.member}"
                for stem_name in phase.stems:
                    for stem in proto.stems[stem_name]:
                        assert stem in offered[0].text
            else:
                assert offered == []


def test_two_presenters_each_get_one_round_in_order() -> None:
    run = Run(GNA, (ANA, BEN, CLEO), presenters=(ANA, BEN))
    run.play_to_end()
    assert [p.member for p in posts(run.effects, PostKind.ROUND_STARTED)] == [ANA, BEN]
    phases = [(p.member, p.phase) for p in posts(run.effects, PostKind.PHASE)]
    ids = [p.id for p in protocol(GNA).round]
    assert phases == [(ANA, i) for i in ids] + [(BEN, i) for i in ids]
    # In Ben's round the peers are Cleo then Ana; Ben never holds a turn in his own round.
    turns = [p.member for p in posts(run.effects, PostKind.TURN)]
    assert turns == [BEN, CLEO, CLEO, ANA]


def test_a_session_starts_with_a_space_and_the_first_phase() -> None:
    state, fx = start(protocol(PMR), FOUR, (BEN,), DEV, now=T0)
    assert fx[0] == OpenSpace(protocol(PMR).title, FOUR)
    assert kinds(fx[1:]) == [("post", "session_started", None), ("post", "phase", None)]
    assert "Facilitator: " in text_of(fx[1]) and mentions(text_of(fx[1]), DEV)
    assert state.phase.id == "contracting"
    assert state.presenters == (BEN,)
    assert state.phase_deadline == at(5)
    # Without presenters named, the first member presents.
    assert start(protocol(PMR), FOUR, now=T0)[0].presenters == (ANA,)


def test_who_took_part_is_who_did_something_themselves() -> None:
    """Attendance: a member who wrote, pressed or agreed took part; one who joined, or whose
    turns only ran out, did not."""
    run = Run(PMR, (ANA, BEN, CLEO))
    run.step(Agree(ANA))
    run.step(MessagePosted(BEN, "Can I say something?"))  # out of turn still counts
    run.step(MemberJoined(DEV))
    run.step(Tick())
    assert run.state.took_part == (ANA, BEN)
    assert SessionState.from_dict(json.loads(json.dumps(run.state.to_dict()))).took_part == (
        ANA,
        BEN,
    )


# --- who may speak -----------------------------------------------------------------------------


def test_a_peer_speaking_while_the_presenter_presents_is_nudged_naming_the_presenter() -> None:
    run = Run(GNA, (ANA, BEN, CLEO))
    assert run.state.phase.speaking is Speaking.PRESENTER_ONLY
    fx = run.step(MessagePosted(BEN, "Can I jump in?"))
    assert fx == [Nudge(BEN, NudgeReason.OUT_OF_TURN, text_of(fx[0]))]
    assert mentions(text_of(fx[0]), ANA)
    assert "time to speak" in text_of(fx[0])
    assert run.step(MessagePosted(ANA, "So it went like this")) == []


def test_a_peer_speaking_out_of_turn_in_a_round_is_nudged_naming_the_turn_holder() -> None:
    run = feedback_round()
    assert run.state.turn == BEN
    fx = run.step(MessagePosted(DEV, "Me next!"))
    assert kinds(fx) == [("nudge", "out_of_turn", DEV)]
    assert mentions(text_of(fx[0]), BEN) and not mentions(text_of(fx[0]), DEV)
    assert run.step(MessagePosted(BEN, "I admired your patience")) == []


def test_questions_and_answers_let_only_the_asker_and_the_presenter_speak() -> None:
    run = Run(PMR, FOUR)
    run.play_until("clarifying")
    assert run.state.phase.speaking is Speaking.QUESTIONS
    assert run.state.turn == BEN
    assert run.step(MessagePosted(BEN, "Who else was there?")) == []
    assert run.step(MessagePosted(ANA, "My manager")) == []
    fx = run.step(MessagePosted(CLEO, "And when was it?"))
    assert kinds(fx) == [("nudge", "out_of_turn", CLEO)]
    assert mentions(text_of(fx[0]), BEN)


def test_a_quiet_moment_asks_everyone_for_silence() -> None:
    run = Run("troika-consulting", (ANA, BEN, CLEO))
    assert run.state.phase.speaking is Speaking.SILENCE
    fx = run.step(MessagePosted(BEN, "hello?"))
    assert kinds(fx) == [("nudge", "silence", BEN)]
    assert run.state.notes == ()


def test_a_stranger_is_told_they_are_not_a_member() -> None:
    run = Run(GNA, (ANA, BEN, CLEO))
    fx = run.step(MessagePosted("Zed", "hi all"))
    assert kinds(fx) == [("nudge", "not_allowed", "Zed")]
    assert "not a member" in text_of(fx[0])
    assert "Zed" not in run.state.balance


# --- silent listening and the presenter's notes ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "listening", "response"),
    [(PMR, "peer-feedback", "response"), ("consultancy", "discussion", "reflection")],
)
def test_the_presenter_listening_in_silence_gets_one_reminder_and_the_notes_back(
    name: str, listening: str, response: str
) -> None:
    run = Run(name, FOUR)
    run.play_until(listening)
    assert run.state.presenter == ANA
    notes = ("note: ask Rosa about budget", "note: the Tuesday thing", "note: breathe")
    said = [kinds(run.step(MessagePosted(ANA, n))) for n in notes]
    assert said == [[("nudge", "silent_listening", ANA)], [], []]  # one reminder, not three
    assert run.state.notes == notes

    run.play_until(response)
    assert run.state.phase.returns_notes
    # The notes come back once, on entering the response phase, in the order written.
    back = nudges(run.last, ANA, NudgeReason.NOTES_RETURNED)
    assert len(back) == 1
    text = back[0].text
    assert [text.index(n) for n in notes] == sorted(text.index(n) for n in notes)
    assert not run.state.notes
    assert len(nudges(run.effects, reason=NudgeReason.NOTES_RETURNED)) == 1


def _without_returns_notes(name: str) -> Protocol:
    data = protocol(name).model_dump()
    for phase in data["round"]:
        phase["returns_notes"] = False
    return Protocol.model_validate(data)


def test_notes_come_back_when_the_round_ends_if_no_phase_returns_them() -> None:
    run = Run(_without_returns_notes(GNA), (ANA, BEN, CLEO), presenters=(ANA, BEN))
    run.play_until("positive-feedback")
    run.step(MessagePosted(ANA, "keep: the timing worked"))
    run.play_until("standing-out")
    assert nudges(run.effects, reason=NudgeReason.NOTES_RETURNED) == []
    assert run.state.notes == ("keep: the timing worked",)
    fx = run.step(Done(ANA))
    back = nudges(fx, ANA, NudgeReason.NOTES_RETURNED)
    assert len(back) == 1 and "keep: the timing worked" in back[0].text
    round_started = posts(fx, PostKind.ROUND_STARTED)
    assert [p.member for p in round_started] == [BEN]
    assert fx.index(back[0]) < fx.index(round_started[0])
    assert not run.state.notes


def test_notes_come_back_when_the_session_ends_early() -> None:
    run = feedback_round()
    run.step(MessagePosted(ANA, "remember: the vendor call"))
    fx = command(run, CLEO, Command.END)
    back = nudges(fx, ANA, NudgeReason.NOTES_RETURNED)
    assert len(back) == 1 and "remember: the vendor call" in back[0].text
    summary = posts(fx, PostKind.SUMMARY)[0]
    assert fx.index(back[0]) < fx.index(summary)
    assert run.state.notes == ()
    assert "remember" not in json.dumps(run.state.to_dict())


def test_notes_come_back_when_the_presenter_leaves() -> None:
    run = feedback_round(presenters=(ANA, BEN))
    run.step(MessagePosted(ANA, "remember: the vendor call"))
    fx = run.step(MemberLeft(ANA))
    assert [n.text for n in nudges(fx, ANA, NudgeReason.NOTES_RETURNED)] == [
        "What you wrote while listening, kept for you:\n- remember: the vendor call"
    ]
    assert run.state.notes == ()


# --- stems and advice --------------------------------------------------------------------------


def test_the_turn_holder_is_offered_the_phase_stems() -> None:
    run = Run(PMR, FOUR)
    run.play_until("peer-feedback")
    fx = run.last
    turn = posts(fx, PostKind.TURN)[0]
    assert turn.member == BEN
    offer = nudges(fx, BEN, NudgeReason.STEMS)
    assert len(offer) == 1
    assert '"That reminds me of when I..."' in offer[0].text
    assert '"I\'m a bit uneasy about..."' in offer[0].text
    assert "What genuinely impressed me" not in offer[0].text  # that is the next phase's stem
    fx = run.step(Done(BEN))
    assert [n.member for n in nudges(fx, reason=NudgeReason.STEMS)] == [CLEO]


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("You should just quit", "you should"),
        ("why don't you talk to her", "why don't you"),
        ("Honestly, why don\u2019t you talk to her?", "why don\u2019t you"),
        ("IF I WERE YOU I'd leave", "if i were you"),
    ],
)
def test_advice_from_the_turn_holder_gets_a_better_stem(text: str, marker: str) -> None:
    run = Run(PMR, FOUR)
    run.play_until("peer-feedback")
    assert run.state.phase.advice_check
    fx = run.step(MessagePosted(BEN, text))
    assert kinds(fx) == [("nudge", "advice", BEN)]
    assert f'"{marker}"' in text_of(fx[0])
    assert protocol(PMR).advice_stem == "That reminds me of when I..."
    assert '"That reminds me of when I..."' in text_of(fx[0])


@pytest.mark.parametrize(
    "text", ["You shoulder a lot", "I was young, you see", "you, should we start?"]
)
def test_words_that_only_look_like_advice_pass(text: str) -> None:
    run = Run(PMR, FOUR)
    run.play_until("peer-feedback")
    assert run.step(MessagePosted(BEN, text)) == []


def test_advice_in_a_phase_without_advice_check_gets_no_nudge() -> None:
    run = Run(PMR, FOUR)
    run.play_until("positive-feedback")
    assert not run.state.phase.advice_check
    assert run.state.turn == BEN
    assert run.step(MessagePosted(BEN, "You should just quit")) == []
    assert run.step(MessagePosted(BEN, "why don't you talk to her")) == []


def test_the_presenter_is_never_nudged_for_advice() -> None:
    run = Run("consultancy", FOUR)
    run.play_until("probing")
    assert run.state.phase.advice_check
    assert run.state.phase.speaking is Speaking.QUESTIONS
    assert run.step(MessagePosted(ANA, "You should just quit, I told myself")) == []
    fx = run.step(MessagePosted(BEN, "You should just quit"))
    assert kinds(fx) == [("nudge", "advice", BEN)]


# --- facilitator commands ----------------------------------------------------------------------


def test_next_closes_the_turn_while_peers_wait_then_closes_the_phase() -> None:
    run = feedback_round()
    assert run.state.turn == BEN
    fx = command(run, ANA, Command.NEXT)
    assert [(p.member, p.detail) for p in posts(fx, PostKind.TURN_ENDED)] == [(BEN, "next")]
    assert [p.member for p in posts(fx, PostKind.TURN)] == [CLEO]
    command(run, ANA, Command.NEXT)
    assert run.state.turn == DEV
    assert run.state.phase.id == "positive-feedback"
    # Dev is the last peer waiting: next now closes the phase.
    fx = command(run, ANA, Command.NEXT)
    assert [(p.member, p.detail) for p in posts(fx, PostKind.TURN_ENDED)] == [(DEV, "phase")]
    assert [p.phase for p in posts(fx, PostKind.PHASE)] == ["standing-out"]
    assert run.state.turn is None


def test_next_closes_a_phase_without_turns() -> None:
    run = Run(GNA, FOUR)
    fx = command(run, BEN, Command.NEXT)
    assert [p.phase for p in posts(fx, PostKind.PHASE)] == ["positive-feedback"]
    assert run.state.turn == BEN


def test_skip_counts_the_turn_as_a_pass() -> None:
    run = feedback_round()
    fx = command(run, ANA, Command.SKIP)
    assert [(p.member, p.detail) for p in posts(fx, PostKind.TURN_ENDED)] == [(BEN, "skip")]
    assert run.state.passed == (BEN,)
    assert run.state.turn == CLEO
    assert run.state.balance[BEN].turns == 0
    run.step(Pass(CLEO))
    assert list(run.state.passed) == [BEN, CLEO]
    run.step(Done(DEV))
    assert run.state.phase.id == "standing-out"
    assert run.state.balance[DEV].turns == 1
    # Skip with nobody holding a turn is refused kindly and changes nothing.
    before = run.state
    fx = command(run, ANA, Command.SKIP)
    assert kinds(fx) == [("nudge", "not_allowed", ANA)]
    assert run.state == before


def test_extend_moves_the_deadlines_by_the_minutes_given() -> None:
    run = feedback_round()
    before = run.state
    assert before.phase_deadline is not None and before.turn_deadline is not None
    fx = command(run, ANA, Command.EXTEND, 5)
    assert kinds(fx) == [("post", "extended", None)]
    assert "5 minutes more" in text_of(fx[0])
    assert run.state.phase_deadline == before.phase_deadline + timedelta(minutes=5)
    assert run.state.turn_deadline == before.turn_deadline + timedelta(minutes=5)
    # The turn now times out five minutes later than it would have.
    assert not posts(run.tick(before.turn_deadline), PostKind.TURN_ENDED)
    fx = run.tick(before.turn_deadline + timedelta(minutes=5))
    assert [p.detail for p in posts(fx, PostKind.TURN_ENDED)] == ["timeout"]


@pytest.mark.parametrize("minutes", [0, 500, None, -3])
def test_extend_by_a_bad_number_is_refused_and_changes_nothing(minutes: int | None) -> None:
    run = feedback_round()
    before = run.state
    fx = command(run, ANA, Command.EXTEND, minutes)
    assert kinds(fx) == [("nudge", "not_allowed", ANA)]
    assert "1 to 120 minutes" in text_of(fx[0])
    assert run.state == before


def test_pause_stops_the_clock_and_resume_shifts_the_deadlines() -> None:
    run = feedback_round()
    before = run.state
    assert before.phase_deadline is not None and before.turn_deadline is not None
    assert before.turn_started is not None
    paused_at = run.now + timedelta(seconds=30)
    fx = run.step(FacilitatorCommand(ANA, Command.PAUSE), now=paused_at)
    assert kinds(fx) == [("post", "paused", None)]
    assert run.state.status is Status.PAUSED
    assert run.state.wake_at is None

    # Time passes far beyond every deadline: nothing happens.
    assert run.tick(paused_at + timedelta(hours=3)) == []
    assert (run.state.turn, run.state.phase.id) == (BEN, "positive-feedback")
    fx = run.step(Done(BEN))
    assert kinds(fx) == [("nudge", "not_allowed", BEN)]
    assert "paused" in text_of(fx[0])
    assert run.state.turn == BEN
    fx = command(run, ANA, Command.NEXT)
    assert kinds(fx) == [("nudge", "not_allowed", ANA)]
    assert run.state.turn == BEN

    resumed_at = paused_at + timedelta(minutes=200)
    fx = run.step(FacilitatorCommand(ANA, Command.RESUME), now=resumed_at)
    assert kinds(fx) == [("post", "resumed", None)]
    gap = timedelta(minutes=200)
    assert run.state.wake_at is not None and run.state.status.value == "running"
    assert run.state.phase_deadline == before.phase_deadline + gap
    assert run.state.turn_deadline == before.turn_deadline + gap
    # The pause is not airtime: Ben spoke 30 seconds before it and 20 after.
    run.step(Done(BEN), now=resumed_at + timedelta(seconds=20))
    assert run.state.balance[BEN].seconds == 50
    # Resume when not paused is refused.
    assert kinds(command(run, ANA, Command.RESUME)) == [("nudge", "not_allowed", ANA)]


def test_end_closes_the_session_with_a_summary() -> None:
    run = feedback_round()
    fx = command(run, CLEO, Command.END)
    assert kinds(fx[-3:]) == [
        ("post", "turn_ended", BEN),
        ("post", "summary", None),
        ("CloseSpace", "", None),
    ]
    assert run.state.status is Status.ENDED
    assert run.state.wake_at is None
    summary = text_of(fx[-2])
    for member in FOUR:
        assert line_about(summary, member).startswith("- ")
    fx = run.step(Done(DEV))
    assert fx == [Nudge(DEV, NudgeReason.NOT_ALLOWED, "This session has ended.")]
    assert run.tick(at(600)) == []


@pytest.mark.parametrize(
    ("cmd", "minutes"),
    [
        (Command.NEXT, None),
        (Command.SKIP, None),
        (Command.EXTEND, 5),
        (Command.PAUSE, None),
        (Command.END, None),
    ],
)
def test_with_a_facilitator_only_they_may_command(cmd: Command, minutes: int | None) -> None:
    run = feedback_round(facilitator=DEV)
    before = run.state
    fx = command(run, BEN, cmd, minutes)
    assert kinds(fx) == [("nudge", "not_allowed", BEN)]
    assert "the facilitator, can " + COMMAND_DOES[cmd] + "." in text_of(fx[0])
    assert mentions(text_of(fx[0]), DEV) and not mentions(text_of(fx[0]), BEN)
    assert run.state == before
    fx = command(run, DEV, cmd, minutes)
    assert not nudges(fx, reason=NudgeReason.NOT_ALLOWED)
    assert run.state != before


def test_without_a_facilitator_any_member_may_command_but_no_stranger() -> None:
    run = feedback_round()
    fx = command(run, "Zed", Command.NEXT)
    assert kinds(fx) == [("nudge", "not_allowed", "Zed")]
    assert "not a member" in text_of(fx[0])
    fx = command(run, CLEO, Command.NEXT)
    assert [p.detail for p in posts(fx, PostKind.TURN_ENDED)] == ["next"]


def test_when_the_facilitator_leaves_anyone_may_command() -> None:
    run = feedback_round(facilitator=DEV)
    run.step(MemberLeft(DEV))
    assert run.state.facilitator is None
    assert kinds(command(run, CLEO, Command.PAUSE)) == [("post", "paused", None)]


# --- timers ------------------------------------------------------------------------------------


def test_a_turn_times_out_at_its_deadline() -> None:
    run = feedback_round()
    started, deadline = run.state.turn_started, run.state.turn_deadline
    assert started is not None and deadline == started + timedelta(minutes=2)
    assert posts(run.tick(deadline - timedelta(seconds=1)), PostKind.TURN_ENDED) == []
    assert run.state.turn == BEN
    fx = run.tick(deadline)
    ended = posts(fx, PostKind.TURN_ENDED)
    assert [(p.member, p.detail) for p in ended] == [(BEN, "timeout")]
    assert "Time is up" in ended[0].text
    assert run.state.turn == CLEO
    assert run.state.turn_started == deadline
    assert run.state.balance[BEN].turns == 1
    assert run.state.balance[BEN].seconds == 120


def test_the_turn_holder_is_warned_before_the_turn_ends() -> None:
    run = feedback_round()
    deadline = run.state.turn_deadline
    assert deadline is not None
    assert run.tick(deadline - timedelta(seconds=31)) == []
    fx = run.tick(deadline - timedelta(seconds=30))
    assert fx == [Nudge(BEN, NudgeReason.TIME, "30 seconds left in your turn.")]
    assert run.tick(deadline - timedelta(seconds=29)) == []  # warned once


def test_the_phase_warning_comes_before_the_phase_deadline() -> None:
    run = Run(GNA, FOUR)
    assert run.state.phase_deadline == at(3)
    assert run.state.wake_at == at(2)
    assert run.tick(at(1, 59)) == []
    fx = run.tick(at(2))
    assert fx == [
        Post(PostKind.WARNING, "1 minute left in Your good news story.", phase="story", detail=None)
    ]
    assert run.state.phase.id == "story"
    assert run.state.wake_at == at(3)
    fx = run.tick(at(3))
    assert [p.phase for p in posts(fx, PostKind.PHASE)] == ["positive-feedback"]


def test_one_late_tick_fires_every_deadline_in_time_order() -> None:
    run = Run(GNA, (ANA, BEN, CLEO))
    fx = run.tick(at(100))
    assert kinds(fx) == [
        ("post", "warning", None),  # 2:00 story
        ("post", "phase", ANA),  # 3:00 positive feedback
        ("post", "turn", BEN),
        ("nudge", "stems", BEN),
        ("nudge", "time", BEN),  # 4:30
        ("post", "turn_ended", BEN),  # 5:00
        ("post", "turn", CLEO),
        ("nudge", "stems", CLEO),
        ("nudge", "time", CLEO),  # 6:30
        ("post", "turn_ended", CLEO),  # 7:00: every peer had a turn
        ("post", "phase", ANA),  # 7:00 standing out
        ("post", "warning", None),  # 9:00
        ("post", "summary", None),  # 10:00
        ("CloseSpace", "", None),
    ]
    balance = run.state.balance
    # Each deadline fired at its own moment, not at the tick's: airtime proves it.
    assert (balance[ANA].turns, balance[ANA].seconds) == (2, 360)
    assert (balance[BEN].turns, balance[BEN].seconds) == (1, 120)
    assert (balance[CLEO].turns, balance[CLEO].seconds) == (1, 120)
    assert line_about(text_of(fx[-2]), ANA).endswith(": 2 turns, 0 words, 6:00")


# --- speaking balance and confidentiality ------------------------------------------------------


def test_balance_counts_words_and_never_keeps_text() -> None:
    run = Run(GNA, (ANA, BEN, CLEO))
    said = {
        ANA: "The merger story went unusually well",
        BEN: "I admired the calm you kept",
        CLEO: "sorry a quick aside about Rosa",
    }
    note = "Note to self: call Rosa"
    run.step(MessagePosted(ANA, said[ANA]))
    run.step(Done(ANA))
    run.step(MessagePosted(BEN, said[BEN]))
    run.step(MessagePosted(CLEO, said[CLEO]))  # out of turn: still counted
    run.step(MessagePosted(ANA, note))  # listening: kept for Ana
    balance = run.state.balance
    assert (balance[ANA].words, balance[BEN].words, balance[CLEO].words) == (11, 6, 6)

    data = run.state.to_dict()
    assert data["notes"] == [note]
    rest = json.dumps({k: v for k, v in data.items() if k != "notes"})
    for text in [*said.values(), note]:
        assert text not in rest
    assert "Rosa" not in rest

    run.play_to_end()
    dumped = json.dumps(run.state.to_dict())
    for text in [*said.values(), note]:
        assert text not in dumped
    assert run.state.balance[ANA].words == 11 + 5  # and the script's words in standing-out


# --- action items ------------------------------------------------------------------------------


def test_an_action_item_is_recorded_tidied() -> None:
    run = Run(GNA, (ANA, BEN, CLEO))
    fx = run.step(RecordAction(ANA, "  ask my   manager\nby Friday "))
    assert fx[0] == RecordActionItem(ANA, "ask my manager by Friday")
    assert kinds(fx[1:]) == [("post", "action_recorded", ANA), ("nudge", "action_recorded", ANA)]
    assert "ask my manager by Friday" in text_of(fx[2])
    assert run.state.actions == ((ANA, "ask my manager by Friday"),)
    run.step(RecordAction(BEN, "x" * 500))
    assert run.state.actions[-1] == (BEN, "x" * 500)
    fx = command(run, ANA, Command.END)
    summary = posts(fx, PostKind.SUMMARY)[0].text
    assert "Action items:" in summary
    assert line_about(summary.split("Action items:")[1], ANA).endswith(": ask my manager by Friday")


@pytest.mark.parametrize(
    ("who", "text", "says"),
    [
        (ANA, "", "Write the action you will take, e.g. ask my manager"),
        (ANA, "  \n ", "Write the action you will take, e.g. ask my manager"),
        (ANA, "y" * 501, "501 characters; keep it to 500"),
        ("Zed", "join the set", "not a member"),
    ],
)
def test_a_bad_action_item_gets_a_clear_nudge(who: str, text: str, says: str) -> None:
    run = Run(GNA, (ANA, BEN, CLEO))
    before = run.state
    fx = run.step(RecordAction(who, text))
    assert kinds(fx) == [("nudge", "not_allowed", who)]
    assert says in text_of(fx[0])
    assert run.state == before


# --- members joining and leaving ---------------------------------------------------------------


def test_a_member_who_joins_gets_a_turn_in_the_current_round() -> None:
    run = feedback_round()
    fx = run.step(MemberJoined(ELI))
    assert kinds(fx) == [("post", "members", ELI)]
    assert "Welcome" in text_of(fx[0]) and mentions(text_of(fx[0]), ELI)
    assert run.state.balance[ELI].turns == 0
    for holder in (BEN, CLEO, DEV):
        assert run.state.turn == holder
        run.step(Done(holder))
    assert run.state.turn == ELI
    assert run.state.phase.id == "positive-feedback"
    fx = run.step(Done(ELI))
    assert [p.phase for p in posts(fx, PostKind.PHASE)] == ["standing-out"]
    # Joining twice changes nothing.
    before = run.state
    assert run.step(MemberJoined(ELI)) == []
    assert run.state == before


def test_a_turn_holder_who_leaves_passes_the_turn_on() -> None:
    run = feedback_round()
    fx = run.step(MemberLeft(BEN))
    assert kinds(fx) == [
        ("post", "members", BEN),
        ("post", "turn_ended", BEN),
        ("post", "turn", CLEO),
        ("nudge", "stems", CLEO),
    ]
    assert posts(fx, PostKind.TURN_ENDED)[0].detail == "left"
    assert run.state.balance[BEN].turns == 0
    run.step(Done(CLEO))
    fx = run.step(Done(DEV))
    assert [p.phase for p in posts(fx, PostKind.PHASE)] == ["standing-out"]


def test_a_peer_waiting_who_leaves_is_not_given_a_turn() -> None:
    run = feedback_round()
    run.step(MemberLeft(CLEO))
    assert run.state.turn == BEN
    fx = run.step(Done(BEN))
    assert [p.member for p in posts(fx, PostKind.TURN)] == [DEV]


def test_the_presenter_leaving_skips_the_rest_of_their_round() -> None:
    run = feedback_round(presenters=(ANA, BEN))
    fx = run.step(MemberLeft(ANA))
    assert kinds(fx) == [
        ("post", "members", ANA),
        ("post", "turn_ended", BEN),
        ("post", "round_started", BEN),
        ("post", "phase", BEN),
    ]
    assert posts(fx, PostKind.TURN_ENDED)[0].detail == "phase"
    assert (run.state.phase.id, run.state.presenter) == ("story", BEN)
    run.play_to_end()
    phases = [(p.member, p.phase) for p in posts(run.effects, PostKind.PHASE)]
    assert (ANA, "standing-out") not in phases


def test_a_presenter_who_left_before_their_round_gets_none() -> None:
    run = feedback_round(presenters=(ANA, BEN))
    run.step(MemberLeft(BEN))
    run.play_to_end()
    assert [p.member for p in posts(run.effects, PostKind.ROUND_STARTED)] == [ANA]
    assert run.state.ended


def test_fewer_than_two_members_ends_the_session() -> None:
    run = Run("veridical-report", (ANA, BEN))
    fx = run.step(MemberLeft(BEN))
    assert kinds(fx) == [
        ("post", "members", BEN),
        ("post", "summary", None),
        ("CloseSpace", "", None),
    ]
    assert run.state.ended


# --- setting up --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "members", "presenters", "facilitator", "message"),
    [
        (PMR, (ANA, BEN), (), None, "peer-mentoring-round is for 3 to 8 members; 2 named"),
        ("veridical-report", (ANA, BEN, CLEO), (), None, "is for exactly 2 members; 3 named"),
        ("troika-consulting", NAMES[:5], (), None, "for 3 to 4 members; 5 named"),
        (GNA, (ANA, BEN), ("Zed",), None, "presenter 'Zed' is not a member"),
        (GNA, (ANA, BEN), (ANA, ANA), None, "a presenter is named twice"),
        (GNA, (ANA, BEN), (), "Zed", "facilitator 'Zed' is not a member"),
        (GNA, (ANA, BEN, ANA), (), None, "Ana named twice"),
        (GNA, (ANA, " "), (), None, "a member's name is empty"),
    ],
)
def test_a_session_that_cannot_start_says_why(
    name: str,
    members: tuple[str, ...],
    presenters: tuple[str, ...],
    facilitator: str | None,
    message: str,
) -> None:
    with pytest.raises(SetupError) as caught:
        start(protocol(name), members, presenters, facilitator, now=T0)
    assert message in str(caught.value)


# --- replay and time ---------------------------------------------------------------------------


def _json_round_trip(state: SessionState) -> SessionState:
    return SessionState.from_dict(json.loads(json.dumps(state.to_dict())))


def _assert_replays(run: Run) -> None:
    assert len(run.history) > 5
    for moment in run.history:
        for state in (moment.before, moment.after):
            back = _json_round_trip(state)
            assert back == state
            assert back.to_dict() == state.to_dict()
        assert step(_json_round_trip(moment.before), moment.event, moment.now) == (
            moment.after,
            moment.effects,
        )


@pytest.mark.parametrize("name", SHIPPED)
def test_state_round_trips_and_replays_through_a_whole_session(name: str) -> None:
    proto = protocol(name)
    members = NAMES[: proto.group_size.suggested]
    run = Run(proto, members, members[:2], members[-1])
    run.play_to_end()
    _assert_replays(run)


def test_state_round_trips_and_replays_through_pauses_notes_and_members() -> None:
    run = feedback_round(facilitator=DEV)
    run.step(MessagePosted(ANA, "a note"), after=5)
    run.step(FacilitatorCommand(DEV, Command.PAUSE), after=5)
    run.step(MemberJoined(ELI), after=5)
    run.step(FacilitatorCommand(DEV, Command.RESUME), after=60)
    run.step(FacilitatorCommand(DEV, Command.EXTEND, 3), after=5)
    run.step(RecordAction(BEN, "call the vendor"), after=5)
    run.step(Pass(BEN), after=5)
    run.step(MemberLeft(CLEO), after=5)
    run.tick(run.now + timedelta(minutes=30))
    assert run.state.ended
    _assert_replays(run)


def test_time_never_runs_backwards() -> None:
    run = feedback_round()
    deadline = run.state.phase_deadline
    assert deadline is not None
    # A message arrives long after every deadline, before any tick fired them.
    run.step(MessagePosted(BEN, "still talking"), now=deadline + timedelta(minutes=5))
    state = run.state
    late = step(state, Tick(), state.clock)
    early = step(state, Tick(), T0)
    assert early == late
    assert [p.phase for p in posts(early[1], PostKind.PHASE)] == ["standing-out"]
    assert early[0].clock == state.clock
    # Done with an earlier time counts airtime up to the session's clock, never less.
    done_early = step(state, Done(BEN), T0)
    assert done_early == step(state, Done(BEN), state.clock)
    started = state.turn_started
    assert started is not None
    assert done_early[0].balance[BEN].seconds == (state.clock - started).total_seconds()


def test_agreeing_to_the_ground_rules_ends_the_contract_phase() -> None:
    run = Run(PMR, FOUR)
    assert run.state.phase.contract == "peer-mentoring-groups"
    for i, member in enumerate(FOUR[:-1], start=1):
        fx = run.step(Agree(member))
        assert kinds(fx) == [("post", "agreed", member)]
        assert f"({i} of 4)" in text_of(fx[0])
    assert kinds(run.step(Agree(ANA))) == [("nudge", "not_allowed", ANA)]
    fx = run.step(Agree(DEV))
    assert [p.phase for p in posts(fx, PostKind.PHASE)] == ["presentation"]
    assert kinds(run.step(Agree(DEV))) == [("nudge", "not_allowed", DEV)]


def test_done_from_someone_else_is_refused_kindly() -> None:
    run = feedback_round()
    before = run.state
    fx = run.step(Done(CLEO))
    assert kinds(fx) == [("nudge", "not_allowed", CLEO)]
    assert "Done is for" in text_of(fx[0]) and mentions(text_of(fx[0]), BEN)
    fx = run.step(Pass(CLEO))
    assert kinds(fx) == [("nudge", "not_allowed", CLEO)]
    assert run.state == before
    # The presenter cannot end a round that ends by turns or time.
    fx = run.step(Done(ANA))
    assert kinds(fx) == [("nudge", "not_allowed", ANA)]
    assert mentions(text_of(fx[0]), BEN)
    assert run.state == before
    # Where nobody holds a turn, Done says how the part ends.
    quiet = Run("troika-consulting", (ANA, BEN, CLEO))
    fx = quiet.step(Done(ANA))
    assert kinds(fx) == [("nudge", "not_allowed", ANA)]
    assert text_of(fx[0]) == "Prepare your question ends when the time is up."
    assert quiet.state.phase.id == "prepare"


def test_wake_at_is_the_next_moment_a_tick_changes_something() -> None:
    run = feedback_round()
    state = run.state
    assert state.turn_deadline is not None
    assert state.wake_at == state.turn_deadline - timedelta(seconds=30)
    assert step(state, Tick(), state.wake_at - timedelta(microseconds=1))[1] == []
    assert step(state, Tick(), state.wake_at)[1] != []


def test_a_deadline_missed_before_the_last_event_fires_as_of_that_event() -> None:
    run = feedback_round()
    deadline = run.state.phase_deadline
    assert deadline is not None
    # Ben presses Done a minute after the phase should have ended; no tick came in between.
    late = deadline + timedelta(minutes=1)
    run.step(Done(BEN), now=late)
    assert (run.state.turn, run.state.turn_started) == (CLEO, late)
    fx = run.tick(late)
    assert [(p.member, p.detail) for p in posts(fx, PostKind.TURN_ENDED)] == [(CLEO, "phase")]
    assert [p.phase for p in posts(fx, PostKind.PHASE)] == ["standing-out"]
    assert run.state.balance[CLEO].seconds == 0
    assert run.state.phase_started == late


def test_a_turn_holder_leaving_during_a_pause_does_not_start_a_turn_in_the_future() -> None:
    run = feedback_round()
    paused_at = run.now + timedelta(seconds=20)
    run.step(FacilitatorCommand(ANA, Command.PAUSE), now=paused_at)
    fx = run.step(MemberLeft(BEN), now=paused_at + timedelta(minutes=4))
    assert [p.member for p in posts(fx, PostKind.TURN)] == [CLEO]
    resumed_at = paused_at + timedelta(minutes=10)
    run.step(FacilitatorCommand(ANA, Command.RESUME), now=resumed_at)
    assert run.state.turn_started == resumed_at
    assert run.state.turn_deadline == resumed_at + timedelta(minutes=2)
    run.step(Done(CLEO), now=resumed_at + timedelta(seconds=15))
    assert run.state.balance[CLEO].seconds == 15
    assert run.state.balance[BEN].seconds == 20
