"""Requests to a Bolt app, built and signed the way Slack sends them.

The body builders return the exact request body Slack would POST (form-encoded for slash
commands and interactivity, JSON for the Events API); `signed_headers` signs a body with the
app's signing secret via `slack_sdk.signature.SignatureVerifier`. Defaults match
`tests.slack_double.SlackApiDouble` (team "T0001", bot user "UBOT", app "A0001").

    body = slash_command_body(text="start")
    response = app.dispatch(signed_bolt_request(SECRET, body))
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

__all__ = [
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "app_mention_event",
    "block_actions_body",
    "event_body",
    "message_event",
    "post",
    "signed_bolt_request",
    "signed_headers",
    "slash_command_body",
    "view_submission_body",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

_ids = itertools.count(1)


def _content_type_for(body: str) -> str:
    return JSON_CONTENT_TYPE if body.lstrip().startswith("{") else FORM_CONTENT_TYPE


def signed_headers(
    secret: str,
    body: str,
    timestamp: int | str | None = None,
    *,
    content_type: str | None = None,
) -> dict[str, str]:
    """The headers Slack sends with `body`: timestamp, signature and content type.

    The timestamp defaults to now (Bolt refuses ones more than five minutes off); the content
    type defaults to JSON for a body that is a JSON object, form-encoded otherwise.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    if signature is None:
        raise ValueError("could not sign the body")
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type or _content_type_for(body),
    }


def signed_bolt_request(secret: str, body: str, timestamp: int | str | None = None) -> BoltRequest:
    """A `BoltRequest` for `App.dispatch`, carrying `body` and the headers Slack signs it with."""
    headers: dict[str, str | Sequence[str]] = dict(signed_headers(secret, body, timestamp))
    return BoltRequest(body=body, headers=headers)


def slash_command_body(
    command: str = "/peer",
    text: str = "",
    user_id: str = "U0001",
    channel_id: str = "C0001",
    team_id: str = "T0001",
    trigger_id: str | None = None,
    *,
    user_name: str | None = None,
    channel_name: str = "general",
    team_domain: str = "peerset-test",
    api_app_id: str = "A0001",
    response_url: str | None = None,
) -> str:
    """A form-encoded slash command invocation, with every field Slack sends."""
    n = next(_ids)
    fields = {
        "token": "verification-token",
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url or f"https://hooks.slack.com/commands/{team_id}/{n}/x{n}",
        "trigger_id": trigger_id or f"{n}.{n}.trigger{n}",
    }
    return urlencode(fields)


def message_event(
    channel: str,
    user: str,
    text: str,
    ts: str,
    *,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    channel_type: str = "channel",
    team_id: str = "T0001",
    bot_id: str | None = None,
) -> dict[str, Any]:
    """A `message` event as the Events API delivers it (a person's, or a bot's with `bot_id`)."""
    event: dict[str, Any] = {
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts,
        "team": team_id,
        "blocks": [
            {
                "type": "rich_text",
                "block_id": f"b{ts.replace('.', '')[-6:]}",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ],
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if bot_id is None:
        event["client_msg_id"] = f"00000000-0000-4000-8000-{next(_ids):012d}"
    else:
        event["bot_id"] = bot_id
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = parent_user_id or user
    return event


def app_mention_event(
    channel: str,
    user: str,
    text: str,
    ts: str,
    *,
    thread_ts: str | None = None,
    team_id: str = "T0001",
) -> dict[str, Any]:
    """An `app_mention` event (put `<@UBOT>` in `text` as Slack does)."""
    event = message_event(channel, user, text, ts, thread_ts=thread_ts, team_id=team_id)
    event["type"] = "app_mention"
    event.pop("channel_type", None)
    return event


def event_body(
    event: Mapping[str, Any],
    team_id: str = "T0001",
    event_id: str | None = None,
    api_app_id: str = "A0001",
    *,
    bot_user_id: str = "UBOT",
    event_time: int | None = None,
) -> str:
    """A full Events API `event_callback` envelope around `event`, as JSON."""
    if event_time is None:
        ts = event.get("event_ts") or event.get("ts")
        event_time = int(float(ts)) if ts else int(time.time())
    envelope = {
        "token": "verification-token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):09d}",
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event.get('type', 'event')}-{team_id}-{event.get('channel', '')}",
    }
    return json.dumps(envelope)


def _user(user_id: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def block_actions_body(
    user_id: str = "U0001",
    team_id: str = "T0001",
    channel_id: str = "C0001",
    message_ts: str = "1700000000.000100",
    thread_ts: str | None = None,
    action_id: str = "action",
    value: str = "",
    trigger_id: str | None = None,
    *,
    block_id: str = "actions",
    action_type: str = "button",
    button_text: str = "Button",
    message_text: str = "",
    message_blocks: list[dict[str, Any]] | None = None,
    is_ephemeral: bool = False,
    channel_name: str = "general",
    bot_user_id: str = "UBOT",
    bot_id: str = "B0001",
    api_app_id: str = "A0001",
    team_domain: str = "peerset-test",
    response_url: str | None = None,
) -> str:
    """A form-encoded `block_actions` payload for a click on a button in a bot message.

    For an ephemeral message Slack sends no `message`, only the container.
    """
    n = next(_ids)
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": is_ephemeral,
    }
    if thread_ts is not None:
        container["thread_ts"] = thread_ts
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": f"{int(float(message_ts)) + 1}.{n:06d}",
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": button_text, "emoji": True}
        action["value"] = value
    elif action_type == "static_select":
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": value, "emoji": True},
            "value": value,
        }
    else:
        action["value"] = value
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": "verification-token",
        "container": container,
        "trigger_id": trigger_id or f"{n}.{n}.trigger{n}",
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "state": {"values": {}},
        "response_url": response_url or f"https://hooks.slack.com/actions/{team_id}/{n}/x{n}",
        "actions": [action],
    }
    if not is_ephemeral:
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "user": bot_user_id,
            "bot_id": bot_id,
            "app_id": api_app_id,
            "text": message_text,
            "ts": message_ts,
            "team": team_id,
            "blocks": message_blocks or [],
        }
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        payload["message"] = message
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(
    user_id: str = "U0001",
    team_id: str = "T0001",
    callback_id: str = "view",
    private_metadata: str = "",
    state_values: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    *,
    view_id: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    title: str = "Peerset",
    api_app_id: str = "A0001",
    bot_id: str = "B0001",
    team_domain: str = "peerset-test",
) -> str:
    """A form-encoded `view_submission` payload for a modal.

    `state_values` is `view.state.values` as Slack sends it:
    `{block_id: {action_id: {"type": "plain_text_input", "value": "..."}}}`.
    """
    n = next(_ids)
    vid = view_id or f"V{n:08d}"
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": "verification-token",
        "trigger_id": trigger_id or f"{n}.{n}.trigger{n}",
        "view": {
            "id": vid,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": dict(state_values or {})},
            "hash": f"1700000000.h{n}",
            "title": {"type": "plain_text", "text": title},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": vid,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": bot_id,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload)})


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: str,
    secret: str,
    content_type: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """POST a signed body to a running Bolt app (e.g. its aiohttp web app); returns
    (status, response text). `extra_headers` override the signed ones (e.g. to tamper)."""
    headers = signed_headers(secret, body, content_type=content_type)
    headers.update(extra_headers or {})
    async with session.post(url, data=body.encode("utf-8"), headers=headers) as response:
        return response.status, await response.text()
