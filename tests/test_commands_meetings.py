"""The `/peer` words for regular meetings, action items and check-ins: what each command reads
as, and for each wrong input a message that says what is right."""

from __future__ import annotations

from datetime import date, time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import (
    CHECK_IN_WORDS,
    COMMAND_LINE,
    TABLE,
    USAGE,
    ActionEdit,
    Actions,
    Attendance,
    Bid,
    CheckIn,
    Problem,
    ScheduleAdd,
    ScheduleCancel,
    ScheduleList,
    ScheduleMove,
    ScheduleSkip,
    Spec,
    parse,
    spec_of,
    usage,
)
from bot.engine.effects import Choice
from bot.schedule import When

WEEKLY = "weekly tue 18:30 Europe/London 90"
TUESDAYS = When(1, time(18, 30), "Europe/London", 90)


@pytest.mark.parametrize(
    ("text", "request_"),
    [
        (f"schedule add {WEEKLY}", ScheduleAdd(TUESDAYS)),
        (
            f"schedule add {WEEKLY} rsvp 48h remind 4h checkin 7d",
            ScheduleAdd(TUESDAYS, rsvp_hours=48, reminder_hours=4, check_in_days=7),
        ),
        # The options in any order, any case, each optional.
        (f"Schedule ADD {WEEKLY} checkin 14D rsvp 72H", ScheduleAdd(TUESDAYS, None, 72, None, 14)),
        (
            "schedule add every 2 weeks thu 09:00 America/New_York 60 remind 2h",
            ScheduleAdd(When(3, time(9), "America/New_York", 60, weeks=2), reminder_hours=2),
        ),
        (
            "schedule add monthly first tue 18:30 Europe/Berlin 120 from 2026-05-05",
            ScheduleAdd(
                When(1, time(18, 30), "Europe/Berlin", 120, week_of_month=1), date(2026, 5, 5)
            ),
        ),
        (
            f"schedule add {WEEKLY} rsvp 24h from 2026-12-01",
            ScheduleAdd(TUESDAYS, date(2026, 12, 1), rsvp_hours=24),
        ),
        ("schedule list", ScheduleList()),
        ("schedule cancel", ScheduleCancel()),
        ("schedule skip-next", ScheduleSkip()),
        ("schedule move 2026-12-01 19:00", ScheduleMove(date(2026, 12, 1), time(19, 0))),
        ("bid", Bid()),
        ("attendance", Attendance()),
        ("actions", Actions()),
        ("action edit 12 ask Sam about the budget", ActionEdit(12, "ask Sam about the budget")),
        ("action edit #12 call Jo", ActionEdit(12, "call Jo")),
        ("checkin 3 done", CheckIn(3, Choice.DONE)),
        ("checkin #3 in-progress", CheckIn(3, Choice.IN_PROGRESS)),
        (
            "checkin 3 STUCK waiting for the board to meet",
            CheckIn(3, Choice.STUCK, "waiting for the board to meet"),
        ),
        (f"checkin {2**31 - 1} done", CheckIn(2**31 - 1, Choice.DONE)),
    ],
)
def test_each_command_reads_as_its_request(text: str, request_: object) -> None:
    assert parse(text) == request_


