"""Peerset's real discord.py client connected to the Discord API double on loopback. Only the two
addresses discord.py reads (REST base and gateway) point elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from adapters.discord.client import PeersetClient
from adapters.discord.run import build
from bot.app import Peerset, load_settings
from bot.clock import Clock
from bot.store import ProcessedEvent
from tests.discord_double import DiscordApiDouble

TOKEN = "test-bot-token"
GUILD = "2000"
CHANNEL = "3000"
TIMEOUT = 10.0


def option(name: str, value: Any, kind: int = 3) -> dict[str, Any]:
    return {"name": name, "type": kind, "value": value}


def user(name: str, user_id: str) -> dict[str, Any]:
    return option(name, user_id, 6)


@dataclass
class DiscordWorld:
    api: DiscordApiDouble
    client: PeersetClient

    async def settle(self, seconds: float = TIMEOUT) -> None:
        """Let handed-on work finish and the client's own pump empty the outbox (bounded)."""
        runtime = self.client.runtime
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            await asyncio.sleep(0.02)
            await runtime.settle()
            runtime.wake()
            if not await asyncio.to_thread(runtime.dispatcher.pending) or loop.time() > deadline:
                await asyncio.sleep(0.05)
                return

    async def command(
        self,
        user_id: str,
        *path: str,
        options: list[dict[str, Any]] | None = None,
        channel: str = CHANNEL,
    ) -> dict[str, Any]:
        """Send `/peer PATH... OPTIONS` as a member; return the interaction's record."""
        leaf: dict[str, Any] = {"type": 1, "name": path[-1], "options": options or []}
        if len(path) == 2:
            leaf = {"type": 2, "name": path[0], "options": [leaf]}
        payload = self.api.interaction_command(user_id, channel, "peer", [leaf])
        self.api.send_dispatch("INTERACTION_CREATE", payload)
        interaction_id = str(payload["id"])
        # Answered: a follow-up after the deferral, or an immediate message.
        await self.api.wait_for_async(
            lambda: self._answered(self.api.interaction(interaction_id)), TIMEOUT
        )
        await self.settle()
        return self.api.interaction(interaction_id)

    @staticmethod
    def _answered(record: dict[str, Any]) -> bool:
        return bool(record["followups"]) or any(c["type"] == 4 for c in record["callbacks"])

    async def _processed(self, key: str) -> None:
        """Wait (bounded) until the service has handled the event with this key."""
        engine = self.client.runtime.service.engine

        def seen() -> bool:
            with engine.connect() as connection:
                found = connection.execute(
                    select(ProcessedEvent.event_key).where(ProcessedEvent.event_key == key)
                ).first()
            return found is not None

        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while not await asyncio.to_thread(seen) and loop.time() < deadline:
            await asyncio.sleep(0.02)

    async def say(self, user_id: str, channel: str, text: str) -> None:
        """A member writes in a session's thread; returns once the session has taken it."""
        message = self.api.message_create(user_id, channel, text)
        self.api.send_dispatch("MESSAGE_CREATE", message)
        await self._processed(f"discord:{message['id']}")
        await self.settle()

    async def press(self, user_id: str, channel: str, name: str, session_id: int) -> None:
        message_id = self.messages(channel)[-1]["id"]
        payload = self.api.interaction_button(
            user_id, channel, message_id, f"peerset:{name}:{session_id}"
        )
        self.api.send_dispatch("INTERACTION_CREATE", payload)
        await self._processed(f"discord:{payload['id']}")
        await self.settle()

    def messages(self, channel: str) -> list[dict[str, Any]]:
        return self.api.messages(channel)

    def dms(self, user_id: str) -> list[str]:
        found = []
        for call in self.api.calls_to("POST", "/channels/{x}/messages"):
            channel = self.api.channel(call.path.split("/")[2]) or {}
            recipients = [r.get("id") for r in channel.get("recipients", [])]
            if channel.get("type") == 1 and user_id in recipients:
                found.append(str((call.json or {}).get("content")))
        return found


@contextlib.asynccontextmanager
async def discord_world(
    tmp_path: Path,
    *,
    settings: dict[str, Any] | None = None,
    clock: Clock | None = None,
    **double: Any,
) -> AsyncIterator[DiscordWorld]:
    """A double of Discord (made with `double`), and Peerset connected to it."""
    with DiscordApiDouble(**double) as api, api.patched():
        async with connected(api, tmp_path, settings, clock) as world:
            yield world


@contextlib.asynccontextmanager
async def connected(
    api: DiscordApiDouble,
    tmp_path: Path,
    settings: dict[str, Any] | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[DiscordWorld]:
    """Peerset, with its database in `tmp_path`, `settings` overridden and on `clock` (the
    system's if None), connected to `api` until the block ends; connecting again on the same
    `tmp_path` is a restart."""
    overrides = {"data_dir": tmp_path / "data", **(settings or {})}
    root = Peerset.build(load_settings(**overrides), clock=clock)
    client = build(root, guild_ready_timeout=0.2)
    task: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(client.login(TOKEN), TIMEOUT)
        task = asyncio.create_task(client.connect(reconnect=False))
        await asyncio.wait_for(client.wait_until_ready(), TIMEOUT)
        await api.wait_for_async(lambda: api.commands(GUILD), TIMEOUT)
        yield DiscordWorld(api, client)
    finally:
        await asyncio.wait_for(client.close(), TIMEOUT)
        if task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, TIMEOUT)
        root.close()
