"""What the engine asks the world to do: its outbound effects.

Adapters render these; the service stores them in the outbox first, so each one is delivered once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Button(StrEnum):
    DONE = "done"
    PASS = "pass"
    AGREE = "agree"
    ACTION = "action"


class PostKind(StrEnum):
    SESSION_STARTED = "session_started"
    ROUND_STARTED = "round_started"
    PHASE = "phase"
    TURN = "turn"
    TURN_ENDED = "turn_ended"
    WARNING = "warning"
    AGREED = "agreed"
    ACTION_RECORDED = "action_recorded"
    PAUSED = "paused"
    RESUMED = "resumed"
    EXTENDED = "extended"
    MEMBERS = "members"
    SUMMARY = "summary"


class NudgeReason(StrEnum):
    OUT_OF_TURN = "out_of_turn"
    SILENT_LISTENING = "silent_listening"
    SILENCE = "silence"
    ADVICE = "advice"
    STEMS = "stems"
    NOTES_RETURNED = "notes_returned"
    TIME = "time"
    NOT_ALLOWED = "not_allowed"
    ACTION_RECORDED = "action_recorded"


# What each platform shows on its buttons: the member's own, and the session's controls (each a
# facilitator command; "+5 min" extends by bot.commands.EXTEND_BY).
BUTTON_LABELS = {
    Button.DONE: "Done",
    Button.PASS: "Pass",
    Button.AGREE: "Agree",
    Button.ACTION: "Record an action item",
}
CONTROLS = (
    ("next", "Next"),
    ("skip", "Skip turn"),
    ("extend", "+5 min"),
    ("pause", "Pause"),
    ("resume", "Resume"),
    ("end", "End"),
)
# Posts that open a phase or a turn carry the facilitator's controls.
WITH_CONTROLS = (PostKind.PHASE, PostKind.TURN, PostKind.PAUSED)


@dataclass(frozen=True, slots=True)
class OpenSpace:
    """Open the session's private space and invite its members."""

    title: str
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Post:
    """A message in the session's thread, seen by every member.

    `member`, `phase` and `detail` (say, why a turn ended) say what the post is about, so adapters
    can render it well (mention the turn holder, show buttons only to them) without parsing text.
    """

    kind: PostKind
    text: str
    buttons: tuple[Button, ...] = ()
    member: str | None = None
    phase: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Nudge:
    """A private word to one member: an ephemeral message or a direct message."""

    member: str
    reason: NudgeReason
    text: str


@dataclass(frozen=True, slots=True)
class RecordActionItem:
    """Keep an action item its owner recorded deliberately."""

    member: str
    text: str


@dataclass(frozen=True, slots=True)
class CloseSpace:
    """The session is over: close or lock its space."""

    reason: str


Effect = OpenSpace | Post | Nudge | RecordActionItem | CloseSpace

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (OpenSpace, Post, Nudge, RecordActionItem, CloseSpace)
}


def effect_to_dict(effect: Effect) -> dict[str, Any]:
    data = asdict(effect)
    data["type"] = type(effect).__name__
    return data


def effect_from_dict(data: dict[str, Any]) -> Effect:
    fields = dict(data)
    cls = _TYPES[fields.pop("type")]
    if cls is Post:
        fields["kind"] = PostKind(fields["kind"])
        fields["buttons"] = tuple(Button(b) for b in fields.get("buttons", ()))
    elif cls is Nudge:
        fields["reason"] = NudgeReason(fields["reason"])
    elif cls is OpenSpace:
        fields["members"] = tuple(fields["members"])
    effect: Effect = cls(**fields)
    return effect
