"""Slack payloads as Peerset events. Pure functions of the payload: no I/O."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from adapters.slack.blocks import ACTION_PREFIX, CHOICE_PREFIX, FIELD
from bot.commands import BY_PATH, Problem, ScheduleAdd, build, read_word, whole_number
from bot.engine.effects import Choice

# A file shared with a comment is still the member speaking; every other subtype (edits,
# deletions, joins, bot posts, broadcasts) is not.
SPEAKING_SUBTYPES = (None, "file_share")


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    team_id: str
    channel: str
    thread_ts: str
    user: str
    text: str
    event_key: str


def thread_message(body: dict[str, Any]) -> ThreadMessage | None:
    """A member's message in a thread, or None for anything else (edits, deletions, bots,
    top-level messages, the bot's own posts)."""
    event = body.get("event") or {}
    subtype = event.get("subtype")
    if event.get("type") != "message" or event.get("bot_id"):
        return None
    if subtype not in SPEAKING_SUBTYPES:
        return None
    thread_ts, ts = event.get("thread_ts"), event.get("ts")
    user, channel = event.get("user"), event.get("channel")
    if not thread_ts or thread_ts == ts or not user or not channel:
        return None
    team_id = body.get("team_id") or event.get("team") or ""
    return ThreadMessage(
        team_id=team_id,
        channel=channel,
        thread_ts=thread_ts,
        user=user,
        text=event.get("text") or "",
        event_key=f"slack:{team_id}:{body.get('event_id') or ts}",
    )


@dataclass(frozen=True, slots=True)
class Pressed:
    team_id: str
    user: str
    session_id: int
    name: str  # the action's name without the prefix: done, pass, agree, action, control_next...
    trigger_id: str
    event_key: str


def pressed(body: dict[str, Any]) -> Pressed | None:
    """A press on one of a session's buttons, or None (a notice's answers are `chosen`)."""
    action = _action(body)
    if action is None:
        return None
    action_id = str(action.get("action_id", ""))
    value = str(action.get("value", ""))
    if not action_id.startswith(ACTION_PREFIX) or action_id.startswith(CHOICE_PREFIX):
        return None
    session_id = whole_number(value)
    if session_id is None:
        return None
    team_id, user = who(body)
    trigger = str(body.get("trigger_id", ""))
    return Pressed(
        team_id=team_id,
        user=user,
        session_id=session_id,
        name=action_id.removeprefix(ACTION_PREFIX),
        trigger_id=trigger,
        event_key=f"slack:{team_id}:action:{user}:{action.get('action_ts') or trigger}",
    )


@dataclass(frozen=True, slots=True)
class Chosen:
    """An answer pressed on a notice: an RSVP (subject: the meeting) or a check-in (subject: the
    action item), in `channel`, the set's channel or the member's direct messages."""

    team_id: str
    channel: str
    user: str
    choice: Choice
    subject: int
    event_key: str


def chosen(body: dict[str, Any]) -> Chosen | None:
    action = _action(body)
    if action is None:
        return None
    action_id = str(action.get("action_id", ""))
    value = str(action.get("value", ""))
    name = action_id.removeprefix(CHOICE_PREFIX)
    subject = whole_number(value)
    if not action_id.startswith(CHOICE_PREFIX) or subject is None:
        return None
    if name not in {c.value for c in Choice}:
        return None
    team_id, user = who(body)
    trigger = str(body.get("trigger_id", ""))
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return Chosen(
        team_id=team_id,
        channel=str(channel or ""),
        user=user,
        choice=Choice(name),
        subject=subject,
        event_key=f"slack:{team_id}:action:{user}:{action.get('action_ts') or trigger}",
    )


def _action(body: dict[str, Any]) -> dict[str, Any] | None:
    actions = body.get("actions") or []
    first: dict[str, Any] | None = actions[0] if actions else None
    return first


def who(body: dict[str, Any]) -> tuple[str, str]:
    """The workspace and the member of an interactive payload."""
    user = body.get("user") or {}
    team_id = (body.get("team") or {}).get("id") or user.get("team_id") or ""
    return str(team_id), str(user.get("id") or "")


# --- the schedule form -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Origin:
    """Where `/peer schedule` was typed, carried through its form in `private_metadata`: the
    channel (its set's), and the command's response_url for the desk's answer."""

    channel: str
    response_url: str

    def dump(self) -> str:
        return json.dumps({"channel": self.channel, "response_url": self.response_url})

    @staticmethod
    def load(private_metadata: str) -> Origin | None:
        try:
            data = json.loads(private_metadata)
            return Origin(str(data["channel"]), str(data["response_url"]))
        except (ValueError, TypeError, KeyError):
            return None


# The form's whole-number fields: the request's argument each fills, its unit, and an example.
_NUMBERS = {
    "minutes": ("minutes", "minutes", "90"),
    "rsvp": ("rsvp_hours", "hours", "48"),
    "remind": ("reminder_hours", "hours", "4"),
    "checkin": ("check_in_days", "days", "7"),
}


_MISSING = {
    "often": "Choose how often the set meets.",
    "weekday": "Choose the day the set meets.",
    "at": "Choose the time the meetings start.",
    "zone": "Give one time-zone name, like Europe/London.",
    "starting": "Choose the first day a meeting may fall on.",
}


def schedule_request(view: dict[str, Any]) -> ScheduleAdd | dict[str, str]:
    """The `/peer schedule add` request a submitted schedule form stands for, or what is wrong,
    by the block that is wrong (Slack shows each under its field)."""
    values = (view.get("state") or {}).get("values") or {}

    def field(block: str) -> dict[str, Any]:
        found: dict[str, Any] = (values.get(block) or {}).get(FIELD) or {}
        return found

    spec = BY_PATH[("schedule", "add")]
    args = {arg.name: arg for arg in spec.args}
    typed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    given = {
        "often": ("how", (field("often").get("selected_option") or {}).get("value")),
        "weekday": ("weekday", (field("weekday").get("selected_option") or {}).get("value")),
        "at": ("time", field("at").get("selected_time")),
        "zone": ("zone", str(field("zone").get("value") or "").strip()),
        "starting": ("starting", field("starting").get("selected_date")),
    }
    for block, (name, raw) in given.items():
        value = read_word(args[name], str(raw), spec) if raw else None
        if isinstance(value, Problem) or (name == "zone" and len(str(raw).split()) != 1):
            errors[block] = _MISSING[block]
        elif value is not None:
            typed[name] = value
        elif args[name].required:
            errors[block] = _MISSING[block]
    for block, (name, unit, example) in _NUMBERS.items():
        text = str(field(block).get("value") or "").strip()
        number = read_word(args[name], text, spec)
        if isinstance(number, Problem):
            most = args[name].hi
            over = re.fullmatch(r"[0-9]{1,9}", text) is not None and int(text) > most
            errors[block] = (
                (
                    f"A meeting lasts at most {most} minutes."
                    if name == "minutes"
                    else f"At most {most} {unit}."
                )
                if over
                else f"Give a whole number of {unit}, like {example}."
            )
        else:
            typed[name] = number
    if errors:
        return errors
    request = build(spec, typed)
    if isinstance(request, Problem):
        # The selects and the pickers only offer what is right, and the numbers are checked
        # above: what is left to be wrong is the time zone.
        return {"zone": request.message.split(" Try: ")[0]}
    assert isinstance(request, ScheduleAdd)
    return request
