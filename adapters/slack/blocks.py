"""Peerset effects as Slack messages: Block Kit blocks, with buttons for every control a session
needs (Slack delivers no slash command typed inside a thread)."""

from __future__ import annotations

from typing import Any

from bot.engine.effects import BUTTON_LABELS, CONTROLS, WITH_CONTROLS, Button, Post

ACTION_PREFIX = "peerset_"


def action_id(name: str) -> str:
    return ACTION_PREFIX + name


def post_blocks(post: Post, session_id: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": post.text[:3000]}}
    ]
    value = str(session_id)
    buttons = [
        _button(action_id(b.value), BUTTON_LABELS[b], value, primary=b is Button.DONE)
        for b in post.buttons
    ]
    if buttons:
        blocks.append({"type": "actions", "block_id": "peerset_turn", "elements": buttons})
    if post.kind in WITH_CONTROLS:
        blocks.append(
            {
                "type": "actions",
                "block_id": "peerset_controls",
                "elements": [
                    _button(action_id(f"control_{c}"), label, value) for c, label in CONTROLS
                ],
            }
        )
    return blocks


def _button(action: str, label: str, value: str, primary: bool = False) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    if primary:
        button["style"] = "primary"
    return button


def action_modal(session_id: int) -> dict[str, Any]:
    """The form a member fills in to record an action item of their own."""
    return {
        "type": "modal",
        "callback_id": "peerset_record_action",
        "private_metadata": str(session_id),
        "title": {"type": "plain_text", "text": "Record an action item"},
        "submit": {"type": "plain_text", "text": "Record"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "action",
                "label": {"type": "plain_text", "text": "What will you do, and by when?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": 500,
                },
            }
        ],
    }
