"""A scheduled meeting's cycle: the RSVP post, one reminder, opening the session for those going
(updates first, then the rota's choice), and members' answers.

Each step is one transaction and moves a meeting on only by a conditional update, and each
notice has an effect id of its own, so a step repeated, or run by two workers at once, posts
nothing twice and opens no meeting twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import rota
from bot.clock import Clock
from bot.engine import SetupError
from bot.engine.effects import RSVP_CHOICES, Choice, Notice, NoticeKind, Post, PostKind
from bot.engine.wording import at, names
from bot.protocol.library import load_setting
from bot.service.attendance import attendance_row
from bot.service.calendar import mark_missed, move_on, next_planned, schedule_of
from bot.service.directory import member_ids, set_members
from bot.service.lifecycle import MeetingStatus, move, status_of
from bot.service.notices import append_notice, time_token
from bot.service.sessions import SessionService
from bot.store import (
    ActionItem,
    Attendance,
    Meeting,
    Member,
    OutboxEntry,
    PeerSet,
    Turn,
    session_factory,
)

GOING, NOT_GOING = "going", "not_going"
PRESENTER, FACILITATOR = "presenter", "facilitator"


class MeetingError(ValueError):
    """An answer that cannot be taken; the message says why."""


@dataclass(frozen=True, slots=True)
class Opened:
    """What opening a meeting did: the session it started, or why it did not start."""

    session_id: int | None
    reason: str


class Meetings:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        sessions: SessionService,
        own_protocols: Path | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.own_protocols = own_protocols
        self.sessions = sessions
        self._sessions = session_factory(engine)

    # --- the scheduler's jobs -----------------------------------------------------------------

    def post_rsvp(self, meeting_id: int) -> bool:
        """Ask the set who is coming; False if already asked or the meeting moved on."""
        now = self.clock.now()
        with self._sessions.begin() as db:
            meeting = _planned(db, meeting_id)
            if meeting is None or meeting.rsvp_posted_at is not None:
                return False
            meeting.rsvp_posted_at = now
            effect_id = f"rsvp.{meeting.id}.{meeting.starts_at.timestamp():.0f}"
            if _sent(db, effect_id):
                return False
            append_notice(
                db,
                meeting.set_id,
                effect_id,
                Notice(
                    NoticeKind.RSVP,
                    f"Meeting {meeting.number} is {time_token(meeting.starts_at)}, "
                    f"{meeting.minutes} minutes. Are you coming? If you have something to "
                    "bring, say so: when more people bid than "
                    "the meeting has time for, those who presented least recently go first.",
                    when=meeting.starts_at,
                    zone=_zone(db, meeting.set_id),
                    subject=meeting.id,
                    choices=RSVP_CHOICES,
                ),
                now,
            )
            return True

    def remind(self, meeting_id: int) -> list[str]:
        """Remind, once, each member who has not answered the RSVP; returns whom."""
        now = self.clock.now()
        with self._sessions.begin() as db:
            meeting = _planned(db, meeting_id)
            if meeting is None or meeting.reminded_at is not None:
                return []
            schedule = schedule_of(db, meeting.set_id)
            if schedule and now < meeting.starts_at - timedelta(hours=schedule.reminder_hours):
                return []  # moved later: this job was for the old time; the new one comes
            meeting.reminded_at = now
            answered = set(_answers(db, meeting).keys())
            quiet = [m for m in set_members(db, meeting.set_id) if m not in answered]
            for member in quiet:
                effect_id = f"remind.{meeting.id}.{meeting.starts_at.timestamp():.0f}.{member}"
                if _sent(db, effect_id):
                    continue
                append_notice(
                    db,
                    meeting.set_id,
                    effect_id,
                    Notice(
                        NoticeKind.REMINDER,
                        f"A reminder: {_set_name(db, meeting.set_id)} meets "
                        f"{time_token(meeting.starts_at)} "
                        f"(meeting {meeting.number}). Are you coming?",
                        member=member,
                        when=meeting.starts_at,
                        zone=_zone(db, meeting.set_id),
                        subject=meeting.id,
                        choices=RSVP_CHOICES,
                    ),
                    now,
                )
            return quiet

    def open(self, meeting_id: int) -> Opened:
        """Open the meeting's session for those going; at most once, however often called."""
        now = self.clock.now()
        with self._sessions.begin() as db:
            meeting = _planned(db, meeting_id)
            if meeting is not None and meeting.starts_at > now:
                # Moved later: this job was for the old time; the scheduler brings the new one.
                return Opened(None, f"the meeting starts later, {time_token(meeting.starts_at)}")
            if meeting is None or not move_on(db, meeting_id, MeetingStatus.OPEN):
                return Opened(None, "the meeting is not planned (opened, missed or cancelled)")
            meeting = db.get(Meeting, meeting_id)
            assert meeting is not None
            meeting.opened_at = now
            peer_set = db.get(PeerSet, meeting.set_id)
            assert peer_set is not None
            members = set_members(db, peer_set.id)
            answers = _answers(db, meeting)
            going = tuple(m for m in members if answers.get(m, (None, False))[0] == GOING)
            protocol = load_setting(peer_set.protocol, self.own_protocols)
            if len(going) < protocol.group_size.min:
                return self._call_off(
                    db,
                    meeting,
                    f"{len(going)} said they are going, and {protocol.title} needs at least "
                    f"{protocol.group_size.min}.",
                    now,
                )
            bids = [m for m in going if answers[m][1]]
            slots = rota.presenter_slots(meeting.minutes, protocol)
            presenters = rota.choose(going, _last_turns(db, peer_set.id, PRESENTER), bids, slots)
            facilitator = None
            rota_text = f"The rota: {presenters.reason}"
            if peer_set.facilitated:
                free = [m for m in going if m not in presenters.chosen] or list(going)
                chosen = rota.choose(free, _last_turns(db, peer_set.id, FACILITATOR), (), 1)
                facilitator = chosen.chosen[0]
                rota_text += f" Facilitating: {chosen.reason.removeprefix('No bids, so ')}"
            preface = (
                Post(PostKind.UPDATES, updates(db, peer_set.id, members, meeting)),
                Post(PostKind.ROTA, rota_text),
            )
            running = "a session is already running in this set; end it to meet as planned."
            if self.sessions.unfinished_in(db, peer_set.id) is not None:
                return self._call_off(db, meeting, running[:1].upper() + running[1:], now)
            try:
                with db.begin_nested():
                    record = self.sessions.start_in(
                        db,
                        tenant_id=peer_set.tenant_id,
                        set_id=peer_set.id,
                        protocol=protocol,
                        members=going,
                        presenters=presenters.chosen,
                        facilitator=facilitator,
                        now=now,
                        meeting_id=meeting.id,
                        preface=preface,
                    )
            except SetupError as exc:
                return self._call_off(db, meeting, str(exc), now)
            except IntegrityError:
                # A session started in the set meanwhile (one unfinished session a set).
                return self._call_off(db, meeting, running[:1].upper() + running[1:], now)
            ids = member_ids(db, peer_set.tenant_id)
            for member in presenters.chosen:
                db.add(Turn(meeting_id=meeting.id, member_id=ids[member], role=PRESENTER))
            if facilitator is not None:
                db.add(Turn(meeting_id=meeting.id, member_id=ids[facilitator], role=FACILITATOR))
            return Opened(record.id, rota_text)

    def set_of(self, meeting_id: int) -> int | None:
        with self._sessions() as db:
            meeting = db.get(Meeting, meeting_id)
            return meeting.set_id if meeting else None

    def miss(self, meeting_id: int) -> bool:
        """The scheduler could not open the meeting in time: tell the set, once."""
        with self._sessions.begin() as db:
            return mark_missed(db, meeting_id, self.clock.now())

    def _call_off(self, db: Session, meeting: Meeting, why: str, now: datetime) -> Opened:
        move(meeting, MeetingStatus.CALLED_OFF)
        append_notice(
            db,
            meeting.set_id,
            f"calledoff.{meeting.id}",
            Notice(
                NoticeKind.CALLED_OFF,
                f"Meeting {meeting.number} ({time_token(meeting.starts_at)}) is called off: {why} "
                "See you at the next one.",
                when=meeting.starts_at,
                zone=_zone(db, meeting.set_id),
                subject=meeting.id,
            ),
            now,
        )
        return Opened(None, why)

    # --- members' answers ---------------------------------------------------------------------

    def answer(self, tenant_id: int, member: str, meeting_id: int, choice: Choice) -> str:
        """Take a member's RSVP (`GOING`, `BRINGING` or `NOT_GOING`); returns what they see."""
        if choice not in RSVP_CHOICES:
            raise MeetingError(f"{choice.value} is no answer to an RSVP")
        now = self.clock.now()
        with self._sessions.begin() as db:
            meeting = self._members_meeting(db, tenant_id, member, meeting_id)
            row = attendance_row(db, meeting.id, member_ids(db, tenant_id)[member])
            row.rsvp = NOT_GOING if choice is Choice.NOT_GOING else GOING
            row.bid = choice is Choice.BRINGING
            row.answered_at = now
            if choice is Choice.NOT_GOING:
                return f"Thanks: you can't make meeting {meeting.number}. You'll be missed."
            bid = " and have something to bring" if row.bid else ""
            return f"Thanks: you're going to meeting {meeting.number}{bid}."

    def bid(self, tenant_id: int, set_id: int, member: str) -> str:
        """`/peer bid`: going to the next meeting, with something to bring."""
        with self._sessions() as db:
            meeting = next_planned(db, set_id)
        if meeting is None:
            raise MeetingError(
                "This set has no meeting planned to bid for. Set regular meetings with "
                "/peer schedule add."
            )
        return self.answer(tenant_id, member, meeting.id, Choice.BRINGING)

    def _members_meeting(
        self, db: Session, tenant_id: int, member: str, meeting_id: int
    ) -> Meeting:
        meeting = db.get(Meeting, meeting_id)
        peer_set = db.get(PeerSet, meeting.set_id) if meeting else None
        if meeting is None or peer_set is None or peer_set.tenant_id != tenant_id:
            raise MeetingError("That meeting is not one of your sets'.")
        if member not in set_members(db, peer_set.id):
            raise MeetingError(f"Only members of {peer_set.name!r} can answer for its meetings.")
        status = status_of(meeting)
        if status is not MeetingStatus.PLANNED:
            state = (
                "has started: join it in its thread"
                if status is MeetingStatus.OPEN
                else f"is {status.wording}"
            )
            raise MeetingError(f"Meeting {meeting.number} {state}; answers are closed.")
        return meeting

    # --- reading ------------------------------------------------------------------------------

    def attendance(self, set_id: int, last: int = 10) -> str:
        """The set's last meetings: who said they would come, and who took part."""
        with self._sessions() as db:
            meetings = db.scalars(
                select(Meeting)
                .where(Meeting.set_id == set_id, Meeting.status != MeetingStatus.PLANNED)
                .order_by(Meeting.starts_at.desc())
                .limit(last)
            ).all()
            if not meetings:
                return "No meetings yet: attendance appears here after the first one."
            lines = ["Attendance:"]
            for meeting in reversed(meetings):
                rows = db.execute(
                    select(Member.external_id, Attendance.rsvp, Attendance.took_part)
                    .join(Attendance, Attendance.member_id == Member.id)
                    .where(Attendance.meeting_id == meeting.id)
                    .order_by(Member.external_id)
                ).all()
                said = [m for m, rsvp, _ in rows if rsvp == GOING]
                came = [m for m, _, part in rows if part]
                status = status_of(meeting).wording
                head = f"Meeting {meeting.number}, {time_token(meeting.starts_at)}, {status}"
                lines.append(
                    f"{head}: said going: {names(said) if said else 'nobody'}; "
                    f"took part: {names(came) if came else 'nobody'}."
                )
            return "\n".join(lines)


