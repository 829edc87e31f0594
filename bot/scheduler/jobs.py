"""The scheduler's jobs: module-level functions taking only ids, so APScheduler's job store can
keep them (as a text reference and the ids) across restarts. Each asks the scheduler that runs
it (bound at its start) to do the work; the work itself is safe to repeat."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.scheduler.runner import MeetingScheduler

_running: MeetingScheduler | None = None


def bind(scheduler: MeetingScheduler | None) -> None:
    global _running
    _running = scheduler


def _scheduler() -> MeetingScheduler:
    if _running is None:
        raise RuntimeError("a job ran with no meeting scheduler bound")
    return _running


def post_rsvp(meeting_id: int) -> None:
    _scheduler().meetings.post_rsvp(meeting_id)


def remind(meeting_id: int) -> None:
    _scheduler().meetings.remind(meeting_id)


def open_meeting(meeting_id: int) -> None:
    scheduler = _scheduler()
    scheduler.meetings.open(meeting_id)
    scheduler.sync(scheduler.meetings.set_of(meeting_id))  # plan the set's next meeting


def check_in(item_id: int) -> None:
    _scheduler().checkins.ping(item_id)


def sync() -> None:
    _scheduler().sync()
