"""The meeting scheduler: Peerset's calendar turned into APScheduler jobs, and jobs run.

Schedules, meetings and action items live in Peerset's tables, which any worker may change (a
`/peer schedule` command, a recorded action item). The scheduler keeps one job per thing to do,
with a stable id (`rsvp:7`, `remind:7`, `open:7`, `check-in:12`), in APScheduler's SQLAlchemy job
store in the same database, and brings them up to date at start and every
`scheduler_sync_seconds` (and after each meeting opens).

Misfires, chosen on purpose:
- `open:` jobs have a grace of `late_start_minutes`: a meeting whose start the bot missed by a
  little still opens late; by more, APScheduler reports the job missed and the set is told. The
  sync at start-up tells the same for meetings whose job was never stored. Never both, never
  twice: a meeting leaves "planned" only by a conditional update.
- `rsvp:` and `remind:` jobs may run late until the meeting starts, not after.
- `check-in:` jobs have no grace: a ping a day late is better than none.
- Every job coalesces: however many runs were missed, it runs once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent  # type: ignore[import-untyped]
from apscheduler.executors.debug import DebugExecutor  # type: ignore[import-untyped]
from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.jobstores.base import JobLookupError  # type: ignore[import-untyped]
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.schedulers.base import BaseScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlalchemy import Engine, select

from bot.clock import Clock
from bot.scheduler import jobs
from bot.scheduler.clocked import use_clock
from bot.service.calendar import Calendar, planned_meetings
from bot.service.checkins import CheckIns
from bot.service.meetings import Meetings
from bot.settings import Settings
from bot.store import ActionItem, Schedule, session_factory

log = logging.getLogger(__name__)

JOBS_TABLE = "apscheduler_jobs"
SYNC_JOB = "sync"
# Jobs the sync owns (and may remove); any other job is left alone.
_OWNED = ("rsvp:", "remind:", "open:", "check-in:")


class _JobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """APScheduler's SQLAlchemy job store, where removing a job another scheduler removed first
    is no error. With the lock in force only one scheduler uses the store; with it bypassed (a
    test of meeting uniqueness) both run each job, and neither may stop over the other's
    removal."""

    def remove_job(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            super().remove_job(job_id)


class SteppedScheduler(BaseScheduler):  # type: ignore[misc]
    """Runs due jobs only when told, in the caller's thread: the demo and one-process tests on a
    virtual clock use it, with the same job store and jobs as the real thing."""

    def shutdown(self, wait: bool = True) -> None:  # abstract in BaseScheduler
        super().shutdown(wait)

    def wakeup(self) -> None:
        pass  # nothing waits: `run_due` is called

    def run_due(self) -> None:
        self._process_jobs()

    def next_run_time(self) -> datetime | None:
        times = [job.next_run_time for job in self.get_jobs() if job.next_run_time is not None]
        return min(times) if times else None


@dataclass(frozen=True, slots=True)
class _Wanted:
    func: Callable[[int], None]
    arg: int
    at: datetime
    grace: int | None


class MeetingScheduler:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        settings: Settings,
        *,
        calendar: Calendar,
        meetings: Meetings,
        checkins: CheckIns,
        stepped: bool = False,
    ) -> None:
        use_clock(clock)
        self.engine = engine
        self.clock = clock
        self.late_start = timedelta(minutes=settings.late_start_minutes)
        self.sync_every = settings.scheduler_sync_seconds
        self.calendar = calendar
        self.meetings = meetings
        self.checkins = checkins
        self._sessions = session_factory(engine)
        options: dict[str, Any] = {
            "jobstores": {"default": _JobStore(engine=engine, tablename=JOBS_TABLE)},
            "executors": {"default": DebugExecutor() if stepped else ThreadPoolExecutor(2)},
            "job_defaults": {"coalesce": True, "max_instances": 1},
            "timezone": UTC,
        }
        self.scheduler: BaseScheduler = (
            SteppedScheduler(**options) if stepped else BackgroundScheduler(**options)
        )
        self.scheduler.add_listener(self._missed, EVENT_JOB_MISSED)

    # --- life -------------------------------------------------------------------------------

    def start(self) -> None:
        jobs.bind(self)
        self.scheduler.start(paused=True)
        self.sync()
        self.scheduler.add_job(
            jobs.sync,
            IntervalTrigger(seconds=self.sync_every, start_date=self.clock.now(), timezone=UTC),
            id=SYNC_JOB,
            replace_existing=True,
            misfire_grace_time=None,
        )
        self.scheduler.resume()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        jobs.bind(None)

    def wakeup(self) -> None:
        self.scheduler.wakeup()

    # --- the calendar into jobs ---------------------------------------------------------------

    def sync(self, set_id: int | None = None) -> None:
        """Bring the calendar up to date and make the jobs match it: for every set, or, after
        one set's meeting moved on, for that set alone (which only adds jobs; the next full sync
        removes those no longer wanted)."""
        if not self.scheduler.running:
            return  # shut down meanwhile (a job still finishing): the next leader syncs
        self.calendar.plan_all(set_id)
        wanted = self._wanted(set_id)
        now = self.clock.now()
        if set_id is None:
            present = {job.id: job for job in self.scheduler.get_jobs()}
        else:  # one set's few jobs, without reading every job in the store
            found = (self.scheduler.get_job(job_id) for job_id in wanted)
            present = {job.id: job for job in found if job is not None}
        for job_id, want in wanted.items():
            job = present.get(job_id)
            if job is not None and job.next_run_time == want.at:
                continue
            self.scheduler.add_job(
                want.func,
                DateTrigger(run_date=want.at, timezone=UTC),
                args=(want.arg,),
                id=job_id,
                replace_existing=True,
                misfire_grace_time=want.grace,
            )
        if set_id is not None:
            return
        for job_id, job in present.items():
            # A job whose time has come is APScheduler's to run and remove, never ours.
            owned = job_id.startswith(_OWNED)
            if owned and job_id not in wanted and job.next_run_time and job.next_run_time > now:
                self.scheduler.remove_job(job_id)

    def _wanted(self, set_id: int | None) -> dict[str, _Wanted]:
        wanted: dict[str, _Wanted] = {}
        grace_open = max(1, int(self.late_start.total_seconds()))
        with self._sessions() as db:
            leads = {
                s.set_id: (s.rsvp_hours, s.reminder_hours)
                for s in db.scalars(select(Schedule)).all()
            }
            for meeting in planned_meetings(db, set_id):
                start = meeting.starts_at
                wanted[f"open:{meeting.id}"] = _Wanted(
                    jobs.open_meeting, meeting.id, start, grace_open
                )
                rsvp_hours, reminder_hours = leads.get(meeting.set_id, (None, None))
                if rsvp_hours is None or reminder_hours is None:
                    continue
                for prefix, hours, done, func in (
                    ("rsvp", rsvp_hours, meeting.rsvp_posted_at, jobs.post_rsvp),
                    ("remind", reminder_hours, meeting.reminded_at, jobs.remind),
                ):
                    at = start - timedelta(hours=hours)
                    if done is None:
                        grace = max(1, int((start - at).total_seconds()))
                        wanted[f"{prefix}:{meeting.id}"] = _Wanted(func, meeting.id, at, grace)
            query = select(ActionItem.id, ActionItem.check_in_due_at).where(
                ActionItem.check_in_due_at.is_not(None), ActionItem.check_in_sent_at.is_(None)
            )
            if set_id is not None:
                query = query.where(ActionItem.set_id == set_id)
            due = db.execute(query).all()
            for item_id, due_at in due:
                assert due_at is not None
                wanted[f"check-in:{item_id}"] = _Wanted(jobs.check_in, item_id, due_at, None)
        return wanted

    def _missed(self, event: JobExecutionEvent) -> None:
        prefix, _, number = str(event.job_id).partition(":")
        if prefix == "open":
            if self.meetings.miss(int(number)):
                log.warning("meeting %s was missed; the set has been told", number)
            self.sync(self.meetings.set_of(int(number)))
