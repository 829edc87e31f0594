"""`peerset protocols ...` and `peerset db upgrade`, as a user types them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from adapters.cli import main
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
