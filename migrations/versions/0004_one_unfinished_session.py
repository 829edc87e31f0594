"""At most one unfinished session per set, as a partial unique index. Where a set has several
already, all but its newest are ended first (in their stored state too), so the index can be made.
And each outbox entry names the worker that claimed it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_sessions_one_unfinished_per_set"
UNFINISHED = sa.text("status != 'ended'")


def upgrade() -> None:
    sessions = sa.table(
        "sessions",
        sa.column("id", sa.Integer),
        sa.column("set_id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("state", sa.JSON),
        sa.column("wake_at", sa.DateTime(timezone=True)),
        sa.column("ended_at", sa.DateTime(timezone=True)),
        sa.column("version", sa.Integer),
    )
    connection = op.get_bind()
    newest = (
        sa.select(sa.func.max(sessions.c.id))
        .where(sessions.c.status != "ended")
        .group_by(sessions.c.set_id)
    )
    older = connection.execute(
        sa.select(sessions.c.id, sessions.c.state, sessions.c.version).where(
            sessions.c.status != "ended", sessions.c.id.not_in(newest)
        )
    ).all()
    now = datetime.now(UTC)
    for session_id, state, version in older:
        stored = json.loads(state) if isinstance(state, str) else dict(state)
        stored["status"] = "ended"
        connection.execute(
            sa.update(sessions)
            .where(sessions.c.id == session_id)
            .values(status="ended", state=stored, wake_at=None, ended_at=now, version=version + 1)
        )
    op.create_index(
        INDEX,
        "sessions",
        ["set_id"],
        unique=True,
        sqlite_where=UNFINISHED,
        postgresql_where=UNFINISHED,
    )

    op.add_column("outbox", sa.Column("claimed_by", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "claimed_by")
    op.drop_index(INDEX, table_name="sessions")
