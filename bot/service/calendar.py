"""A set's calendar: its schedule and the meetings planned from it.

Every change is one transaction, safe to repeat and safe for several workers at once: a meeting
occurrence is unique per set (`Meeting.planned_for`), and a meeting's status only moves on by a
conditional update, so two workers planning, skipping or missing the same meeting do it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.engine.effects import Notice, NoticeKind
from bot.schedule import Recurrence, next_meetings
from bot.service.lifecycle import MeetingStatus, move_where
from bot.service.notices import append_notice, time_token
from bot.settings import MAX_CHECK_IN_DAYS, MAX_LEAD_HOURS
from bot.store import ActionItem, Meeting, Schedule, session_factory


class CalendarError(ValueError):
    """A schedule change that cannot be made; the message says why and what is right."""


@dataclass(frozen=True, slots=True)
class Leads:
    """How far ahead a set is told: the RSVP and the one reminder, in hours before a meeting,
    and the check-in, in days after an action item."""

    rsvp_hours: int
    reminder_hours: int
    check_in_days: int

    def __post_init__(self) -> None:
        if not 1 <= self.reminder_hours < self.rsvp_hours <= MAX_LEAD_HOURS:
            raise CalendarError(
                f"the reminder comes after the RSVP: give RSVP hours (at most {MAX_LEAD_HOURS}) "
                "greater than "
                f"reminder hours (at least 1), e.g. rsvp 48h remind 4h; got rsvp "
                f"{self.rsvp_hours}h remind {self.reminder_hours}h"
            )
        if not 1 <= self.check_in_days <= MAX_CHECK_IN_DAYS:
            raise CalendarError(
                f"check-in days must be 1 to {MAX_CHECK_IN_DAYS}, got {self.check_in_days}"
            )


def recurrence_of(schedule: Schedule) -> Recurrence:
    hours, minutes = (int(part) for part in schedule.at.split(":"))
    return Recurrence(
        weekday=schedule.weekday,
        at=time(hours, minutes),
        zone=schedule.zone,
        minutes=schedule.minutes,
        starts=schedule.starts,
        weeks=schedule.weeks,
        week_of_month=schedule.week_of_month,
    )


class Calendar:
    def __init__(
        self, engine: Engine, clock: Clock, *, late_start: timedelta, check_in_days: int
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.late_start = late_start
        self.check_in_days = check_in_days  # for sets without a schedule
        self._sessions = session_factory(engine)

    # --- changing the schedule ----------------------------------------------------------------

    def add(self, set_id: int, recurrence: Recurrence, leads: Leads, by: str) -> Meeting:
        """Give a set its schedule (replacing one it had) and plan its first meeting."""
        now = self.clock.now()
        with self._sessions.begin() as db:
            old = schedule_of(db, set_id)
            if old is not None:
                db.delete(old)
                # A new schedule replaces the old one's planned meetings; none of them was held.
                db.execute(
                    delete(Meeting).where(
                        Meeting.set_id == set_id, Meeting.status == MeetingStatus.PLANNED
                    )
                )
                db.flush()
            db.add(
                Schedule(
                    set_id=set_id,
                    weekday=recurrence.weekday,
                    at=f"{recurrence.at:%H:%M}",
                    zone=recurrence.zone,
                    minutes=recurrence.minutes,
                    starts=recurrence.starts,
                    weeks=recurrence.weeks,
                    week_of_month=recurrence.week_of_month,
                    rsvp_hours=leads.rsvp_hours,
                    reminder_hours=leads.reminder_hours,
                    check_in_days=leads.check_in_days,
                    created_by=by,
                    created_at=now,
                )
            )
            db.flush()
            meeting = self._plan_next(db, set_id, after=now)
            assert meeting is not None
            _announce(
                db,
                set_id,
                now,
                f"{_who(by)} set the meetings: {recurrence.describe()}. "
                f"The first is {time_token(meeting.starts_at)}.",
                meeting,
                recurrence.zone,
            )
            return meeting

    def cancel(self, set_id: int, by: str) -> int:
        """Stop a set's meetings; returns how many planned meetings were called off."""
        now = self.clock.now()
        with self._sessions.begin() as db:
            schedule = _require(db, set_id)
            zone = schedule.zone
            db.delete(schedule)
            count = _cancel_planned(db, set_id)
            _announce(
                db,
                set_id,
                now,
                f"{_who(by)} cancelled the set's regular meetings. "
                "Set new ones with /peer schedule add.",
                None,
                zone,
            )
            return count

    def skip_next(self, set_id: int, by: str) -> tuple[Meeting, Meeting]:
        """Skip the next meeting; returns it and the one planned after it."""
        now = self.clock.now()
        with self._sessions.begin() as db:
            schedule = _require(db, set_id)
            skipped = next_planned(db, set_id)
            if skipped is None:
                raise CalendarError("There is no planned meeting to skip.")
            if not move_on(db, skipped.id, MeetingStatus.SKIPPED):
                raise CalendarError("That meeting has just started or ended; nothing skipped.")
            following = self._plan_next(db, set_id, after=skipped.planned_for)
            assert following is not None
            _announce(
                db,
                set_id,
                now,
                f"{_who(by)} skipped meeting {skipped.number}. "
                f"The next meeting is {time_token(following.starts_at)}.",
                following,
                schedule.zone,
            )
            return skipped, following

    def move_next(self, set_id: int, day: date, at: time, by: str) -> Meeting:
        """Move the next meeting to another local day and time, in the schedule's zone."""
        now = self.clock.now()
        with self._sessions.begin() as db:
            schedule = _require(db, set_id)
            meeting = next_planned(db, set_id)
            if meeting is None:
                raise CalendarError("There is no planned meeting to move.")
            recurrence = recurrence_of(schedule)
            moved = datetime.combine(day, at, recurrence.tz).astimezone(UTC)
            if moved <= now:
                raise CalendarError(
                    f"{day.isoformat()} {at:%H:%M} {schedule.zone} has passed; "
                    "move the meeting to a time still to come."
                )
            following = next_meetings(recurrence, meeting.planned_for, 1)[0]
            if moved >= following:
                raise CalendarError(
                    "A meeting can move only to before the one after it "
                    f"({following.astimezone(recurrence.tz):%Y-%m-%d %H:%M} {schedule.zone}); "
                    "to drop this one, use /peer schedule skip-next."
                )
            meeting.starts_at = moved
            # The RSVP and the reminder go out again for the new time.
            meeting.rsvp_posted_at = None
            meeting.reminded_at = None
            _announce(
                db,
                set_id,
                now,
                f"{_who(by)} moved meeting {meeting.number} to {time_token(meeting.starts_at)}.",
                meeting,
                schedule.zone,
            )
            db.flush()
            return meeting

    # --- reading ------------------------------------------------------------------------------

    def schedule(self, set_id: int) -> Schedule | None:
        with self._sessions() as db:
            return schedule_of(db, set_id)

    def upcoming(self, set_id: int, count: int = 3) -> list[datetime]:
        """The next meetings' starts: the planned one (as moved) and the regular ones after it."""
        with self._sessions() as db:
            schedule = schedule_of(db, set_id)
            if schedule is None:
                return []
            planned = next_planned(db, set_id)
            if planned is None:
                return next_meetings(recurrence_of(schedule), self.clock.now(), count)
            rest = next_meetings(recurrence_of(schedule), planned.planned_for, count - 1)
            return [planned.starts_at, *rest]

    # --- keeping the calendar whole (the scheduler calls this) -------------------------------

    def plan_all(self, set_id: int | None = None) -> list[int]:
        """Announce planned meetings whose start passed beyond the late-start allowance (the bot
        was down) as missed, plan each schedule's next meeting, and give new action items
        their check-in time; for every set, or for one. Returns the meetings announced as
        missed."""
        now = self.clock.now()
        missed: list[int] = []
        with self._sessions() as db:
            query = select(Schedule.set_id).order_by(Schedule.set_id)
            if set_id is not None:
                query = query.where(Schedule.set_id == set_id)
            set_ids = db.scalars(query).all()
        for one in set_ids:
            while True:
                with self._sessions.begin() as db:
                    meeting = next_planned(db, one)
                    if meeting is not None and meeting.starts_at + self.late_start < now:
                        if mark_missed(db, meeting.id, now):
                            missed.append(meeting.id)
                        continue
                    if meeting is None:
                        self._plan_next(db, one, after=now)
                    break
        self._date_check_ins(now)
        return missed

    def _date_check_ins(self, now: datetime) -> None:
        with self._sessions.begin() as db:
            days = dict(db.execute(select(Schedule.set_id, Schedule.check_in_days)).all())
            items = db.scalars(
                select(ActionItem).where(
                    ActionItem.check_in_due_at.is_(None), ActionItem.check_in_sent_at.is_(None)
                )
            ).all()
            for item in items:
                after = days.get(item.set_id, self.check_in_days)
                item.check_in_due_at = item.created_at + timedelta(days=after)

    def _plan_next(self, db: Session, set_id: int, *, after: datetime) -> Meeting | None:
        """Plan the set's next meeting after `after` (and after every meeting it had), unless
        one is planned already. Another worker planning the same occurrence is no harm."""
        existing = next_planned(db, set_id)
        if existing is not None:
            return existing
        schedule = schedule_of(db, set_id)
        if schedule is None:
            return None
        # Cancelled meetings never happened: they neither hold the calendar back nor count.
        counted = (Meeting.set_id == set_id, Meeting.status != MeetingStatus.CANCELLED)
        latest = db.scalar(select(func.max(Meeting.planned_for)).where(*counted))
        start = next_meetings(recurrence_of(schedule), max(after, latest or after), 1)[0]
        number = (db.scalar(select(func.count()).select_from(Meeting).where(*counted)) or 0) + 1
        cancelled = db.scalars(
            select(Meeting).where(
                Meeting.set_id == set_id,
                Meeting.planned_for == start,
                Meeting.status == MeetingStatus.CANCELLED,
            )
        ).first()
        if cancelled is not None:
            # The same occurrence, cancelled once and now wanted again: plan it afresh.
            db.delete(cancelled)
            db.flush()
        meeting = Meeting(
            set_id=set_id,
            number=number,
            planned_for=start,
            starts_at=start,
            minutes=schedule.minutes,
            status=MeetingStatus.PLANNED.value,
        )
        try:
            with db.begin_nested():
                db.add(meeting)
        except IntegrityError:
            found = db.scalars(
                select(Meeting).where(Meeting.set_id == set_id, Meeting.planned_for == start)
            ).one()
            return found
        return meeting


