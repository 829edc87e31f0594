"""The direction of imports in DESIGN.md, checked on the source: `bot/` never imports an adapter,
Slack or Discord; the engine imports no database library and reads no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _calls(path: Path) -> set[str]:
    """Dotted names of everything called, e.g. `datetime.now`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            names.add(ast.unparse(node.func))
    return names


def _sources(folder: str) -> list[Path]:
    paths = sorted((ROOT / folder).rglob("*.py"))
    assert paths, f"no sources under {folder}"
    return paths


@pytest.mark.parametrize("path", _sources("bot"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_no_adapter_or_platform(path: Path) -> None:
    forbidden = ("adapters", "slack_bolt", "slack_sdk", "discord")
    bad = {m for m in _imports(path) if m.split(".")[0] in forbidden}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", _sources("bot/engine"), ids=lambda p: p.name)
def test_engine_is_pure(path: Path) -> None:
    impure = (
        "sqlalchemy",
        "bot.store",
        "bot.service",
        "bot.settings",
        "bot.clock",
        "time",
        "socket",
        "asyncio",
        "random",
        "os",
    )
    bad = {m for m in _imports(path) if m in impure or m.split(".")[0] in impure}
    assert not bad, f"{path.name} imports {sorted(bad)}"
    clocks = {c for c in _calls(path) if c.endswith((".now", ".utcnow", ".today", "time.time"))}
    assert not clocks, f"{path.name} reads a clock: {sorted(clocks)}"


def test_the_checks_would_catch_a_violation(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("import time\nfrom adapters.console import app\nx = datetime.now()\n")
    assert {"time", "adapters.console"} <= _imports(sneaky)
    assert "datetime.now" in _calls(sneaky)
