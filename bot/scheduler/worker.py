"""A worker's part in scheduling: wait for the lock, schedule while holding it, hand over if it
is lost. Runs in a thread of its own beside a chat platform's work (or alone, `peerset run
scheduler`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from bot.clock import Clock, FileClock
from bot.scheduler.leader import Leadership, leadership_for
from bot.scheduler.runner import MeetingScheduler
from bot.settings import Settings

log = logging.getLogger(__name__)

# On a file clock, how often the worker looks whether time moved (and wakes the scheduler).
_CLOCK_POLL_SECONDS = 0.05


class SchedulerWorker:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        settings: Settings,
        meeting_scheduler: Callable[[], MeetingScheduler],
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings
        # Makes a scheduler each time this worker takes the lead.
        self.meeting_scheduler = meeting_scheduler
        self.leadership: Leadership = leadership_for(engine, locked=settings.scheduler_lock)
        self.scheduler: MeetingScheduler | None = None
        self.leading = threading.Event()
        # Told True when this worker starts scheduling and False when it finds another one
        # scheduling, once each time that changes, so a person running it can tell.
        self.on_change = on_change
        self._told: bool | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="peerset-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        retry = self.settings.scheduler_retry_seconds
        poll = _CLOCK_POLL_SECONDS if isinstance(self.clock, FileClock) else retry
        seen: datetime | None = None
        waited = retry  # try for the lock at once
        try:
            while not self._stop.is_set():
                if waited >= retry:
                    waited = 0.0
                    self._lead_or_wait()
                if self.scheduler is not None and poll < retry:
                    now = self.clock.now()
                    if now != seen:
                        seen = now
                        self.scheduler.wakeup()
                self._stop.wait(poll)
                waited += poll
        finally:
            self._step_down()
            self.leadership.release()

    def _lead_or_wait(self) -> None:
        try:
            if self.scheduler is not None:
                if not self.leadership.holds():
                    log.warning("this worker lost the scheduler's lock; another takes over")
                    self._step_down()
                    self._tell(False)
                return
            if not self.leadership.acquire():
                self._tell(False)
                return
            log.info("this worker now schedules the meetings")
            self.scheduler = self.meeting_scheduler()
            self.scheduler.start()
            self.leading.set()
            self._tell(True)
        except Exception:
            log.exception("scheduling failed; trying again shortly")
            self._step_down()
            self.leadership.release()
            self._told = None  # neither scheduling nor waiting for another: say which, next

    def _tell(self, leading: bool) -> None:
        if self.on_change is not None and leading != self._told:
            self._told = leading
            self.on_change(leading)

    def _step_down(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
            self.scheduler = None
        self.leading.clear()
