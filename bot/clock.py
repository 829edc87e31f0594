"""The one seam through which the service and the scheduler learn the time.

Real processes use `SystemClock`; tests and piped console sessions use `VirtualClock`, which only
moves when told to, so timers and schedules are tested without sleeping; `FileClock` puts a whole
process (its service and its scheduler alike) on virtual time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a virtual clock starts at an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta(0):
            raise ValueError("a clock never runs backwards")
        self._now += by
        return self._now

    def move_to(self, moment: datetime) -> datetime:
        """Jump forward to `moment`; an earlier moment leaves the clock where it is."""
        self._now = max(self._now, moment)
        return self._now


class FileClock:
    """Reads the time from a file (ISO 8601 with a zone) at every call: a real process on virtual
    time, moved on by whoever writes the file (tests and demos, never production)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        text = self.path.read_text().strip()
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError(f"{self.path} must hold a time with a zone, like {_EXAMPLE}")
        return moment

    @staticmethod
    def write(path: Path, moment: datetime) -> None:
        """Move a file clock to `moment` (atomically, so a reader never sees half a time)."""
        partial = path.with_name(path.name + ".new")
        partial.write_text(moment.isoformat())
        partial.replace(path)


_EXAMPLE = "2026-11-22T18:30:00+00:00"