def mark_missed(db: Session, meeting_id: int, now: datetime) -> bool:
    """Mark a planned meeting missed and tell the set; False if it had moved on already."""
    if not move_on(db, meeting_id, MeetingStatus.MISSED):
        return False
    meeting = db.get(Meeting, meeting_id)
    assert meeting is not None
    schedule = schedule_of(db, meeting.set_id)
    append_notice(
        db,
        meeting.set_id,
        f"missed.{meeting.id}",
        Notice(
            NoticeKind.MISSED,
            f"Meeting {meeting.number}, planned for {time_token(meeting.starts_at)}, did not "
            "open: the bot was not running then. Sorry. Nothing is lost; the next meeting is "
            "planned as usual.",
            when=meeting.starts_at,
            zone=schedule.zone if schedule else None,
            subject=meeting.id,
        ),
        now,
    )
    return True


def move_on(db: Session, meeting_id: int, status: MeetingStatus) -> bool:
    """Move a planned meeting to `status`; False if it was no longer planned (another worker,
    or an earlier run, moved it on first)."""
    moved = move_where(db, MeetingStatus.PLANNED, status, Meeting.id == meeting_id)
    db.expire_all()
    return moved == 1


def schedule_of(db: Session, set_id: int) -> Schedule | None:
    return db.scalars(select(Schedule).where(Schedule.set_id == set_id)).first()


