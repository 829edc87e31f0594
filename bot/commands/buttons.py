"""A session's buttons as engine events, the same on every platform."""

from __future__ import annotations

from bot.engine.events import Agree, Command, Done, Event, FacilitatorCommand, Pass

# The extra minutes a session's "+5 min" button gives.
EXTEND_BY = 5


def pressed(name: str, member: str) -> Event | None:
    """The engine event a session button stands for, on any platform: `done`, `pass`, `agree`,
    `control_next`, `control_extend`, ...; None for a name that opens a form (`action`) or is
    unknown."""
    if name == "done":
        return Done(member)
    if name == "pass":
        return Pass(member)
    if name == "agree":
        return Agree(member)
    command = name.removeprefix("control_")
    if name.startswith("control_") and command in {c.value for c in Command}:
        minutes = EXTEND_BY if command == Command.EXTEND else None
        return FacilitatorCommand(member, Command(command), minutes)
    return None
