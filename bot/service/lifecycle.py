"""A meeting's lifecycle: its statuses and the moves between them, as one table.

Every change of a meeting's status goes through `move` (one meeting loaded in the session) or
`move_where` (a conditional update, so that two workers moving the same meeting move it once).
A move the table does not allow is a bug, never a member's mistake: it raises
`IllegalTransition`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from bot.store import Meeting


class MeetingStatus(StrEnum):
    """The values stored in `Meeting.status`."""

    PLANNED = "planned"
    OPEN = "open"
    HELD = "held"
    CALLED_OFF = "called_off"
    MISSED = "missed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def wording(self) -> str:
        """How a member reads it: "called off"."""
        return self.value.replace("_", " ")


# Where each status may move next. A planned meeting opens, or never happens; an open one is held
# when its session ends, or called off when too few are going or the session cannot start.
MOVES: Mapping[MeetingStatus, frozenset[MeetingStatus]] = {
    MeetingStatus.PLANNED: frozenset(
        {MeetingStatus.OPEN, MeetingStatus.MISSED, MeetingStatus.SKIPPED, MeetingStatus.CANCELLED}
    ),
    MeetingStatus.OPEN: frozenset({MeetingStatus.HELD, MeetingStatus.CALLED_OFF}),
    MeetingStatus.HELD: frozenset(),
    MeetingStatus.CALLED_OFF: frozenset(),
    MeetingStatus.MISSED: frozenset(),
    MeetingStatus.SKIPPED: frozenset(),
    MeetingStatus.CANCELLED: frozenset(),
}
FINAL = frozenset(status for status, onward in MOVES.items() if not onward)


class IllegalTransition(RuntimeError):
    """Code tried to move a meeting in a way the table does not allow: a bug."""


def check(source: MeetingStatus, target: MeetingStatus) -> None:
    if target not in MOVES[source]:
        raise IllegalTransition(f"a meeting cannot move from {source} to {target}")


def status_of(meeting: Meeting) -> MeetingStatus:
    return MeetingStatus(meeting.status)


def move(meeting: Meeting, target: MeetingStatus) -> None:
    """Move a meeting loaded in the session (and, in the same transaction, locked or just
    moved by `move_where`) to `target`."""
    check(status_of(meeting), target)
    meeting.status = target.value


def move_where(
    db: Session, source: MeetingStatus, target: MeetingStatus, *where: ColumnElement[bool]
) -> int:
    """Move every meeting still in `source` that matches `where` to `target`; returns how many
    moved (none if another worker moved them first)."""
    check(source, target)
    result = db.execute(
        update(Meeting)
        .where(Meeting.status == source.value, *where)
        .values(status=target.value)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
