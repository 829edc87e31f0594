"""The presenter (and facilitator) rota: examples for each rule, and fairness over many meetings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.protocol import load_shipped
from bot.protocol.model import Protocol
from bot.rota import RotaChoice, choose, presenter_slots

MEMBERS = ("Ana", "Ben", "Cleo", "Dev", "Eli")


def test_more_bids_than_slots_never_presented_go_first_in_member_order() -> None:
    last = {"Ana": 4, "Ben": None, "Cleo": 2, "Dev": None, "Eli": 1}
    result = choose(MEMBERS, last, {"Ana", "Ben", "Cleo", "Dev"}, 2)
    assert result.chosen == ("Ben", "Dev")
    assert "2 slots" in result.reason and "Ana" in result.reason and "Cleo" in result.reason


def test_more_bids_than_slots_oldest_last_turn_goes_first() -> None:
    last = {"Ana": 4, "Ben": 3, "Cleo": 2, "Dev": 5, "Eli": 1}
    result = choose(MEMBERS, last, {"Ana", "Ben", "Cleo", "Dev"}, 2)
    assert result.chosen == ("Cleo", "Ben")
    assert "Waiting: Ana (last turn at meeting 4) and Dev (last turn at meeting 5)" in (
        result.reason
    )


def test_ties_in_last_turn_follow_member_order() -> None:
    last = {"Ana": 3, "Ben": 3, "Cleo": 3, "Dev": 3, "Eli": 3}
    assert choose(MEMBERS, last, {"Eli", "Cleo", "Ben"}, 1).chosen == ("Ben",)


def test_missing_entries_count_as_never() -> None:
    assert choose(MEMBERS, {"Ana": 1}, {"Ana", "Eli"}, 1).chosen == ("Eli",)


def test_fewer_bids_than_slots_every_bidder_presents() -> None:
    result = choose(MEMBERS, {"Ana": 9}, {"Ana"}, 2)
    assert result == RotaChoice(("Ana",), "1 bid for 2 slots, so every bidder takes a turn: Ana.")


def test_as_many_bids_as_slots_every_bidder_presents_least_recent_first() -> None:
    result = choose(MEMBERS, {"Ana": 9, "Dev": 2}, {"Ana", "Dev"}, 2)
    assert result.chosen == ("Dev", "Ana")
    assert result.reason.startswith("2 bids for 2 slots, so every bidder takes a turn")


def test_no_bids_proposes_the_one_who_presented_least_recently() -> None:
    last = {"Ana": 4, "Ben": 3, "Cleo": 2, "Dev": 5, "Eli": 6}
    result = choose(MEMBERS, last, set(), 2)
    assert result == RotaChoice(
        ("Cleo",), "No bids, so the rota proposes the next person: Cleo (last turn at meeting 2)."
    )


def test_no_bids_and_nobody_has_presented_proposes_the_first_member() -> None:
    result = choose(MEMBERS, {}, (), 1)
    assert result.chosen == ("Ana",)
    assert "Ana (no turn yet)" in result.reason


def test_facilitator_rota_is_the_same_function_with_one_slot() -> None:
    facilitated = {"Ana": 2, "Ben": 1, "Cleo": None}
    assert choose(("Ana", "Ben", "Cleo"), facilitated, {"Ana", "Ben"}, 1).chosen == ("Ben",)
    assert choose(("Ana", "Ben", "Cleo"), facilitated, (), 1).chosen == ("Cleo",)


@pytest.mark.parametrize(
    ("members", "bids", "slots", "message"),
    [
        ((), (), 1, "at least one member"),
        (("Ana", "Ana"), (), 1, "once"),
        (MEMBERS, (), 0, "at least 1 slot, got 0"),
        (MEMBERS, ("Zed",), 1, "Zed is not in this set"),
    ],
)
def test_wrong_inputs_say_what_is_right(
    members: tuple[str, ...], bids: tuple[str, ...], slots: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        choose(members, {}, bids, slots)


def test_presenter_slots_from_the_meeting_length_and_the_protocol() -> None:
    # Action learning set: opening 40, closing 10, one round 34 minutes.
    als = load_shipped("action-learning-set")
    assert presenter_slots(120, als) == 2
    assert presenter_slots(50 + 34 * 3, als) == 3
    assert presenter_slots(50 + 34 * 3 - 1, als) == 2
    assert presenter_slots(30, als) == 1  # too short for even one round: still one presenter
    # Consultancy: no opening, closing 5, one round 40 minutes.
    assert presenter_slots(90, load_shipped("consultancy")) == 2


def test_presenter_slots_with_an_untimed_round_is_one() -> None:
    als = load_shipped("action-learning-set")
    untimed = als.model_copy(
        update={"round": tuple(p.model_copy(update={"minutes": None}) for p in als.round)}
    )
    assert isinstance(untimed, Protocol)
    assert presenter_slots(120, untimed) == 1


def test_presenter_slots_needs_a_positive_length() -> None:
    with pytest.raises(ValueError, match="positive number of minutes, got 0"):
        presenter_slots(0, load_shipped("consultancy"))


# --- Fairness over a run of meetings -------------------------------------------------------

meetings = st.lists(
    st.tuples(st.sets(st.sampled_from(MEMBERS)), st.integers(1, 2)), min_size=20, max_size=20
)


def _simulate(
    members: tuple[str, ...], plan: list[tuple[set[str], int]]
) -> list[tuple[set[str], tuple[str, ...]]]:
    """Meetings 1..n: each one's bids and who presented. With no bids the proposal is taken."""
    last: dict[str, int | None] = dict.fromkeys(members)
    history = []
    for number, (bids, slots) in enumerate(plan, start=1):
        chosen = choose(members, last, bids, slots).chosen
        for member in chosen:
            last[member] = number
        history.append((bids, chosen))
    return history


