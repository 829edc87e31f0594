"""The one seam through which the service and the scheduler learn the time.

Real processes use `SystemClock`; tests and piped console sessions use `VirtualClock`, which only
moves when told to, so timers and schedules are tested without sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
