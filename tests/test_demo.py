"""`peerset demo`: every shipped protocol runs to its end, and the transcript follows the
protocol file (edit the file, and the session changes with it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from adapters.cli import main
from bot.engine.state import plan
from bot.protocol import load_shipped, shipped_names
from bot.protocol.library import shipped_dir


def _demo(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["demo", *args]) == 0
    return capsys.readouterr().out


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERSET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PEERSET_DATABASE_URL", raising=False)


@pytest.mark.parametrize("name", shipped_names())
def test_every_protocol_runs_to_its_end_with_each_phase_in_order(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    protocol = load_shipped(name)
    out = _demo(capsys, "--protocol", name)
    lines = out.splitlines()
    phase_lines = [i for i, line in enumerate(lines) if "] peerset: " in line and "): " in line]
    titles = [slot.phase.title for slot in plan(protocol, ("alice",))]
    shown = [lines[i].split("] peerset: ", 1)[1].split(" (", 1)[0] for i in phase_lines]
    assert shown == titles
    assert "Speaking balance (turns, words, airtime):" in out
    assert out.rstrip().endswith("peerset: this session's space is now closed.")
    assert "(to bob) Right now it is alice's time to speak uninterrupted." in out
    assert "You are listening in silence now" in out
    if any(p.stems for p in protocol.phases()):
        assert "If it helps, start with:" in out or "Stems you might use:" in out
    if any(p.advice_check for p in protocol.phases()):
        assert "sounds like advice" in out
    if any(p.asks_for_actions for p in protocol.phases()):
        assert "recorded an action item." in out and "Action items:" in out


def test_member_count_outside_the_protocol_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--protocol", "veridical-report", "--members", "5"]) == 2
    assert "veridical-report is for exactly 2 members; --members 5 asked" in capsys.readouterr().err


def _edited(tmp_path: Path, change: object) -> Path:
    data = yaml.safe_load((shipped_dir() / "peer-mentoring-round.yaml").read_text())
    change(data)  # type: ignore[operator]
    path = tmp_path / "our-round.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _peer_feedback(data: dict) -> dict:  # type: ignore[type-arg]
    phase: dict = next(p for p in data["round"] if p["id"] == "peer-feedback")  # type: ignore[type-arg]
    return phase


def test_editing_a_speaking_mode_changes_the_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _demo(capsys)
    assert "Now peers speak one at a time, in turn; alice listens in silence." in before

    def open_discussion(data: dict) -> None:  # type: ignore[type-arg]
        phase = _peer_feedback(data)
        phase.update(speaking="PEERS", ends_by=["TIMER"])
        phase.pop("turn_minutes")

    after = _demo(capsys, "--protocol-file", str(_edited(tmp_path, open_discussion)))
    section = after.split("peerset: Peer feedback")[1].split("peerset: Positive feedback")[0]
    assert "Now peers talk among themselves; alice listens in silence." in section
    assert "your turn" not in section


def test_editing_a_stem_changes_what_peers_are_offered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def new_stem(data: dict) -> None:  # type: ignore[type-arg]
        data["stems"]["reminds_me"] = ["This brings to mind the time I..."]

    out = _demo(capsys, "--protocol-file", str(_edited(tmp_path, new_stem)))
    assert 'If it helps, start with: "This brings to mind the time I..."' in out
    assert 'start with: "That reminds me of when I..."' not in out


def test_editing_the_advice_markers_changes_the_nudge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def markers(data: dict) -> None:  # type: ignore[type-arg]
        data["advice_markers"] = ["how you feel"]

    out = _demo(capsys, "--protocol-file", str(_edited(tmp_path, markers)))
    assert '"how you feel" sounds like advice' in out
    assert '"you should" sounds like advice' not in out

    def no_check(data: dict) -> None:  # type: ignore[type-arg]
        for phase in data["round"]:
            phase.pop("advice_check", None)

    quiet = _demo(capsys, "--protocol-file", str(_edited(tmp_path, no_check)))
    assert "sounds like advice" not in quiet
