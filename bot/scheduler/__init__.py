"""The scheduler: APScheduler 3 runs each meeting's RSVP, reminder and opening, and each action
item's check-in ping, from jobs kept in Peerset's own database. Exactly one worker schedules at a
time (`bot.scheduler.leader`)."""

from bot.scheduler.runner import MeetingScheduler, SteppedScheduler
from bot.scheduler.worker import SchedulerWorker

__all__ = ["MeetingScheduler", "SchedulerWorker", "SteppedScheduler"]
