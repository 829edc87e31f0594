"""What a set's members have been asked so far, and which of its meetings have opened: read by
the demo, whose simulated members answer as people would."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from bot.store import ActionItem, Meeting, Member, SessionRecord, session_factory


@dataclass(frozen=True, slots=True)
class RsvpAsked:
    """A meeting whose RSVP has been posted, and whether its reminder has gone out."""

    meeting_id: int
    number: int
    reminded: bool


def rsvps_asked(engine: Engine, set_id: int) -> list[RsvpAsked]:
    """The set's meetings whose RSVP has been posted, oldest first."""
    with session_factory(engine)() as db:
        posted = db.scalars(
            select(Meeting)
            .where(Meeting.set_id == set_id, Meeting.rsvp_posted_at.is_not(None))
            .order_by(Meeting.id)
        ).all()
        return [RsvpAsked(m.id, m.number, m.reminded_at is not None) for m in posted]


def check_ins_sent(engine: Engine, set_id: int) -> list[tuple[int, str]]:
    """The set's action items whose owner has been asked how it is going, oldest first, each
    with its owner's external id."""
    with session_factory(engine)() as db:
        rows = db.execute(
            select(ActionItem.id, Member.external_id)
            .join(Member, Member.id == ActionItem.member_id)
            .where(ActionItem.set_id == set_id, ActionItem.check_in_sent_at.is_not(None))
            .order_by(ActionItem.id)
        ).all()
        return [(item_id, owner) for item_id, owner in rows]


def meeting_sessions(engine: Engine, set_id: int) -> list[int]:
    """The sessions opened for the set's meetings, oldest first."""
    with session_factory(engine)() as db:
        return list(
            db.scalars(
                select(SessionRecord.id)
                .where(SessionRecord.set_id == set_id, SessionRecord.meeting_id.is_not(None))
                .order_by(SessionRecord.id)
            ).all()
        )
