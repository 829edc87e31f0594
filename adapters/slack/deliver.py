"""Delivering Peerset effects to Slack. Every message carries its effect's id in Slack's message
metadata, so after a crash the channel itself says whether a post was already made."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from adapters.slack.blocks import notice_blocks, post_blocks, slack_times
from adapters.slack.clients import ClientBook
from bot.engine.effects import CloseSpace, Notice, Nudge, NudgeReason, OpenSpace, Post
from bot.engine.wording import names
from bot.service import Delivery, Receipt

METADATA_TYPE = "peerset_effect"
HISTORY_LIMIT = 200


class SlackDeliverer:
    def __init__(self, clients: ClientBook) -> None:
        self.clients = clients

    def deliver(self, delivery: Delivery) -> Receipt:
        client = self.clients.for_set(delivery.set_id)
        effect = delivery.effect
        metadata = {"event_type": METADATA_TYPE, "event_payload": {"effect_id": delivery.effect_id}}
        if isinstance(effect, OpenSpace):
            opened = client.chat_postMessage(
                channel=delivery.channel(),
                text=f"*{effect.title}* with {names(effect.members)}: the session runs in this "
                "thread. What is said here stays here.",
                metadata=metadata,
            )
            return Receipt(thread_id=str(opened["ts"]))
        if isinstance(effect, Post):
            client.chat_postMessage(
                channel=delivery.channel(),
                thread_ts=delivery.thread_id,
                text=effect.text,
                blocks=post_blocks(effect, delivery.session()),
                metadata=metadata,
            )
        elif isinstance(effect, Notice):
            # Top level in the set's channel, or a direct message: never in a session's thread.
            text = slack_times(effect.text, effect.zone)
            client.chat_postMessage(
                channel=_notice_channel(client, delivery, effect),
                text=text,
                blocks=notice_blocks(effect, text),
                metadata=metadata,
            )
        elif isinstance(effect, Nudge):
            if effect.reason is NudgeReason.NOTES_RETURNED:
                # A member's own words come back by direct message, which is kept for them.
                client.chat_postMessage(
                    channel=_direct(client, effect.member), text=effect.text, metadata=metadata
                )
            else:
                client.chat_postEphemeral(
                    channel=delivery.channel(),
                    user=effect.member,
                    thread_ts=delivery.thread_id,
                    text=effect.text,
                )
        elif isinstance(effect, CloseSpace) and delivery.thread_id:
            client.chat_update(
                channel=delivery.channel(),
                ts=delivery.thread_id,
                text="This session has ended. What was said here stays here.",
            )
        return Receipt()

    def already_delivered(self, delivery: Delivery) -> Receipt | None:
        effect = delivery.effect
        client = self.clients.for_set(delivery.set_id)
        if isinstance(effect, OpenSpace):
            found = _in_history(client, delivery.channel(), delivery.effect_id)
            return Receipt(thread_id=str(found["ts"])) if found else None
        if isinstance(effect, Post) and delivery.thread_id:
            found = _find(
                client.conversations_replies(
                    channel=delivery.channel(),
                    ts=delivery.thread_id,
                    include_all_metadata=True,
                    limit=HISTORY_LIMIT,
                ).data,
                delivery.effect_id,
            )
            return Receipt() if found else None
        if isinstance(effect, Notice):
            channel = _notice_channel(client, delivery, effect)
            return Receipt() if _in_history(client, channel, delivery.effect_id) else None
        if isinstance(effect, Nudge) and effect.reason is NudgeReason.NOTES_RETURNED:
            channel = _direct(client, effect.member)
            return Receipt() if _in_history(client, channel, delivery.effect_id) else None
        # Ephemeral nudges leave nothing to read back, and updating a message twice is harmless.
        return None


def _direct(client: WebClient, member: str) -> str:
    """The direct-message channel between the bot and a member."""
    return str(client.conversations_open(users=member)["channel"]["id"])


def _notice_channel(client: WebClient, delivery: Delivery, notice: Notice) -> str:
    return delivery.channel() if notice.member is None else _direct(client, notice.member)


def _in_history(client: WebClient, channel: str, effect_id: str) -> dict[str, Any] | None:
    """The top-level message in `channel` that carries this effect's id, if any."""
    page = client.conversations_history(
        channel=channel, include_all_metadata=True, limit=HISTORY_LIMIT
    ).data
    return _find(page, effect_id)


def _find(page: Any, effect_id: str) -> dict[str, Any] | None:
    for message in page.get("messages", []) if isinstance(page, dict) else []:
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("effect_id") == effect_id:
            found: dict[str, Any] = message
            return found
    return None
