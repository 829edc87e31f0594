"""Many workspaces: Bolt's OAuth flow with slack_sdk's stores in Peerset's own database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import func, select, table

from adapters.slack.run import start_http
from bot.app import Peerset, load_settings
from bot.settings import SettingsError, SlackSettings
from tests.slack_double import SlackApiDouble


def _settings(api_url: str, **extra: str) -> SlackSettings:
    return SlackSettings.model_validate(
        {
            "SLACK_CLIENT_ID": "111.222",
            "SLACK_CLIENT_SECRET": "client-secret",
            "SLACK_SIGNING_SECRET": "signing-secret",
            "PEERSET_SLACK_API_URL": api_url,
            **extra,
        }
    )


def test_install_page_and_per_workspace_tokens(tmp_path: Path) -> None:
    asyncio.run(_install(tmp_path))


async def _install(tmp_path: Path) -> None:
    with (
        SlackApiDouble(team_id="T0002") as api,
        Peerset.build(load_settings(data_dir=tmp_path / "data")) as root,
    ):
        running = await start_http(root, _settings(api.base_url), port=0)
        try:
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{running.port}/slack/install"
                async with http.get(url, allow_redirects=False) as response:
                    page = await response.text()
                    assert response.status in (200, 302)
            assert "slack.com/oauth/v2/authorize" in page + str(response.headers.get("Location"))
            assert "client_id=111.222" in page + str(response.headers.get("Location"))
            engine = running.runtime.service.engine
            with engine.connect() as connection:
                states = connection.execute(
                    select(func.count()).select_from(table("slack_oauth_states"))
                ).scalar_one()
            assert states == 1
            clients = running.runtime.clients
            assert clients.installations is not None
            with pytest.raises(LookupError, match="not installed in workspace T0002"):
                clients.for_team("T0002")
            clients.installations.save(
                Installation(
                    app_id="A0001",
                    team_id="T0002",
                    user_id="U1",
                    bot_token="xoxb-team-two",
                    bot_id="B2",
                    bot_user_id="UBOT2",
                    bot_scopes=["commands"],
                )
            )
            assert clients.for_team("T0002").token == "xoxb-team-two"
        finally:
            await running.close()


def test_oauth_needs_http_mode_and_both_halves() -> None:
    with pytest.raises(SettingsError, match="needs HTTP mode"):
        _settings("http://127.0.0.1/api/").check(http=False)
    half = SlackSettings.model_validate({"SLACK_CLIENT_ID": "111.222", "SLACK_SIGNING_SECRET": "s"})
    with pytest.raises(SettingsError, match="SLACK_CLIENT_SECRET is not set"):
        half.check(http=True)
    no_secret = SlackSettings.model_validate({"SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET is not set"):
        no_secret.check(http=True)
