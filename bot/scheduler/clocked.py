"""APScheduler on Peerset's clock.

APScheduler 3 has no clock of its own to inject: it reads the time only as `datetime.now(...)` in
its scheduler and executor base modules. Pointing that one name at a `datetime` whose `now` asks
Peerset's clock puts the scheduler on the same seam as the service, so a whole process runs on
virtual time in tests and demos. With the system clock nothing changes.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

import apscheduler.executors.base as _executors  # type: ignore[import-untyped]
import apscheduler.schedulers.base as _schedulers  # type: ignore[import-untyped]

from bot.clock import Clock, SystemClock

_clock: Clock = SystemClock()


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        moment = _clock.now()
        return moment.astimezone(tz) if tz is not None else moment.astimezone().replace(tzinfo=None)


def use_clock(clock: Clock) -> None:
    """Make APScheduler, in this whole process, read the time from `clock`."""
    global _clock
    _clock = clock
    _schedulers.datetime = _ClockedDatetime
    _executors.datetime = _ClockedDatetime
