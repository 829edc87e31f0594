"""Discord's settings. A missing token stops start-up with a message naming the variable."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.settings import SettingsError


class DiscordSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    token: str | None = Field(
        None,
        validation_alias="DISCORD_TOKEN",
        description="The bot's token, from the Developer Portal's Bot page.",
    )
    api_url: str = Field(
        "https://discord.com/api/v10",
        validation_alias="PEERSET_DISCORD_API_URL",
        description="Discord's REST base URL, including the API version.",
    )
    gateway_url: str = Field(
        "wss://gateway.discord.gg/",
        validation_alias="PEERSET_DISCORD_GATEWAY_URL",
        description="Discord's gateway (websocket) URL.",
    )

    def check(self) -> None:
        if not self.token:
            raise SettingsError(
                "DISCORD_TOKEN is not set; copy the bot's token from the Developer Portal "
                "(Applications → your app → Bot → Reset Token)"
            )
