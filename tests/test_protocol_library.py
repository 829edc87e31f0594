"""The shipped protocol files load, and broken files are reported with file, phase and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.protocol import Protocol, ProtocolError, Speaking, load_shipped, shipped_names
from bot.protocol.library import check_file, shipped_dir

REQUIRED = {
    "good-news-analysis",
    "peer-mentoring-round",
    "veridical-report",
    "action-learning-set",
    "troika-consulting",
    "consultancy",
}

SHIPPED = shipped_names()


def _raw(name: str) -> dict[str, Any]:
    data = yaml.safe_load((shipped_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _write(tmp_path: Path, data: dict[str, Any], name: str = "broken") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    problems, protocol = check_file(path)
    assert protocol is None
    assert problems
    return [str(p) for p in problems]


# --- the shipped files -------------------------------------------------------------------------


def test_required_protocols_are_shipped() -> None:
    assert set(SHIPPED) >= REQUIRED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_protocol_loads(name: str) -> None:
    protocol = load_shipped(name)
    assert isinstance(protocol, Protocol)
    assert protocol.name == name
    assert protocol.title.strip()
    assert protocol.summary.strip()
    assert protocol.source.strip()
    assert len(protocol.round) >= 1


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_stems_are_defined_and_not_empty(name: str) -> None:
    protocol = load_shipped(name)
    for phase in protocol.phases():
        for stem in phase.stems:
            assert protocol.stems.get(stem), f"{name}: {phase.id} offers empty stems {stem!r}"
            assert all(s.strip() for s in protocol.stems[stem])


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_phases_fit_the_engine(name: str) -> None:
    protocol = load_shipped(name)
    for phase in protocol.phases():
        assert phase.minutes is not None, f"{name}: {phase.id} has no time box"
        assert 1 <= phase.minutes <= 15, f"{name}: {phase.id} runs {phase.minutes} minutes"
        if phase.speaking in (Speaking.ROUND, Speaking.QUESTIONS):
            assert phase.turn_minutes is not None, f"{name}: {phase.id} has no turn limit"
            assert phase.turn_minutes <= phase.minutes
        if phase.advice_check:
            assert protocol.advice_stem
        if phase.contract is not None:
            assert protocol.contracts[phase.contract]
    for marker in protocol.advice_markers:
        assert marker == marker.lower().strip()
    responses = [p for p in protocol.round if p.returns_notes]
    assert responses, f"{name}: no round phase hands the presenter's notes back"
    assert all(p.speaking is Speaking.PRESENTER_ONLY for p in responses)


def test_shipped_files_start_with_a_comment() -> None:
    for name in SHIPPED:
        first = (shipped_dir() / f"{name}.yaml").read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# "), name


def test_contract_rules_come_from_the_contracts_folder() -> None:
    for name, contract in [
        ("peer-mentoring-round", "peer-mentoring-groups"),
        ("action-learning-set", "action-learning"),
    ]:
        assert "contracts" not in _raw(name)
        shipped = yaml.safe_load(
            (shipped_dir() / "contracts" / f"{contract}.yaml").read_text(encoding="utf-8")
        )
        protocol = load_shipped(name)
        assert protocol.contracts[contract] == tuple(shipped["rules"])
        phase = protocol.opening[0]
        assert phase.contract == contract
        assert "AGREED" in phase.ends_by


def test_peer_mentoring_contract_has_the_toolkit_rules() -> None:
    rules = " ".join(load_shipped("peer-mentoring-round").contracts["peer-mentoring-groups"])
    for words in [
        "best they can with the resources",
        "voluntary",
        "non-competitive",
        "OK to make mistakes",
        "advice",
        "post mortems",
    ]:
        assert words in rules


def test_shipped_contract_files_are_well_formed() -> None:
    files = sorted((shipped_dir() / "contracts").glob("*.yaml"))
    assert {f.stem for f in files} >= {"peer-mentoring-groups", "action-learning"}
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data["title"], str) and data["title"].strip()
        assert data["rules"] and all(isinstance(r, str) and r.strip() for r in data["rules"])


def test_peer_mentoring_round_follows_the_toolkit() -> None:
    protocol = load_shipped("peer-mentoring-round")
    feedback = next(p for p in protocol.round if p.id == "peer-feedback")
    assert feedback.speaking is Speaking.ROUND
    assert feedback.advice_check
    assert set(feedback.stems) == {"reminds_me", "devils_advocate"}
    assert protocol.stems["reminds_me"] == ("That reminds me of when I...",)
    last = protocol.round[-1]
    assert last.speaking is Speaking.PRESENTER_ONLY
    assert last.returns_notes and last.asks_for_actions


def test_veridical_report_is_for_pairs() -> None:
    protocol = load_shipped("veridical-report")
    size = protocol.group_size
    assert (size.min, size.max, size.suggested) == (2, 2, 2)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ProtocolError) as caught:
        load_shipped("no-such-protocol")
    message = str(caught.value)
    assert "no-such-protocol" in message
    for name in REQUIRED:
        assert name in message


# --- error reporting ---------------------------------------------------------------------------


def test_bad_speaking_code_names_file_phase_and_field(tmp_path: Path) -> None:
    data = _raw("peer-mentoring-round")
    data["round"][1]["speaking"] = "TALK"
    path = _write(tmp_path, data)
    [problem] = _problems(path)
    assert problem.startswith(f"{path}: round phase 2 (clarifying), field speaking: ")
    assert "P-ONLY" in problem


def test_timer_without_minutes(tmp_path: Path) -> None:
    data = _raw("peer-mentoring-round")
    phase = data["round"][2]
    phase["ends_by"] = ["TIMER"]
    del phase["minutes"]
    path = _write(tmp_path, data)
    [problem] = _problems(path)
    assert problem.startswith(f"{path}: round phase 3 (peer-feedback), field minutes: ")
    assert "TIMER" in problem


def test_unknown_stem_name(tmp_path: Path) -> None:
    data = _raw("peer-mentoring-round")
    data["round"][2]["stems"] = ["reminds_me", "no_such_stems"]
    path = _write(tmp_path, data)
    [problem] = _problems(path)
    assert problem.startswith(f"{path}: round phase 3 (peer-feedback), field stems: ")
    assert "'no_such_stems'" in problem


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("title: [unclosed\nround:\n  - id: story\n", encoding="utf-8")
    [problem] = _problems(path)
    assert problem.startswith(f"{path}: line 2: is not valid YAML")


def test_missing_round(tmp_path: Path) -> None:
    data = _raw("good-news-analysis")
    del data["round"]
    path = _write(tmp_path, data)
    [problem] = _problems(path)
    assert problem.startswith(f"{path}: field round: ")
    assert "required" in problem.lower()


def test_contract_that_does_not_exist(tmp_path: Path) -> None:
    data = _raw("peer-mentoring-round")
    data["opening"][0]["contract"] = "no-such-rules"
    path = _write(tmp_path, data)
    [problem] = _problems(path)
    assert problem.startswith(f"{path}: opening phase 1 (contracting), field contract: ")
    assert "'no-such-rules'" in problem


def test_every_problem_is_reported(tmp_path: Path) -> None:
    data = _raw("consultancy")
    data["round"][1]["speaking"] = "TALK"
    data["closing"][0]["ends_by"] = ["ROUND-DONE"]
    path = _write(tmp_path, data)
    problems = _problems(path)
    assert len(problems) == 2
    assert problems[0].startswith(f"{path}: round phase 2 (clarifying), field speaking: ")
    assert problems[1].startswith(f"{path}: closing phase 1 (debrief), field ends_by: ")


def test_inline_contract_is_used_before_shipped_ones(tmp_path: Path) -> None:
    data = _raw("peer-mentoring-round")
    data["contracts"] = {"peer-mentoring-groups": ["Our own rule."]}
    problems, protocol = check_file(_write(tmp_path, data))
    assert problems == []
    assert protocol is not None
    assert protocol.contracts["peer-mentoring-groups"] == ("Our own rule.",)


def test_name_is_the_file_stem_in_kebab_case(tmp_path: Path) -> None:
    data = _raw("veridical-report")
    problems, protocol = check_file(_write(tmp_path, data, name="My_Pair Talk"))
    assert problems == []
    assert protocol is not None
    assert protocol.name == "my-pair-talk"