def updates(db: Session, set_id: int, members: Sequence[str], meeting: Meeting) -> str:
    """The updates round: each member's action items since the last meeting, and any earlier
    ones not done, with their check-in answers. Shown before anything else."""
    previous = db.scalar(
        select(func.max(Meeting.opened_at)).where(
            Meeting.set_id == set_id, Meeting.id != meeting.id, Meeting.opened_at.is_not(None)
        )
    )
    rows = db.execute(
        select(Member.external_id, ActionItem)
        .join(ActionItem, ActionItem.member_id == Member.id)
        .where(ActionItem.set_id == set_id)
        .order_by(ActionItem.id)
    ).all()
    by_member: dict[str, list[str]] = {}
    for member, item in rows:
        fresh = previous is None or item.created_at >= previous
        if not fresh and item.check_in_status == "done":
            continue
        by_member.setdefault(member, []).append(_item_line(item))
    if not by_member:
        return "Updates: nobody has action items from earlier meetings yet."
    lines = ["Updates first: what each of you committed to, and how it went."]
    for member in [m for m in members if m in by_member] + sorted(set(by_member) - set(members)):
        lines.append(f"{at(member)}: " + "; ".join(by_member[member]))
    return "\n".join(lines)


def _item_line(item: ActionItem) -> str:
    status = {
        "done": "done",
        "in_progress": "in progress",
        "stuck": "stuck",
        None: "no check-in answer yet",
    }.get(item.check_in_status, str(item.check_in_status))
    note = f' ("{item.check_in_note}")' if item.check_in_note else ""
    return f"#{item.id} \u201c{item.text}\u201d: {status}{note}"


