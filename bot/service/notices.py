"""Notices in the outbox: a set's calendar speaking, outside any session.

A moment in a notice (or in any answer about meetings) is written as a time token, `<t:EPOCH:F>`,
Discord's own syntax: Discord and Slack show it in each reader's own time zone, and the console
in the set's zone (`render_times`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

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


TIME_TOKEN = re.compile(r"<t:(-?\d+):F>")


def time_token(moment: datetime) -> str:
    return f"<t:{int(moment.timestamp())}:F>"


def render_times(text: str, render: Callable[[datetime], str]) -> str:
    """Replace each time token in `text` with `render(moment)`."""
    return TIME_TOKEN.sub(lambda m: render(datetime.fromtimestamp(int(m[1]), UTC)), text)


def in_zone(zone: str | None) -> Callable[[datetime], str]:
    """Show a moment in one time zone (the set's, where a platform knows no reader's)."""
    tz = ZoneInfo(zone or "UTC")

    def render(moment: datetime) -> str:
        local = moment.astimezone(tz)
        return f"{local:%a %d %b %Y %H:%M} {zone or 'UTC'}"

    return render
