"""The direction of imports in DESIGN.md, checked on the source: `bot/` never imports an adapter,
Slack or Discord; the engine imports no database library and reads no clock; only the composition
root (`bot/app.py`) reads the settings or opens the database; adapters never query it themselves;
the service never reaches into the scheduler."""

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


def _called_names(path: Path) -> set[str]:
    """The final name of everything called: `upgrade` for `upgrade(url)` and `db.upgrade(url)`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
    return names


def _imports_module(path: Path, module: str) -> bool:
    """Whether the file imports `module` or anything in it, in any form (`import a.b`,
    `from a.b import x`, `from a.b.c import x`, `from a import b`, and relative forms)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(path, node.module, node.level)
            named = [source] + [f"{source}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(name == module or name.startswith(module + ".") for name in named):
            return True
    return False


def _absolute(path: Path, module: str | None, level: int) -> str:
    """The module a `from` import names, relative ones resolved against the file's package."""
    if level == 0:
        return module or ""
    package = list(path.relative_to(ROOT).parent.parts) if path.is_relative_to(ROOT) else []
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, *([module] if module else [])])


# What only the composition root calls: it alone reads the settings and opens the database.
ROOT_ONLY = {"Settings", "SlackSettings", "DiscordSettings", "make_engine", "upgrade"}


def _root_only_calls(path: Path) -> set[str]:
    return _called_names(path) & ROOT_ONLY


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


def _outside_the_root(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return relative != "bot/app.py" and not relative.startswith(("bot/store/", "migrations/"))


@pytest.mark.parametrize(
    "path",
    [p for p in _sources("bot") + _sources("adapters") if _outside_the_root(p)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_root_reads_settings_or_opens_the_database(path: Path) -> None:
    bad = _root_only_calls(path)
    assert not bad, f"{path.relative_to(ROOT)} calls {sorted(bad)}; take it from bot.app"


@pytest.mark.parametrize("path", _sources("adapters"), ids=lambda p: str(p.relative_to(ROOT)))
def test_adapters_do_not_query_the_database(path: Path) -> None:
    assert not _imports_module(path, "bot.store"), (
        f"{path.relative_to(ROOT)} imports bot.store; ask a service function instead"
    )


@pytest.mark.parametrize("path", _sources("bot/service"), ids=lambda p: p.name)
def test_the_service_does_not_reach_into_the_scheduler(path: Path) -> None:
    assert not _imports_module(path, "bot.scheduler"), f"{path.name} imports bot.scheduler"


def test_the_checks_would_catch_a_violation(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("import time\nfrom adapters.console import app\nx = datetime.now()\n")
    assert {"time", "adapters.console"} <= _imports(sneaky)
    assert "datetime.now" in _calls(sneaky)


@pytest.mark.parametrize(
    "source",
    [
        "import bot.store\n",
        "import bot.store.models as models\n",
        "from bot.store import PeerSet\n",
        "from bot.store.db import session_factory\n",
        "from bot import store\n",
        "from bot import clock, store\n",
    ],
)
def test_the_import_check_catches_every_form(tmp_path: Path, source: str) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(source)
    assert _imports_module(sneaky, "bot.store")
    assert not _imports_module(sneaky, "bot.scheduler")


def test_relative_imports_are_read_from_the_files_package() -> None:
    service_file = ROOT / "bot" / "service" / "runtime.py"
    assert _absolute(service_file, "scheduler.worker", 2) == "bot.scheduler.worker"
    assert _absolute(service_file, None, 2) == "bot"
    assert _absolute(service_file, "desk", 1) == "bot.service.desk"


def test_the_import_check_lets_similar_names_pass(tmp_path: Path) -> None:
    fine = tmp_path / "fine.py"
    fine.write_text("import bot.storefront\nfrom bot import storage\nfrom bot.service import x\n")
    assert not _imports_module(fine, "bot.store")


def test_the_root_check_catches_a_call_in_any_form(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "from bot import store\n"
        "settings = Settings()\n"
        "slack = bot.settings.SlackSettings()\n"
        "engine = store.make_engine(url)\n"
        "store.db.upgrade(url)\n"
        "DiscordSettings\n"  # named but not called: fine
    )
    assert _root_only_calls(sneaky) == {"Settings", "SlackSettings", "make_engine", "upgrade"}
    assert _outside_the_root(ROOT / "adapters" / "cli.py")
    assert not _outside_the_root(ROOT / "bot" / "app.py")
    assert not _outside_the_root(ROOT / "bot" / "store" / "db.py")
