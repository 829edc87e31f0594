"""Slack payloads as Peerset events. Pure functions of the payload: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.slack.blocks import ACTION_PREFIX

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
    actions = body.get("actions") or []
    if not actions:
        return None
    action = actions[0]
    action_id = str(action.get("action_id", ""))
    value = str(action.get("value", ""))
    if not action_id.startswith(ACTION_PREFIX) or not value.isdigit():
        return None
    team_id = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or ""
    user = (body.get("user") or {}).get("id") or ""
    trigger = str(body.get("trigger_id", ""))
    return Pressed(
        team_id=team_id,
        user=user,
        session_id=int(value),
        name=action_id.removeprefix(ACTION_PREFIX),
        trigger_id=trigger,
        event_key=f"slack:{team_id}:action:{user}:{action.get('action_ts') or trigger}",
    )
