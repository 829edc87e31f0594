"""Installing in many workspaces: Bolt's OAuth flow with slack_sdk's SQLAlchemy stores in
Peerset's own database (their tables come with Peerset's migrations).

slack_sdk's async SQLAlchemy stores need an async database driver; Peerset's engine is
synchronous, so Bolt's async flow reaches slack_sdk's synchronous stores through a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from bot.settings import SlackSettings

# Everything the app does, and nothing more; the manifests ask for the same (a test checks).
SCOPES = (
    "commands",
    "chat:write",
    "groups:write",
    "groups:read",
    "groups:history",
    "im:write",
    "im:history",
    "users:read",
)
STATE_EXPIRY_SECONDS = 600


class ThreadedInstallationStore(AsyncInstallationStore):
    def __init__(self, store: SQLAlchemyInstallationStore) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return self.store.logger

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.store.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.store.save_bot, bot)

    async def async_find_bot(self, **kwargs: Any) -> Bot | None:
        return await asyncio.to_thread(lambda: self.store.find_bot(**kwargs))

    async def async_find_installation(self, **kwargs: Any) -> Installation | None:
        return await asyncio.to_thread(lambda: self.store.find_installation(**kwargs))

    async def async_delete_bot(self, **kwargs: Any) -> None:
        await asyncio.to_thread(lambda: self.store.delete_bot(**kwargs))

    async def async_delete_installation(self, **kwargs: Any) -> None:
        await asyncio.to_thread(lambda: self.store.delete_installation(**kwargs))

    async def async_delete_all(self, **kwargs: Any) -> None:
        await asyncio.to_thread(lambda: self.store.delete_all(**kwargs))


class ThreadedStateStore(AsyncOAuthStateStore):
    def __init__(self, store: SQLAlchemyOAuthStateStore) -> None:
        self.store = store

    @property
    def logger(self) -> logging.Logger:
        return self.store.logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(lambda: self.store.issue(*args, **kwargs))

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.store.consume, state)


def installation_stores(
    slack: SlackSettings, engine: Engine
) -> tuple[SQLAlchemyInstallationStore, AsyncOAuthSettings]:
    """The synchronous store (for delivering from worker threads) and Bolt's OAuth settings."""
    assert slack.client_id and slack.client_secret
    store = SQLAlchemyInstallationStore(client_id=slack.client_id, engine=engine)
    states = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRY_SECONDS, engine=engine)
    settings = AsyncOAuthSettings(
        client_id=slack.client_id,
        client_secret=slack.client_secret,
        scopes=list(SCOPES),
        installation_store=ThreadedInstallationStore(store),
        state_store=ThreadedStateStore(states),
    )
    return store, settings
