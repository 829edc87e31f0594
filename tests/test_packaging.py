"""The package as a user gets it: built, installed (not editable) into a fresh virtual environment,
and run from somewhere else. Proves the protocols and the migrations ship inside the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.protocol import load_shipped

ROOT = Path(__file__).resolve().parent.parent
INSTALL_TIMEOUT = 360  # building and installing with the dependencies, on a slow index
RUN_TIMEOUT = 120

# Never copied: environments, caches, build output and databases of the working tree.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".ci-venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "*.db",
    "*.db-wal",
    "*.db-shm",
)


def _run(command: list[str], *, cwd: Path, env: dict[str, str], timeout: int) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )
    return result.stdout


@pytest.mark.slow
def test_installed_package_runs_the_demo_and_lists_every_protocol(tmp_path: Path) -> None:
    # Build from a copy, so the working tree gets no build output and no stale build/lib can
    # put files into the wheel that the source no longer has.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    venv = tmp_path / "venv"
    elsewhere = tmp_path / "elsewhere"
    data = tmp_path / "data"
    elsewhere.mkdir()

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PEERSET_") and k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    }
    env["PEERSET_DATA_DIR"] = str(data)

    _run([sys.executable, "-m", "venv", str(venv)], cwd=elsewhere, env=env, timeout=RUN_TIMEOUT)
    python, peerset = venv / "bin" / "python", venv / "bin" / "peerset"
    _run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)],
        cwd=elsewhere,
        env=env,
        timeout=INSTALL_TIMEOUT,
    )

    # The code that runs is the installed copy, not the source tree.
    where = _run(
        [str(python), "-c", "import bot, protocols, migrations; print(protocols.__file__)"],
        cwd=elsewhere,
        env=env,
        timeout=RUN_TIMEOUT,
    )
    assert Path(where.strip()).is_relative_to(venv), where

    transcript = _run([str(peerset), "demo"], cwd=elsewhere, env=env, timeout=RUN_TIMEOUT)
    position = 0
    for phase in load_shipped("peer-mentoring-round").phases():
        found = transcript.find(f"peerset: {phase.title}", position)
        assert found >= 0, f"phase {phase.title!r} missing or out of order in:\n{transcript}"
        position = found + 1
    assert (data / "peerset.db").is_file(), "the demo did not migrate its database"

    # Regular meetings: the installed package carries the scheduler's migration and jobs.
    meetings = _run(
        [str(peerset), "demo", "--meetings", "3"], cwd=elsewhere, env=env, timeout=RUN_TIMEOUT
    )
    assert meetings.count('opened a private space "Peer mentoring round"') == 3, meetings
    assert meetings.count("Updates first:") == 2 and "(to alice) Attendance:" in meetings

    listing = _run([str(peerset), "protocols", "list"], cwd=elsewhere, env=env, timeout=RUN_TIMEOUT)
    listed = {line.split("\t", 1)[0] for line in listing.splitlines() if line.strip()}
    shipped = {path.stem for path in (ROOT / "protocols").glob("*.yaml")}
    assert listed == shipped
