"""`peerset run discord`: the bot connected to Discord's gateway."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl

from adapters.discord.client import PLATFORM, PeersetClient
from adapters.discord.deliver import DiscordDeliverer
from bot.app import Peerset
from bot.settings import DiscordSettings, SettingsError

log = logging.getLogger(__name__)

INTENTS_HELP = (
    "Discord refused the privileged intents Peerset needs: on the Developer Portal, open your "
    "application → Bot, and turn on SERVER MEMBERS INTENT and MESSAGE CONTENT INTENT"
)


def point_at(discord_settings: DiscordSettings) -> None:
    """Where discord.py finds Discord: its REST base and its gateway (tests use a double)."""
    discord.http.Route.BASE = discord_settings.api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(discord_settings.gateway_url)


def build(root: Peerset, **options: Any) -> PeersetClient:
    """The client with its runtime, on Peerset's database and clock."""
    client = PeersetClient(**options)
    client.attach(root.runtime(PLATFORM, DiscordDeliverer(client)))
    return client


async def _serve(root: Peerset, discord_settings: DiscordSettings) -> None:
    assert discord_settings.token is not None
    async with build(root) as client:
        try:
            await client.start(discord_settings.token)
        except discord.PrivilegedIntentsRequired:
            raise SettingsError(INTENTS_HELP) from None
        except discord.LoginFailure:
            raise SettingsError(
                "DISCORD_TOKEN was refused by Discord; reset it and try again"
            ) from None


def run(root: Peerset, discord_settings: DiscordSettings) -> None:
    """Connect to Discord until stopped; `discord_settings` checked already."""
    point_at(discord_settings)
    asyncio.run(_serve(root, discord_settings))