@pytest.mark.parametrize(
    ("text", "says"),
    [
        # No recurrence: say how to give one.
        ("schedule add", f"Say when the set meets: /peer schedule add {WEEKLY}"),
        ("schedule add rsvp 48h", f"Say when the set meets: /peer schedule add {WEEKLY}"),
        # A lead without its unit, or not a number, or given twice.
        (f"schedule add {WEEKLY} rsvp 48", "Give rsvp once, in whole hours and the unit: rsvp 48h"),
        (f"schedule add {WEEKLY} remind soon", "in whole hours and the unit: remind 4h"),
        (f"schedule add {WEEKLY} checkin 7", "Give checkin once, in whole days and the unit"),
        (f"schedule add {WEEKLY} checkin 7h", "in whole days and the unit: checkin 7d"),
        (f"schedule add {WEEKLY} rsvp 48h rsvp 24h", "Give rsvp once"),
        (f"schedule add {WEEKLY} rsvp ²h", "Give rsvp once, in whole hours"),
        (f"schedule add {WEEKLY} rsvp 9999999h", "Give rsvp once, in whole hours"),
        (f"schedule add {WEEKLY} from 2026-12-01 from 2026-12-02", "Give one first day"),
        ("schedule add weekly tue 18:30 Mars/Olympus 90", "Unknown time zone 'Mars/Olympus'"),
        ("schedule add weekly tue 18:30 UTC \u0669\u0660", "Length must be whole minutes"),
        # A move needs a real local date and a 24-hour time, in ASCII digits.
        ("schedule move 2026-13-01 19:00", "/peer schedule move YYYY-MM-DD HH:MM"),
        ("schedule move tomorrow 19:00", "A day must look like 2026-05-05, not 'tomorrow'"),
        ("schedule move \uff12\uff10\uff12\uff16-12-01 19:00", "A day must look like 2026-05-05"),
        ("schedule move 2026-12-01", "Give the time too: /peer schedule move YYYY-MM-DD HH:MM"),
        ("schedule move 2026-12-01 7pm", "Time must be 24-hour hours and minutes like 18:30"),
        ("schedule move 2026-12-01 24:00", "Time must be 24-hour hours and minutes like 18:30"),
        ("schedule move 2026-12-01 19:00 London", "`London` does not belong there"),
        ("schedule list all", "/peer schedule list takes nothing"),
        ("schedule skip-next 2", "/peer schedule skip-next takes nothing"),
        ("schedule", "Use /peer schedule add weekly tue 18:30 Europe/London 90"),
        ("schedule delete", "/peer schedule skip-next or /peer schedule move YYYY-MM-DD HH:MM"),
        # Check-ins: which item, and how it is going in one of three words.
        ("checkin 3 maybe", "status is one of done, in-progress, stuck, not `maybe`"),
        ("checkin 3", "Give the status too: /peer checkin NUMBER"),
        ("checkin three done", "`three` is not a whole number from 1 to 2147483647"),
        ("checkin ² done", "`²` is not a whole number"),
        ("checkin 99999999999999999999 done", "is not a whole number from 1 to 2147483647"),
        ("checkin 0 done", "`0` is not a whole number from 1"),
        # Action items: edit, a number, and the new words.
        ("action edit x words", "`x` is not a whole number"),
        ("action edit 9223372036854775808 x", "is not a whole number from 1 to 2147483647"),
        ("action edit ² x", "`²` is not a whole number"),
        ("action edit 3", "Give the text too: /peer action edit NUMBER new words"),
        ("action 3 new words", "Use /peer action edit NUMBER new words"),
        ("bid now", "/peer bid takes nothing after it"),
        ("attendance please", "/peer attendance takes nothing after it"),
        ("actions mine", "/peer actions takes nothing after it"),
        ("extend ²", "`²` is not a whole number from 1 to 120"),
        ("extend 121", "`121` is not a whole number from 1 to 120"),
        ("start " + "a" * 300, "A protocol's name is at most 64"),
        ("set create team <@7> crew <@42>", "`crew` is not a member"),
        (
            "set create " + "n" * 81 + " <@7>",
            "A set's name is at most 80 characters; this one has 81",
        ),
        ("extend 0005", "`0005` is not a whole number from 1 to 120"),
    ],
)
def test_each_wrong_input_says_what_is_right(text: str, says: str) -> None:
    answer = parse(text)
    assert isinstance(answer, Problem)
    assert says in answer.message
    assert "\n" not in answer.message


def test_the_command_line_writes_commands_its_own_way() -> None:
    answer = parse("schedule move tomorrow 19:00", COMMAND_LINE)
    assert isinstance(answer, Problem)
    assert answer.message.endswith("Try: peerset schedule move YYYY-MM-DD HH:MM")
    assert "peerset schedule list: When the set meets" in usage(COMMAND_LINE)


@pytest.mark.parametrize("spec", TABLE, ids=lambda spec: spec.name)
def test_every_command_in_the_table_has_help_an_example_and_a_place_in_the_usage(
    spec: Spec,
) -> None:
    assert f"{spec.syntax()}: {spec.about}" in USAGE.splitlines()
    # Discord shows at most 100 characters of a description.
    assert 0 < len(spec.about) <= 100
    example = parse(spec.example)
    assert not isinstance(example, Problem), example
    assert spec_of(example) is spec
    # An unknown word is answered with where the commands are listed.
    unknown = parse("meetings")
    assert isinstance(unknown, Problem) and "/peer help lists the commands" in unknown.message


# --- the grammar's invariants, over any text ------------------------------------------------

words = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=30)


@settings(deadline=None, max_examples=300)
@given(st.lists(st.one_of(st.sampled_from(sorted({w for s in TABLE for w in s.path})), words)))
def test_any_text_reads_as_a_request_or_one_line_problem(parts: list[str]) -> None:
    answer = parse(" ".join(parts))
    if isinstance(answer, Problem):
        assert answer.message and "\n" not in answer.message
    else:
        assert spec_of(answer) in TABLE


@settings(deadline=None)
@given(
    st.integers(min_value=1, max_value=2**31 - 1),
    st.sampled_from(sorted(CHECK_IN_WORDS)),
    st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), max_size=4),
)
def test_a_check_in_reads_back_as_written(item: int, status: str, note: list[str]) -> None:
    text = " ".join(["checkin", str(item), status, *note])
    assert parse(text) == CheckIn(item, CHECK_IN_WORDS[status], " ".join(note) or None)


@settings(deadline=None)
@given(st.text(alphabet=st.characters(categories=("Nd", "No")), min_size=1, max_size=8))
def test_a_number_in_any_digits_but_ascii_is_refused(number: str) -> None:
    if number.isascii():
        return
    for text in (f"extend {number}", f"checkin {number} done", f"action edit {number} x"):
        assert isinstance(parse(text), Problem)


@settings(deadline=None)
@given(st.dates(), st.times().map(lambda t: t.replace(second=0, microsecond=0)))
def test_a_move_reads_back_as_written(day: date, moment: time) -> None:
    text = f"schedule move {day.isoformat()} {moment:%H:%M}"
    assert parse(text) == ScheduleMove(day, moment)
