"""Real `peerset` processes for tests: started, read line by line as they print, and stopped.

Every wait is a bounded poll; every process a test starts is stopped when the test ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

# However slow the machine, a wait for a process ends (and fails) after this long.
PATIENCE_SECONDS = 30.0


def eventually(
    what: str, condition: Callable[[], object], within: float = PATIENCE_SECONDS
) -> None:
    """Poll `condition` until it is true, or fail saying `what` never happened."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"within {within:g} s: {what}")
        time.sleep(0.05)


def peerset_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This environment without any PEERSET_ setting of the person running the tests, plus
    `settings` (given as PEERSET_ names)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERSET_")}
    env.update(PEERSET_DATA_DIR=str(data_dir), PEERSET_LOG_LEVEL="WARNING", **settings)
    return env


class Peerset:
    """One `peerset ...` process and the lines it has printed so far."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.args = args
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=cwd,  # no .env file of the person running the tests is read
        )
        self.out: list[str] = []
        self.err: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=_read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=_read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def printed(self) -> str:
        return "".join(self.out)

    def said(self) -> list[str]:
        """Its standard error, line by line."""
        return [line.rstrip("\n") for line in self.err]

    def wait_until_said(self, line: str) -> None:
        eventually(f"the process says {line!r}; it said {self.said()}", lambda: line in self.said())

    def wait_until_printed(self, text: str) -> None:
        eventually(
            f"the process prints {text!r}; it printed {self.printed()!r}",
            lambda: text in self.printed(),
        )

    def kill(self) -> None:
        """SIGKILL: the process dies at once, between any two steps of its work."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=PATIENCE_SECONDS)
        self._drain()

    def stop(self) -> int:
        """SIGTERM, as a service manager stops a worker; SIGKILL if it does not stop in time.
        Returns its exit status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=PATIENCE_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill()
        self._drain()
        return self.process.returncode

    def _drain(self) -> None:
        for reader in self._readers:
            reader.join(timeout=PATIENCE_SECONDS)


def _read(stream: IO[str], lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


@contextmanager
def processes(env: dict[str, str], cwd: Path) -> Iterator[Callable[..., Peerset]]:
    """Start `peerset` processes with `start(*args)`; all are stopped when the block ends."""
    started: list[Peerset] = []

    def start(*args: str, **settings: str) -> Peerset:
        process = Peerset(list(args), {**env, **settings}, cwd)
        started.append(process)
        return process

    failed = True
    try:
        yield start
        failed = False
    finally:
        for process in started:
            process.stop()
            if failed:  # what each process said, for whoever reads the failure
                print(f"--- peerset {' '.join(process.args)} said:", *process.said(), sep="\n")
