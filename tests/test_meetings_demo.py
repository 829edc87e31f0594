"""`peerset demo --meetings 3`: three meetings of one set on virtual time, through the real
scheduler's persisted jobs and the outbox."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from adapters.console.demo import DemoError, demo_members
from adapters.console.meetings_demo import play_meetings
from bot.protocol import load_shipped
from bot.settings import Settings


def _demo(tmp_path: Path, meetings: int) -> list[str]:
    out, err = io.StringIO(), io.StringIO()
    play_meetings(
        Settings(data_dir=tmp_path),
        meetings=meetings,
        protocol=load_shipped("peer-mentoring-round"),
        protocol_ref="peer-mentoring-round",
        members=demo_members(5),
        out=out,
        err=err,
    )
    assert err.getvalue() == ""
    return out.getvalue().splitlines()


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return _demo(tmp_path_factory.mktemp("demo"), 3)


def _after(lines: list[str], pattern: str) -> list[str]:
    return [line for line in lines if re.search(pattern, line)]


def test_three_meetings_each_with_rsvp_reminder_and_session(lines: list[str]) -> None:
    assert len(_after(lines, r"peerset: Meeting \d is .* Are you coming\?")) == 3
    assert len(_after(lines, r"\(to erin\) A reminder: .* \(meeting \d\)")) == 3
    assert len(_after(lines, r'opened a private space "Peer mentoring round"')) == 3
    # Bob said he could not come to meeting 2: its session is opened for the others only.
    opened = _after(lines, "opened a private space")
    assert opened[1].endswith("for alice, carol, dan, erin.")


def test_the_rota_chooses_presenters_least_recently_presented_first(lines: list[str]) -> None:
    rota = _after(lines, "peerset: The rota: ")
    assert len(rota) == 3
    assert (
        "3 bids for 2 slots" in rota[0] and "alice (no turn yet) and bob (no turn yet)" in rota[0]
    )
    # Alice presented at meeting 1, so carol and dan, who never have, go first at meeting 2.
    assert (
        "carol (no turn yet) and dan (no turn yet). Waiting: alice (last turn at meeting 1)"
        in (rota[1])
    )
    assert "No bids, so the rota proposes the next person: erin (no turn yet)" in rota[2]


def test_check_ins_are_answered_and_shown_first_at_the_next_meeting(lines: list[str]) -> None:
    pings = _after(lines, r"\(to \w+\) A check-in from .*How is it going\?")
    assert [re.search(r"\(to (\w+)\)", p)[1] for p in pings] == ["alice", "bob", "carol", "dan"]  # type: ignore[index]
    text = "\n".join(lines)
    second, third = text.split("Updates first:")[1:3]
    assert '#1 “Talk to my team lead about the deadline by Friday”: done ("Done, and it' in (second)
    assert "#2 “Ask two colleagues what they saw in that meeting”: in progress" in second
    # Updates come before anything else: right after the space opens, before the rota.
    assert second.index("#1") < second.index("The rota")
    # Done items from before the last meeting are not repeated; open ones are.
    assert "#1 " not in third.split("The rota")[0]
    assert "#2 " in third and "#3 " in third and "stuck" in third


def test_attendance_shows_who_said_they_would_come_beside_who_took_part(
    lines: list[str],
) -> None:
    at = lines.index(next(line for line in lines if line.endswith("(to alice) Attendance:")))
    history = lines[at + 1 : at + 4]
    assert [h.split(",")[0] for h in history] == ["Meeting 1", "Meeting 2", "Meeting 3"]
    assert (
        "said going: alice, carol, dan and erin; took part: alice, carol, dan and erin"
        in (history[1])
    )
    assert all(", held: " in h for h in history)


def test_no_notice_is_shown_twice(lines: list[str]) -> None:
    notices = _after(lines, r"peerset: (\(to \w+\) )?(Meeting \d is|A reminder|A check-in)")
    assert len(notices) == len(set(notices))


def test_a_demo_of_no_meetings_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="1 meeting or more"):
        _demo(tmp_path, 0)


def test_each_run_starts_afresh(tmp_path: Path) -> None:
    first = _demo(tmp_path, 1)
    again = _demo(tmp_path, 1)
    assert len(_after(again, "opened a private space")) == 1
    assert _after(first, "The rota: ") == _after(again, "The rota: ")
