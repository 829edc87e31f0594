"""The `/peer` words for regular meetings, action items and check-ins: what each command reads
as, and for each wrong input a message that says what is right."""

from __future__ import annotations

from datetime import date, time

import pytest

from bot.commands import (
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
    parse,
)
from bot.engine.effects import Choice

WEEKLY = "weekly tue 18:30 Europe/London 90"


@pytest.mark.parametrize(
    ("text", "request_"),
    [
        (f"schedule add {WEEKLY}", ScheduleAdd(WEEKLY)),
        (
            f"schedule add {WEEKLY} rsvp 48h remind 4h checkin 7d",
            ScheduleAdd(WEEKLY, rsvp_hours=48, reminder_hours=4, check_in_days=7),
        ),
        # The options in any order, any case, each optional.
        (f"Schedule ADD {WEEKLY} checkin 14D rsvp 72H", ScheduleAdd(WEEKLY, 72, None, 14)),
        (
            "schedule add every 2 weeks thu 09:00 America/New_York 60 remind 2h",
            ScheduleAdd("every 2 weeks thu 09:00 America/New_York 60", reminder_hours=2),
        ),
        (
            "schedule add monthly first tue 18:30 Europe/Berlin 120 from 2026-05-05",
            ScheduleAdd("monthly first tue 18:30 Europe/Berlin 120 from 2026-05-05"),
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
    ],
)
def test_each_new_command_reads_as_its_request(text: str, request_: object) -> None:
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
        # A move needs a real local date and a 24-hour time.
        ("schedule move 2026-13-01 19:00", "/peer schedule move 2026-12-01 19:00"),
        ("schedule move tomorrow 19:00", "Say the new local day and time, in the schedule's"),
        ("schedule move 2026-12-01", "/peer schedule move 2026-12-01 19:00"),
        ("schedule move 2026-12-01 7pm", "/peer schedule move 2026-12-01 19:00"),
        ("schedule move 2026-12-01 19:00 London", "/peer schedule move 2026-12-01 19:00"),
        ("schedule list all", "/peer schedule list takes nothing"),
        ("schedule skip-next 2", "/peer schedule skip-next takes nothing"),
        ("schedule", "Use /peer schedule add weekly tue 18:30 Europe/London 90"),
        ("schedule delete", "/peer schedule skip-next or /peer schedule move 2026-12-01 19:00"),
        # Check-ins: which item, and how it is going in one of three words.
        ("checkin 3 maybe", "done, in-progress or stuck, not `maybe`"),
        ("checkin 3", "Say which action item and how it is going: /peer checkin NUMBER"),
        ("checkin three done", "`three` is not an action item's number (/peer actions lists"),
        # Action items: edit, a number, and the new words.
        ("action edit x words", "`x` is not an action item's number"),
        ("action edit 3", "Change one of your action items: /peer action edit NUMBER new words"),
        ("action 3 new words", "/peer action edit NUMBER new words"),
        ("bid now", "/peer bid takes nothing after it"),
        ("attendance please", "/peer attendance takes nothing after it"),
        ("actions mine", "/peer actions takes nothing after it"),
    ],
)
def test_each_wrong_input_says_what_is_right(text: str, says: str) -> None:
    answer = parse(text)
    assert isinstance(answer, Problem)
    assert says in answer.message


@pytest.mark.parametrize(
    "command",
    [
        "/peer schedule add weekly tue 18:30 Europe/London 90 [rsvp 48h] [remind 4h] [checkin 7d]",
        "every 2 weeks thu 09:00",
        "monthly first tue 18:30",
        "/peer schedule list | cancel | skip-next | move 2026-12-01 19:00",
        "/peer bid",
        "/peer attendance",
        "/peer actions, /peer action edit NUMBER new words",
        "/peer checkin NUMBER done|in-progress|stuck [note]",
    ],
)
def test_usage_lists_the_new_commands(command: str) -> None:
    assert command in USAGE
    # An unknown word is answered with the same list.
    unknown = parse("meetings")
    assert isinstance(unknown, Problem) and command in unknown.message
