"""What can happen to a session: the engine's inbound events.

Events are plain frozen values. Adapters make them from platform payloads; the service feeds them to
`step`. Time is never part of an event: it comes to `step` as its own argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class MessagePosted:
    """A member wrote in the session's thread."""

    member: str
    text: str


@dataclass(frozen=True, slots=True)
class Done:
    """A member pressed Done: the turn holder ends their turn, the presenter their part."""

    member: str


@dataclass(frozen=True, slots=True)
class Pass:
    """The turn holder lets their turn go by."""

    member: str


@dataclass(frozen=True, slots=True)
class Agree:
    """A member agrees to the ground rules on the table."""

    member: str


@dataclass(frozen=True, slots=True)
class RecordAction:
    """A member deliberately records an action item of their own."""

    member: str
    text: str


class Command(StrEnum):
    NEXT = "next"
    SKIP = "skip"
    EXTEND = "extend"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"


@dataclass(frozen=True, slots=True)
class FacilitatorCommand:
    """`next`, `skip`, `extend N`, `pause`, `resume` or `end`, from whoever facilitates."""

    member: str
    command: Command
    minutes: int | None = None


@dataclass(frozen=True, slots=True)
class Tick:
    """Time has passed: fire every deadline that is due at `now`."""


@dataclass(frozen=True, slots=True)
class MemberJoined:
    member: str


@dataclass(frozen=True, slots=True)
class MemberLeft:
    member: str


Event = (
    MessagePosted
    | Done
    | Pass
    | Agree
    | RecordAction
    | FacilitatorCommand
    | Tick
    | MemberJoined
    | MemberLeft
)
