"""The `peerset` command as a user runs it: real processes, piped input, a SQLite file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PEERSET = str(Path(sys.executable).parent / "peerset")
MEMBERS = "alice,bob,carol"

SCRIPT = [
    "alice: /agree",
    "bob: /agree",
    "carol: /agree",
    "alice: Here is my dilemma about the team meeting last week.",
    "bob: Can I ask something already?",
    "alice: /done",
    "bob: Who was there?",
    "alice: Two of my leads.",
    "bob: /done",
    "carol: /pass",
    "bob: That reminds me of when I froze in a meeting.",
    "alice: I feel defensive hearing this.",
    "bob: /done",
    "carol: You should talk to them.",
    "/wait 4",
    "bob: I admired how honest you were.",
    "bob: /done",
    "/skip",
    "alice: I will talk to my leads.",
    "alice: /action Talk to my leads on Monday",
    "alice: /done",
]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERSET_")}
    env.update(PEERSET_DATA_DIR=str(data_dir), PEERSET_LOG_LEVEL="WARNING", **extra)
    return env


def _console(data_dir: Path, lines: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PEERSET, "console", "--protocol", "peer-mentoring-round", "--members", MEMBERS, *args],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        env=_env(data_dir),
        timeout=120,
        check=False,
    )


def test_a_piped_session_runs_from_start_to_end(tmp_path: Path) -> None:
    result = _console(tmp_path, SCRIPT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for title in (
        "Ground rules",
        "Presentation",
        "Clarifying questions",
        "Peer feedback",
        "Positive feedback",
        "Response",
    ):
        assert f"peerset: {title}" in out
    order = [out.index(f"peerset: {t}") for t in ("Ground rules", "Presentation", "Response")]
    assert order == sorted(order)
    assert "(to bob) Right now it is alice's time to speak uninterrupted" in out
    assert "(to alice) You are listening in silence now" in out
    assert '(to carol) "you should" sounds like advice' in out
    assert "Time is up for carol's turn." in out  # the /wait ran her 3-minute turn out
    assert "carol's turn is skipped." in out
    assert "- alice: Talk to my leads on Monday" in out
    assert "(to alice) What you wrote while listening, kept for you:" in out
    assert "I feel defensive hearing this." in out.split("kept for you:")[1]
    assert out.rstrip().endswith("peerset: this session's space is now closed.")
    assert "Traceback" not in result.stderr


def test_bad_lines_get_one_line_errors_and_the_session_goes_on(tmp_path: Path) -> None:
    lines = [
        "dave: hello",
        "no colon here",
        "/extend five",
        "/wait soon",
        "bob: /dance",
        "/done",
        *SCRIPT,
    ]
    result = _console(tmp_path, lines)
    assert result.returncode == 0
    errors = result.stderr.strip().splitlines()
    assert errors[:6] == [
        "error: unknown member 'dave': members are alice, bob, carol",
        "error: cannot read 'no colon here': write 'name: text' to speak as a member, "
        "or a /command (try /help)",
        "error: /extend needs whole minutes, e.g. /extend 5 (got 'five')",
        "error: /wait needs minutes, e.g. /wait 5 (got 'soon')",
        "error: unknown command /dance: known commands are /done, /pass, /agree, /action, "
        "/next, /skip, /extend, /pause, /resume, /end, /wait, /help",
        "error: say who: e.g. 'alice: /done'",
    ]
    assert "this session's space is now closed" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--protocol", "no-such-protocol"], "no protocol is called 'no-such-protocol'"),
        (["--members", "alice"], "peer-mentoring-round is for 3 to 8 members; 1 named (alice)"),
        (["--presenter", "zed"], "presenter 'zed' is not a member"),
        (["--facilitator", "zed"], "facilitator 'zed' is not a member"),
    ],
)
def test_wrong_setup_gets_one_line_and_no_traceback(
    tmp_path: Path, args: list[str], message: str
) -> None:
    command = [PEERSET, "console", "--protocol", "peer-mentoring-round", "--members", MEMBERS]
    command += args
    result = subprocess.run(
        command, input="", capture_output=True, text=True, env=_env(tmp_path), timeout=60
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_protocol_file_gets_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "my-protocol.yaml"
    bad.write_text(
        "title: Mine\nsummary: s\nsource: s\nround:\n  - id: a\n    title: A\n"
        "    prompt: p\n    speaking: SHOUTING\n    ends_by: [P]\n"
    )
    result = subprocess.run(
        [PEERSET, "demo", "--protocol-file", str(bad)],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert str(bad) in result.stderr and "round phase 1 (a), field speaking" in result.stderr


def test_end_of_input_leaves_the_session_to_resume(tmp_path: Path) -> None:
    first = _console(tmp_path, SCRIPT[:7])
    assert first.returncode == 0
    assert "Input ended; the session waits at Clarifying questions" in first.stderr
    second = _console(tmp_path, SCRIPT[7:])
    assert second.returncode == 0
    assert second.stderr.startswith("Resuming session 1: Clarifying questions (alice presenting)")
    assert "peerset: Ground rules" not in second.stdout
    assert "this session's space is now closed" in second.stdout


def _run_until_pause(data_dir: Path, lines: list[str], fault: str | None) -> tuple[str, int]:
    """Run the console; with a fault, SIGKILL it where it pauses. Returns (stdout, lines done)."""
    env = _env(data_dir, **({"PEERSET_FAULT_PAUSE": fault} if fault else {}))
    command = [PEERSET, "console", "--protocol", "peer-mentoring-round", "--members", MEMBERS]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdin and process.stderr and process.stdout
    text = "".join(line + "\n" for line in lines)
    if fault is None:
        out, _ = process.communicate(text, timeout=120)
        return out, len(lines)
    process.stdin.write(text)
    process.stdin.close()
    deadline = time.monotonic() + 60
    marker = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if line.startswith("fault-pause") or not line:
            marker = line
            break
    os.kill(process.pid, signal.SIGKILL)
    out = process.stdout.read()
    process.wait(timeout=30)
    assert marker.startswith("fault-pause"), f"the console did not pause at {fault}: {marker!r}"
    return out, int(marker.split()[-1])


@pytest.mark.parametrize(
    "faults",
    [
        ["before:3", "after:9", "before:20"],
        ["after:1", "before:14", "after:6"],
        ["before:30", "after:7"],
    ],
)
def test_sigkill_at_any_point_loses_nothing_and_repeats_nothing(
    tmp_path: Path, faults: list[str]
) -> None:
    reference, _ = _run_until_pause(tmp_path / "reference", SCRIPT, None)
    assert "this session's space is now closed" in reference
    pieces = []
    remaining = SCRIPT
    data_dir = tmp_path / "crashing"
    for fault in [*faults, None]:
        out, done = _run_until_pause(data_dir, remaining, fault)
        pieces.append(out)
        remaining = remaining[done:]
    assert "".join(pieces) == reference