def _require(db: Session, set_id: int) -> Schedule:
    schedule = schedule_of(db, set_id)
    if schedule is None:
        raise CalendarError(
            "This set has no regular meetings yet. Set them with /peer schedule add, "
            "e.g. /peer schedule add weekly tue 18:30 Europe/London 90"
        )
    return schedule


def next_planned(db: Session, set_id: int) -> Meeting | None:
    return db.scalars(
        select(Meeting)
        .where(Meeting.set_id == set_id, Meeting.status == MeetingStatus.PLANNED)
        .order_by(Meeting.planned_for)
        .limit(1)
    ).first()


def _cancel_planned(db: Session, set_id: int) -> int:
    return move_where(db, MeetingStatus.PLANNED, MeetingStatus.CANCELLED, Meeting.set_id == set_id)


def _who(member: str) -> str:
    return f"<@{member}>"


def _announce(
    db: Session,
    set_id: int,
    now: datetime,
    text: str,
    meeting: Meeting | None,
    zone: str,
) -> None:
    # Each change is its own notice, even one back to a time announced before.
    append_notice(
        db,
        set_id,
        f"schedule.{set_id}.{uuid.uuid4().hex}",
        Notice(
            NoticeKind.SCHEDULE,
            text,
            when=meeting.starts_at if meeting else None,
            zone=zone,
            subject=meeting.id if meeting else None,
        ),
        now,
    )


def planned_meetings(db: Session, set_id: int | None = None) -> Sequence[Meeting]:
    """Every planned meeting (of every set, or of one), soonest first."""
    query = select(Meeting).where(Meeting.status == MeetingStatus.PLANNED)
    if set_id is not None:
        query = query.where(Meeting.set_id == set_id)
    return db.scalars(query.order_by(Meeting.starts_at)).all()
