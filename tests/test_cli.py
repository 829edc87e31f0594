"""`peerset protocols ...`, `peerset db upgrade`, `peerset schedule ...` and the arguments of
`peerset run scheduler` and `peerset demo --meetings`, as a user types them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect

from adapters.cli import main
from bot.clock import FileClock
from bot.commands import TABLE
from bot.protocol import shipped_names
from bot.protocol.library import shipped_dir
from bot.store import make_engine


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERSET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PEERSET_DATABASE_URL", raising=False)


def test_protocols_list_prints_one_protocol_a_line_name_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["protocols", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == shipped_names()
    assert len(lines) >= 6
    assert any(
        line.startswith("good-news-analysis\t2-8 members\tGood News Analysis: ") for line in lines
    )


def test_protocols_show_lists_the_phases_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocols", "show", "peer-mentoring-round"]) == 0
    out = capsys.readouterr().out
    ids = [
        line.split(":")[0].strip()
        for line in out.splitlines()
        if line.startswith("  ") and "[" in line
    ]
    assert ids == [
        "contracting",
        "presentation",
        "clarifying",
        "peer-feedback",
        "positive-feedback",
        "response",
    ]
    assert (
        "peer-feedback: Peer feedback [ROUND, 12 min, 3 min a turn; ends ROUND-DONE or TIMER]"
        in out
    )


def test_protocols_show_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["protocols", "show", "fishbowl"]) == 2
    err = capsys.readouterr().err
    assert "no protocol is called 'fishbowl'" in err and "good-news-analysis" in err


def test_protocols_validate_names_file_phase_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = shipped_dir() / "troika-consulting.yaml"
    bad = tmp_path / "broken.yaml"
    bad.write_text(good.read_text().replace("speaking: PEERS", "speaking: CHATTER", 1))
    assert main(["protocols", "validate", str(good)]) == 0
    assert "troika-consulting.yaml: ok (troika-consulting" in capsys.readouterr().out
    assert main(["protocols", "validate", str(good), str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"{bad}: round phase 3 (consult), field speaking: ")


def test_db_upgrade_creates_the_default_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == "database is up to date\n" * 2
    database = tmp_path / "data" / "peerset.db"
    tables = set(inspect(make_engine(f"sqlite:///{database}")).get_table_names())
    assert {"sessions", "outbox", "processed_events", "action_items", "sets"} <= tables


def test_a_bad_database_url_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PEERSET_DATABASE_URL", "mysql://somewhere/db")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "PEERSET_DATABASE_URL" in err


# --- a console set's meetings ---------------------------------------------------------------

# A Monday; the file clock makes every answer's dates the same on every run.
MONDAY = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "clock"
    FileClock.write(path, MONDAY)
    monkeypatch.setenv("PEERSET_CLOCK_FILE", str(path))
    return path


def test_schedule_makes_the_set_and_answers_in_its_zone(
    clock_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["schedule", "add", "weekly", "tue", "18:30", "America/New_York", "90", "rsvp", "24h"]
    assert main([*add, "--set", "leaders", "--members", "alice,bob,carol"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "'leaders' meets weekly on Tuesday at 18:30 America/New_York, 90 minutes."
    )
    assert "The first meeting is Tue 17 Nov 2026 18:30 America/New_York;" in out
    assert "its RSVP goes out 24 hours before" in out

    # The set exists now: later commands name it alone, and speak as its first member by default.
    assert main(["schedule", "skip-next", "--set", "leaders"]) == 0
    assert capsys.readouterr().out == (
        "Meeting 1 is skipped; the next is Tue 24 Nov 2026 18:30 America/New_York.\n"
    )
    assert main(["schedule", "move", "2026-11-25", "09:00", "--set", "leaders", "--as", "bob"]) == 0
    assert capsys.readouterr().out == (
        "Meeting 2 now starts Wed 25 Nov 2026 09:00 America/New_York.\n"
    )
    assert main(["schedule", "list", "--set", "leaders"]) == 0
    assert capsys.readouterr().out == (
        "'leaders' meets weekly on Tuesday at 18:30 America/New_York, 90 minutes. Next: "
        "Wed 25 Nov 2026 09:00 America/New_York; Tue 01 Dec 2026 18:30 America/New_York; "
        "Tue 08 Dec 2026 18:30 America/New_York.\n"
    )
    assert main(["bid", "--set", "leaders", "--as", "carol"]) == 0
    assert capsys.readouterr().out == (
        "Thanks: you're going to meeting 2 and have something to bring.\n"
    )
    assert main(["attendance", "--set", "leaders"]) == 0
    assert capsys.readouterr().out.startswith("Attendance:\nMeeting 1, Tue 17 Nov 2026 18:30")
    assert main(["schedule", "cancel", "--set", "leaders"]) == 0
    assert capsys.readouterr().out == "Regular meetings cancelled (1 planned meeting called off).\n"


def test_a_refused_schedule_command_exits_2_with_the_desks_answer(
    clock_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedule", "list", "--set", "leaders", "--members", "alice,bob,carol"]) == 0
    assert capsys.readouterr().out.startswith("'leaders' has no regular meetings. Set them: ")

    assert main(["schedule", "skip-next", "--set", "leaders"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("peerset: This set has no regular meetings yet.") and err.count("\n") == 1

    assert (
        main(
            ["schedule", "add", "weekly", "tue", "18:30", "Mars/Olympus", "90", "--set", "leaders"]
        )
        == 2
    )
    assert "Mars/Olympus" in capsys.readouterr().err

    assert main(["schedule", "cancel", "--set", "leaders", "--as", "mallory"]) == 2
    assert capsys.readouterr().err == (
        "peerset: Only members of 'leaders' can use peerset schedule cancel here.\n"
    )

    assert main(["schedule", "fortnightly", "--set", "leaders"]) == 2
    assert capsys.readouterr().err.startswith("peerset: Use peerset schedule add weekly tue 18:30")


def test_a_set_that_does_not_exist_needs_its_members(
    clock_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedule", "list", "--set", "leaders"]) == 2
    assert capsys.readouterr().err == (
        "peerset: there is no set called 'leaders'; make it by naming its members: "
        "--members alice,bob,carol\n"
    )
    assert main(["schedule", "list", "--set", "leaders", "--members", "alice,,bob smith"]) == 2
    assert "'bob smith' cannot be a name" in capsys.readouterr().err
    made = ["--set", "leaders", "--members", "alice,bob,carol", "--protocol", "troika-consulting"]
    assert main(["schedule", "list", *made]) == 0
    assert main(["schedule", "list", *made]) == 2  # a protocol is chosen once, with the set
    assert capsys.readouterr().err.endswith(
        "set 'leaders' exists already, with troika-consulting; a protocol is chosen only for a "
        "new set\n"
    )


def test_run_scheduler_refuses_a_clock_file_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PEERSET_CLOCK_FILE", str(tmp_path / "missing"))
    assert main(["run", "scheduler"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("peerset: PEERSET_CLOCK_FILE: ") and err.count("\n") == 1
    (tmp_path / "naive").write_text("2026-11-16T12:00:00")
    monkeypatch.setenv("PEERSET_CLOCK_FILE", str(tmp_path / "naive"))
    assert main(["schedule", "list", "--set", "leaders", "--members", "alice,bob,carol"]) == 2
    assert "must hold a time with a zone" in capsys.readouterr().err


def test_run_scheduler_refuses_when_scheduling_is_switched_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PEERSET_SCHEDULER", "false")
    assert main(["run", "scheduler"]) == 2
    assert capsys.readouterr().err == (
        "peerset: PEERSET_SCHEDULER is false, so this worker would never schedule\n"
    )


@pytest.mark.parametrize("meetings", ["0", "-2"])
def test_demo_meetings_needs_one_or_more(meetings: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--meetings", meetings]) == 2
    assert capsys.readouterr().err == (
        f"peerset: --meetings is how many meetings to run, 1 or more; {meetings} asked\n"
    )


def test_demo_meetings_checks_the_members_for_the_protocol(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        main(["demo", "--meetings", "2", "--protocol", "troika-consulting", "--members", "6"]) == 2
    )
    assert "troika-consulting is for 3 to 4 members; --members 6 asked" in capsys.readouterr().err


def test_the_schedule_commands_help_comes_from_the_command_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["schedule", "--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    for spec in TABLE:
        if spec.path[0] == "schedule":
            assert f"peerset {spec.name}" in shown and spec.about in shown
