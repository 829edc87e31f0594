"""Notices in the outbox: a set's calendar speaking, outside any session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.engine.effects import Notice, effect_to_dict
from bot.store import OutboxEntry


def append_notice(
    db: Session, set_id: int, effect_id: str, notice: Notice, now: datetime
) -> OutboxEntry:
    """Queue a notice for delivery. `effect_id` names it for good: the same notice queued twice
    (say, by two workers) breaks the outbox's unique effect id, and the transaction rolls back."""
    entry = OutboxEntry(
        session_id=None,
        set_id=set_id,
        effect_id=effect_id,
        kind=type(notice).__name__,
        recipient=notice.member,
        payload=effect_to_dict(notice),
        created_at=now,
        next_attempt_at=now,
    )
    db.add(entry)
    return entry
