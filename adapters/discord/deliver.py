"""Delivering Peerset effects to Discord through discord.py, from the outbox's worker thread.

Every message carries a nonce made from its effect's id, and discord.py asks Discord to enforce
it: sent again after a crash, the same post comes back as the one already made, not a second.
A session's private thread is named after the session, so a thread opened just before a crash is
found again rather than opened twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine
from typing import Any

import discord

from adapters.discord.components import notice_view, post_view
from bot.engine.effects import CloseSpace, Notice, Nudge, OpenSpace, Post
from bot.service import Delivery, Receipt

# Discord's limits: 2000 characters a message, 100 a thread name, 25 a nonce.
MAX_MESSAGE = 2000
MAX_THREAD_NAME = 100
MAX_NONCE = 25
DELIVERY_TIMEOUT = 60.0


class PrivateThreadsRefused(RuntimeError):
    """The bot may not open private threads here; it never falls back to a public thread."""


def thread_name(title: str, session_id: int) -> str:
    tail = f" · session {session_id}"
    return title[: MAX_THREAD_NAME - len(tail)] + tail


def nonce(effect_id: str) -> str:
    """The effect's id, or a digest of it if too long: cut short, two reminders of one meeting
    to two members would share a nonce, and Discord would return the first for the second."""
    plain = f"ps{effect_id}"
    if len(plain) <= MAX_NONCE:
        return plain
    return "ps" + hashlib.blake2b(effect_id.encode(), digest_size=(MAX_NONCE - 2) // 2).hexdigest()


class DiscordDeliverer:
    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def _run(self, work: Coroutine[Any, Any, Receipt | None]) -> Receipt | None:
        return asyncio.run_coroutine_threadsafe(work, self.client.loop).result(DELIVERY_TIMEOUT)

    def deliver(self, delivery: Delivery) -> Receipt:
        return self._run(self._deliver(delivery)) or Receipt()

    def already_delivered(self, delivery: Delivery) -> Receipt | None:
        if isinstance(delivery.effect, OpenSpace):
            return self._run(self._find_thread(delivery))
        return None  # a message (a notice too) sent again with its nonce is not posted twice

    async def _channel(self, channel_id: str) -> Any:
        found = self.client.get_channel(int(channel_id))
        return found if found is not None else await self.client.fetch_channel(int(channel_id))

    async def _member(self, member: str) -> discord.User:
        found = self.client.get_user(int(member))
        return found if found is not None else await self.client.fetch_user(int(member))

    async def _find_thread(self, delivery: Delivery) -> Receipt | None:
        assert isinstance(delivery.effect, OpenSpace)
        parent = await self._channel(delivery.channel())
        name = thread_name(delivery.effect.title, delivery.session())
        for thread in getattr(parent, "threads", []):
            if thread.name == name:
                return Receipt(thread_id=str(thread.id))
        return None

    async def _deliver(self, delivery: Delivery) -> Receipt | None:
        effect = delivery.effect
        once = nonce(delivery.effect_id)
        if isinstance(effect, OpenSpace):
            parent = await self._channel(delivery.channel())
            try:
                thread = await parent.create_thread(
                    name=thread_name(effect.title, delivery.session()),
                    type=discord.ChannelType.private_thread,
                    invitable=False,
                )
            except discord.Forbidden as exc:
                raise PrivateThreadsRefused(
                    "Discord refused a private thread: give Peerset the Create Private Threads "
                    "permission in this channel"
                ) from exc
            for member in effect.members:
                await thread.add_user(discord.Object(id=int(member)))
            return Receipt(thread_id=str(thread.id))
        if isinstance(effect, Post):
            thread = await self._channel(_thread(delivery))
            view = post_view(effect, delivery.session())
            await _send(thread, effect.text, view, once)
        elif isinstance(effect, Nudge):
            # A private word by direct message: Discord has ephemeral messages only in answer
            # to an interaction, and a nudge answers a message.
            await _send(await self._member(effect.member), effect.text, None, once)
        elif isinstance(effect, Notice):
            # In the set's channel itself, not in a session's thread; or to one member. Time
            # tokens (<t:EPOCH:F>) are Discord's own: each reader sees their own time zone.
            channel = await self._channel(delivery.channel())
            view = notice_view(effect, channel.guild.id)
            target = channel if effect.member is None else await self._member(effect.member)
            await _send(target, effect.text, view, once)
        elif isinstance(effect, CloseSpace):
            thread = await self._channel(_thread(delivery))
            await thread.edit(archived=True, locked=True)
        return None


async def _send(
    target: discord.abc.Messageable, text: str, view: discord.ui.View | None, once: str
) -> None:
    if view is None:
        await target.send(text[:MAX_MESSAGE], nonce=once)
    else:
        await target.send(text[:MAX_MESSAGE], view=view, nonce=once)


def _thread(delivery: Delivery) -> str:
    if delivery.thread_id is None:
        raise RuntimeError(f"session {delivery.session_id} has no thread yet")
    return delivery.thread_id
