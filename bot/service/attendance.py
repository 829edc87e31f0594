"""Attendance: who said they would come to a meeting, and who took part in its session."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine import SessionState
from bot.service.directory import member_ids
from bot.service.lifecycle import MeetingStatus, move, status_of
from bot.store import Attendance, Meeting


def took_part(state: SessionState) -> set[str]:
    """Members who did something themselves in the session: wrote, pressed a button, agreed.
    A turn that ran out or was skipped while they stayed silent is not taking part."""
    return set(state.took_part)


def attendance_row(db: Session, meeting_id: int, member_id: int) -> Attendance:
    """The member's row for this meeting, made on first need."""
    row = db.scalars(
        select(Attendance).where(
            Attendance.meeting_id == meeting_id, Attendance.member_id == member_id
        )
    ).first()
    if row is None:
        row = Attendance(meeting_id=meeting_id, member_id=member_id, bid=False, took_part=False)
        db.add(row)
        db.flush()
    return row


def meeting_held(db: Session, meeting_id: int, tenant_id: int, members: Collection[str]) -> None:
    """The meeting's session has ended: the meeting was held, and these members took part."""
    meeting = db.get(Meeting, meeting_id)
    if meeting is not None and status_of(meeting) is MeetingStatus.OPEN:
        move(meeting, MeetingStatus.HELD)
    ids = member_ids(db, tenant_id)
    for member in members:
        if member in ids:
            attendance_row(db, meeting_id, ids[member]).took_part = True
