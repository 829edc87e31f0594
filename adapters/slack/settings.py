"""Slack's settings, under the names Slack's own documentation uses.

A missing setting stops start-up with a message naming the variable to set.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.settings import SettingsError


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str | None = Field(
        None,
        validation_alias="SLACK_BOT_TOKEN",
        description="The bot token (`xoxb-...`) of a single workspace.",
    )
    app_token: str | None = Field(
        None,
        validation_alias="SLACK_APP_TOKEN",
        description="The app-level token (`xapp-...`) for Socket Mode.",
    )
    signing_secret: str | None = Field(
        None,
        validation_alias="SLACK_SIGNING_SECRET",
        description="Signs Slack's HTTP requests; needed in HTTP mode.",
    )
    client_id: str | None = Field(
        None,
        validation_alias="SLACK_CLIENT_ID",
        description="For installing in many workspaces (OAuth), with SLACK_CLIENT_SECRET.",
    )
    client_secret: str | None = Field(
        None,
        validation_alias="SLACK_CLIENT_SECRET",
        description="The OAuth client secret, with SLACK_CLIENT_ID.",
    )
    api_url: str = Field(
        "https://slack.com/api/",
        validation_alias="PEERSET_SLACK_API_URL",
        description="Slack's Web API base URL, as slack_sdk's `base_url` takes it.",
    )

    @property
    def oauth(self) -> bool:
        return bool(self.client_id or self.client_secret)

    def check(self, *, http: bool) -> None:
        """Raise SettingsError naming the first missing variable for this way of running."""
        needed: list[tuple[str, str | None]] = []
        if self.oauth:
            if not http:
                raise SettingsError(
                    "SLACK_CLIENT_ID is set: installing in many workspaces needs HTTP mode "
                    "(peerset run slack --http)"
                )
            needed += [
                ("SLACK_CLIENT_ID", self.client_id),
                ("SLACK_CLIENT_SECRET", self.client_secret),
            ]
        else:
            needed.append(("SLACK_BOT_TOKEN", self.bot_token))
        needed.append(
            ("SLACK_SIGNING_SECRET", self.signing_secret)
            if http
            else ("SLACK_APP_TOKEN", self.app_token)
        )
        for name, value in needed:
            if not value:
                mode = "HTTP mode" if http else "Socket Mode"
                raise SettingsError(
                    f"{name} is not set; Peerset needs it to run on Slack in {mode}"
                )
