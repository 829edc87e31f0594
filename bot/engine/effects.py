"""What the engine asks the world to do: its outbound effects.

Adapters render these; the service stores them in the outbox first, so each one is delivered once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
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
    # Posted by a scheduled meeting before the protocol starts (bot.service.meetings).
    UPDATES = "updates"
    ROTA = "rota"


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


class NoticeKind(StrEnum):
    SCHEDULE = "schedule"
    RSVP = "rsvp"
    REMINDER = "reminder"
    MISSED = "missed"
    CALLED_OFF = "called_off"
    CHECK_IN = "check_in"


class Choice(StrEnum):
    """An answer a member gives with one press: to an RSVP, or to a check-in."""

    GOING = "going"
    BRINGING = "bringing"  # going, and bidding for time to present
    NOT_GOING = "not_going"
    DONE = "done"
    IN_PROGRESS = "in_progress"
    STUCK = "stuck"


CHOICE_LABELS = {
    Choice.GOING: "Going",
    Choice.BRINGING: "Going, and I have something to bring",
    Choice.NOT_GOING: "Can't make it",
    Choice.DONE: "Done",
    Choice.IN_PROGRESS: "In progress",
    Choice.STUCK: "Stuck",
}
RSVP_CHOICES = (Choice.GOING, Choice.BRINGING, Choice.NOT_GOING)
CHECK_IN_CHOICES = (Choice.DONE, Choice.IN_PROGRESS, Choice.STUCK)


@dataclass(frozen=True, slots=True)
class Notice:
    """A word from the set's calendar, outside any session: made by the scheduler's jobs
    (bot.service.meetings), never by the engine.

    With `member` None it is posted in the set's space for everyone; otherwise it is a direct
    message to that member. `when`, if set, is a meeting's start: the text holds `{when}` where
    each platform shows it (Slack and Discord in each reader's own time zone). `choices` are
    buttons, each answering about `subject` (a meeting's id, or an action item's).
    """

    kind: NoticeKind
    text: str
    member: str | None = None
    when: datetime | None = None
    zone: str | None = None  # the set's time zone, for platforms that cannot localise
    subject: int | None = None
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True, slots=True)
class CloseSpace:
    """The session is over: close or lock its space."""

    reason: str


Effect = OpenSpace | Post | Nudge | RecordActionItem | CloseSpace | Notice

_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls for cls in (OpenSpace, Post, Nudge, RecordActionItem, CloseSpace, Notice)
}


def effect_to_dict(effect: Effect) -> dict[str, Any]:
    data = asdict(effect)
    data["type"] = type(effect).__name__
    if isinstance(effect, Notice) and effect.when is not None:
        data["when"] = effect.when.isoformat()
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
    elif cls is Notice:
        fields["kind"] = NoticeKind(fields["kind"])
        fields["choices"] = tuple(Choice(c) for c in fields.get("choices", ()))
        if fields.get("when") is not None:
            fields["when"] = datetime.fromisoformat(fields["when"])
    effect: Effect = cls(**fields)
    return effect
