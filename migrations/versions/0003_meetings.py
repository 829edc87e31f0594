"""Regular meetings: schedules, meetings, attendance, the rota, check-ins, notices in the outbox,
and APScheduler's job table.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


JOBS_TABLE = "apscheduler_jobs"


def scheduler_jobs_table() -> sa.Table:
    """APScheduler's job table as its SQLAlchemyJobStore defines it (the store never connects
    here), so the schema always matches what APScheduler expects."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore  # type: ignore[import-untyped]

    table: sa.Table = SQLAlchemyJobStore(url="sqlite://", tablename=JOBS_TABLE).jobs_t
    return table


def _utc() -> sa.DateTime:
    # bot.store.types.UTCDateTime: timestamptz on PostgreSQL, naive UTC on SQLite.
    return sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=5), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=False),
        sa.Column("week_of_month", sa.Integer(), nullable=True),
        sa.Column("rsvp_hours", sa.Integer(), nullable=False),
        sa.Column("reminder_hours", sa.Integer(), nullable=False),
        sa.Column("check_in_days", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        _fk("schedules", "set_id", "sets", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("set_id", name=op.f("uq_schedules_set_id")),
    )
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("planned_for", _utc(), nullable=False),
        sa.Column("starts_at", _utc(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rsvp_posted_at", _utc(), nullable=True),
        sa.Column("reminded_at", _utc(), nullable=True),
        sa.Column("opened_at", _utc(), nullable=True),
        _fk("meetings", "set_id", "sets", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint("set_id", "planned_for", name=op.f("uq_meetings_set_id_planned_for")),
    )
    op.create_index(op.f("ix_meetings_starts_at"), "meetings", ["starts_at"], unique=False)
    op.create_index(op.f("ix_meetings_status"), "meetings", ["status"], unique=False)
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("rsvp", sa.String(length=20), nullable=True),
        sa.Column("answered_at", _utc(), nullable=True),
        sa.Column("bid", sa.Boolean(), nullable=False),
        sa.Column("took_part", sa.Boolean(), nullable=False),
        _fk("attendance", "meeting_id", "meetings", "CASCADE"),
        _fk("attendance", "member_id", "members", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
        sa.UniqueConstraint(
            "meeting_id", "member_id", name=op.f("uq_attendance_meeting_id_member_id")
        ),
    )
    op.create_table(
        "turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        _fk("turns", "meeting_id", "meetings", "CASCADE"),
        _fk("turns", "member_id", "members", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turns")),
        sa.UniqueConstraint(
            "meeting_id", "member_id", "role", name=op.f("uq_turns_meeting_id_member_id_role")
        ),
    )
    scheduler_jobs_table().create(op.get_bind())
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("meeting_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_sessions_meeting_id_meetings"),
            "meetings",
            ["meeting_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_unique_constraint(op.f("uq_sessions_meeting_id"), ["meeting_id"])
    with op.batch_alter_table("action_items") as batch:
        batch.add_column(sa.Column("check_in_due_at", _utc(), nullable=True))
        batch.add_column(sa.Column("check_in_sent_at", _utc(), nullable=True))
        batch.add_column(sa.Column("check_in_status", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("check_in_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("checked_in_at", _utc(), nullable=True))
        batch.create_index(op.f("ix_action_items_check_in_due_at"), ["check_in_due_at"])
    # Every outbox entry now names its set; a session's entries take their session's.
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("set_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE outbox SET set_id = (SELECT sessions.set_id FROM sessions "
        "WHERE sessions.id = outbox.session_id)"
    )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("set_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("session_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            op.f("fk_outbox_set_id_sets"), "sets", ["set_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index(op.f("ix_outbox_set_id"), ["set_id"])


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE session_id IS NULL")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(op.f("ix_outbox_set_id"))
        batch.drop_constraint(op.f("fk_outbox_set_id_sets"), type_="foreignkey")
        batch.alter_column("session_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("set_id")
    with op.batch_alter_table("action_items") as batch:
        batch.drop_index(op.f("ix_action_items_check_in_due_at"))
        for column in (
            "checked_in_at",
            "check_in_note",
            "check_in_status",
            "check_in_sent_at",
            "check_in_due_at",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint(op.f("uq_sessions_meeting_id"), type_="unique")
        batch.drop_constraint(op.f("fk_sessions_meeting_id_meetings"), type_="foreignkey")
        batch.drop_column("meeting_id")
    scheduler_jobs_table().drop(op.get_bind())
    op.drop_table("turns")
    op.drop_table("attendance")
    op.drop_index(op.f("ix_meetings_status"), table_name="meetings")
    op.drop_index(op.f("ix_meetings_starts_at"), table_name="meetings")
    op.drop_table("meetings")
    op.drop_table("schedules")
