"""The database tables, as SQLAlchemy 2.0 typed declarative models.

Confidentiality: no table here keeps what members say in a session. Text passes through only in
transit (an outbox entry's payload, erased once delivered) or because a member recorded it for
themselves (action items).

Every time is an aware UTC datetime (see `UTCDateTime`). Python `None` in a JSON column is SQL NULL.
Foreign keys cascade in the database (`ON DELETE`); the models carry no relationships, so the
ORM never second-guesses it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.store.types import NullableJSON, UTCDateTime, utcnow

# The partial unique index that keeps a set to one unfinished session (migration 0004).
UNFINISHED_INDEX = "uq_sessions_one_unfinished_per_set"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Tenant(Base):
    """A Slack workspace, a Discord guild, or the local console."""

    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Member(Base):
    """A person on one platform, within one tenant."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str | None] = mapped_column(String(64))


class PeerSet(Base):
    """A set: a small standing group that meets regularly and follows one protocol."""

    __tablename__ = "sets"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # A shipped protocol's name, or the path of a protocol file.
    protocol: Mapped[str] = mapped_column(String(500))
    # The platform's private channel (or thread parent) where the set meets.
    space_id: Mapped[str | None] = mapped_column(String(200))
    facilitated: Mapped[bool] = mapped_column(Boolean, default=False)
    keep_transcripts: Mapped[bool] = mapped_column(Boolean, default=False)
    transcript_retention_days: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    """A member's place in a set (role "member" or "facilitator")."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("set_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20), default="member")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SessionRecord(Base):
    """One meeting's session: the engine's state snapshot and when it next needs waking.

    `version` is the ORM's version counter: of two workers that loaded the same session, the
    second to commit gets `sqlalchemy.orm.exc.StaleDataError`. `state` is replaced, never
    mutated in place (the ORM does not see changes inside a JSON value).
    """

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    set_id: Mapped[int] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"))
    protocol_name: Mapped[str] = mapped_column(String(500))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # A `bot.engine.Status` value.
    status: Mapped[str] = mapped_column(String(20), index=True)
    # The next phase or turn deadline; the sweeper fires sessions whose wake_at has passed.
    wake_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    thread_id: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The scheduled meeting this session holds; unique, so no meeting opens twice.
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="SET NULL"), unique=True
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read by SQLAlchemy)
    # At most one unfinished session a set: two starts at once cannot both win.
    __table_args__ = (
        Index(
            UNFINISHED_INDEX,
            "set_id",
            unique=True,
            sqlite_where=text("status != 'ended'"),
            postgresql_where=text("status != 'ended'"),
        ),
    )


class ActionItem(Base):
    """What a member committed to do, recorded by themselves."""

    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    set_id: Mapped[int] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    # "open", "done" or "dropped".
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The check-in: when its owner is asked how it is going, when they were, and their answer
    # ("done", "in_progress" or "stuck") with an optional note in their own words.
    check_in_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    check_in_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    check_in_status: Mapped[str | None] = mapped_column(String(20))
    check_in_note: Mapped[str | None] = mapped_column(Text)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProcessedEvent(Base):
    """An inbound platform event already handled (the key is scoped by the caller)."""

    __tablename__ = "processed_events"

    event_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="SET NULL"))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEntry(Base):
    """One effect waiting to be delivered to a platform, or already delivered.

    A session's effects carry its `session_id`; a meeting's notices (RSVP posts, reminders,
    check-in pings) carry only their set's. `payload` may carry member text; it is set to None
    (SQL NULL) once delivered.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    set_id: Mapped[int] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"), index=True)
    # The stable id of one effect, so appending the same effect twice is refused.
    effect_id: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict[str, Any] | None] = mapped_column(NullableJSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The worker delivering it now (`PEERSET_WORKER_ID`), so that worker, restarted, takes it
    # back at once instead of waiting out its own lease.
    claimed_by: Mapped[str | None] = mapped_column(String(200))


class Schedule(Base):
    """When a set meets (see `bot.schedule.Recurrence`), and how far ahead it is told.

    One schedule per set. `at` is the local wall-clock time, "HH:MM", in `zone`.
    """

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"), unique=True)
    weekday: Mapped[int] = mapped_column(Integer)
    at: Mapped[str] = mapped_column(String(5))
    zone: Mapped[str] = mapped_column(String(64))
    minutes: Mapped[int] = mapped_column(Integer)
    starts: Mapped[date] = mapped_column(Date)
    weeks: Mapped[int] = mapped_column(Integer, default=1)
    week_of_month: Mapped[int | None] = mapped_column(Integer)
    rsvp_hours: Mapped[int] = mapped_column(Integer)
    reminder_hours: Mapped[int] = mapped_column(Integer)
    check_in_days: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Meeting(Base):
    """One occurrence of a set's schedule.

    `planned_for` is the occurrence's own time from the recurrence and, with the set, unique: a
    meeting is planned once however many workers plan it. `starts_at` is when it really starts
    (a moved meeting keeps its `planned_for`). `status` is a
    `bot.service.lifecycle.MeetingStatus` value and moves on only as that module's table allows.
    """

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("set_id", "planned_for"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("sets.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    planned_for: Mapped[datetime] = mapped_column(UTCDateTime)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="planned", index=True)
    rsvp_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Attendance(Base):
    """One member at one meeting: what they answered, whether they bid, whether they took part."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # "going", "not_going", or None: not answered.
    rsvp: Mapped[str | None] = mapped_column(String(20))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bid: Mapped[bool] = mapped_column(Boolean, default=False)
    took_part: Mapped[bool] = mapped_column(Boolean, default=False)


class Turn(Base):
    """Who presented or facilitated at a meeting: the rota's memory."""

    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # "presenter" or "facilitator".
    role: Mapped[str] = mapped_column(String(20))