@settings(deadline=None)
@given(size=st.integers(2, 5), plan=meetings)
def test_nobody_presents_again_while_a_fellow_bidder_has_never_presented(
    size: int, plan: list[tuple[set[str], int]]
) -> None:
    """Over 20 meetings with random bids and 1 or 2 slots:

    1. Whenever someone presents for the second (or later) time, every member who bid at that
       meeting has presented before or presents at it. (Bids are per meeting: a member who bid
       once and not since has nothing to bring now, so is not owed a turn.)
    2. More sharply, a bidder passed over at a meeting presented more recently than each
       person chosen ahead of them (the same meeting breaks ties by member order).
    3. No one waits for ever: a member is passed over at most (members - 1) times among the
       meetings they bid at, before they next present. Everyone ahead of them presents when
       chosen and moves behind them, and nobody moves ahead, so the queue in front shrinks.
    """
    members = MEMBERS[:size]
    plan = [({m for m in bids if m in members}, slots) for bids, slots in plan]
    history = _simulate(members, plan)
    presented_before: set[str] = set()
    last: dict[str, int] = {}
    passed_over = dict.fromkeys(members, 0)
    for number, (bids, chosen) in enumerate(history, start=1):
        if any(m in presented_before for m in chosen):
            assert bids <= presented_before | set(chosen), f"meeting {number}"
        for waiting in bids - set(chosen):
            for ahead in chosen:
                ahead_key = (last.get(ahead, 0), members.index(ahead))
                assert (last.get(waiting, 0), members.index(waiting)) > ahead_key
            passed_over[waiting] += 1
            assert passed_over[waiting] <= len(members) - 1, f"{waiting} at meeting {number}"
        for member in chosen:
            presented_before.add(member)
            last[member] = number
            passed_over[member] = 0


@settings(deadline=None)
@given(
    size=st.integers(1, 5),
    earlier=st.lists(st.one_of(st.none(), st.integers(1, 10)), min_size=5, max_size=5),
    slots=st.integers(1, 2),
)
def test_with_no_bids_the_rota_cycles_through_everyone_before_anyone_repeats(
    size: int, earlier: list[int | None], slots: int
) -> None:
    """From any earlier history (turns at meetings 1..10), 20 meetings without a single bid
    propose one person each, and every run of `members` consecutive meetings proposes each
    member exactly once."""
    members = MEMBERS[:size]
    last: dict[str, int | None] = dict(zip(members, earlier, strict=False))
    proposed = []
    for number in range(11, 31):
        chosen = choose(members, last, set(), slots).chosen
        assert len(chosen) == 1
        proposed.append(chosen[0])
        last[chosen[0]] = number
    for start in range(len(proposed) - size + 1):
        assert sorted(proposed[start : start + size]) == sorted(members)


def test_no_bids_from_the_start_follows_member_order() -> None:
    last: dict[str, int | None] = {}
    proposed = []
    for number in range(1, 11):
        (member,) = choose(MEMBERS, last, (), 2).chosen
        proposed.append(member)
        last[member] = number
    assert proposed == list(MEMBERS) * 2