def _sent(db: Session, effect_id: str) -> bool:
    """Whether this very notice (same meeting, same start) was queued before: a meeting moved
    away and back to a time gets no second RSVP or reminder for it."""
    return db.scalar(select(OutboxEntry.id).where(OutboxEntry.effect_id == effect_id)) is not None


def _planned(db: Session, meeting_id: int) -> Meeting | None:
    meeting = db.get(Meeting, meeting_id)
    return meeting if meeting is not None and status_of(meeting) is MeetingStatus.PLANNED else None


def _answers(db: Session, meeting: Meeting) -> dict[str, tuple[str | None, bool]]:
    rows = db.execute(
        select(Member.external_id, Attendance.rsvp, Attendance.bid)
        .join(Attendance, Attendance.member_id == Member.id)
        .where(Attendance.meeting_id == meeting.id, Attendance.rsvp.is_not(None))
    ).all()
    return {member: (rsvp, bid) for member, rsvp, bid in rows}


def _last_turns(db: Session, set_id: int, role: str) -> dict[str, int | None]:
    rows = db.execute(
        select(Member.external_id, func.max(Meeting.number))
        .join(Turn, Turn.member_id == Member.id)
        .join(Meeting, Meeting.id == Turn.meeting_id)
        .where(Meeting.set_id == set_id, Turn.role == role)
        .group_by(Member.external_id)
    ).all()
    return dict(rows)


def _zone(db: Session, set_id: int) -> str | None:
    schedule = schedule_of(db, set_id)
    return schedule.zone if schedule else None


def _set_name(db: Session, set_id: int) -> str:
    peer_set = db.get(PeerSet, set_id)
    return peer_set.name if peer_set else "your set"
