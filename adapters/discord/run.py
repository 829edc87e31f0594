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
from adapters.discord.settings import DiscordSettings
from bot.clock import Clock
from bot.service.runtime import ChatRuntime
from bot.settings import Settings, SettingsError
from bot.store import make_engine, upgrade

log = logging.getLogger(__name__)

INTENTS_HELP = (
    "Discord refused the privileged intents Peerset needs: on the Developer Portal, open your "
    "application → Bot, and turn on SERVER MEMBERS INTENT and MESSAGE CONTENT INTENT"
)


def point_at(discord_settings: DiscordSettings) -> None:
    """Where discord.py finds Discord: its REST base and its gateway (tests use a double)."""
    discord.http.Route.BASE = discord_settings.api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(discord_settings.gateway_url)


def build(settings: Settings, clock: Clock | None = None, **options: Any) -> PeersetClient:
    """The client with its runtime; on the system clock unless given another (tests)."""
    url = settings.effective_database_url
    upgrade(url)
    client = PeersetClient(**options)
    deliverer = DiscordDeliverer(client)
    client.attach(ChatRuntime(PLATFORM, settings, make_engine(url), deliverer, clock))
    return client


async def _serve(
    settings: Settings, discord_settings: DiscordSettings, clock: Clock | None = None
) -> None:
    assert discord_settings.token is not None
    async with build(settings, clock) as client:
        try:
            await client.start(discord_settings.token)
        except discord.PrivilegedIntentsRequired:
            raise SettingsError(INTENTS_HELP) from None
        except discord.LoginFailure:
            raise SettingsError(
                "DISCORD_TOKEN was refused by Discord; reset it and try again"
            ) from None


def run(settings: Settings, clock: Clock | None = None) -> None:
    discord_settings = DiscordSettings()
    discord_settings.check()
    point_at(discord_settings)
    asyncio.run(_serve(settings, discord_settings, clock))
