"""Settings, read from environment variables and a `.env` file: Peerset's own (`PEERSET_*`), and
Slack's and Discord's under the names their own documentation uses.

`bot.app.load_settings()` is the one way in. A bad value raises `SettingsError`, whose message is
one line naming the environment variable, so a command-line entry point can print it instead of a
traceback; so does a missing platform token, from the platform settings' `check()`.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "PEERSET_"

LogLevel = Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]

_DATABASE_URL_EXAMPLES = (
    "sqlite:////path/to/peerset.db or postgresql+psycopg://user@host:5432/peerset"
)


# How far ahead a set may be told of a meeting, and how long after an action item its owner
# is asked: the settings' defaults, the calendar and the `/peer schedule add` options keep to these.
MAX_LEAD_HOURS = 24 * 28
MAX_CHECK_IN_DAYS = 90


class SettingsError(ValueError):
    """A setting is missing or invalid; str() is one line naming the environment variable."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("peerset"))


def parse_database_url(raw: str) -> URL:
    """Parse and check a database URL; `postgresql://` and `postgres://` mean psycopg 3.

    Raises ValueError with a message naming PEERSET_DATABASE_URL (and never echoing a password).
    """
    try:
        url = make_url(raw.strip())
    except (ArgumentError, ValueError):
        raise ValueError(
            "PEERSET_DATABASE_URL is not a valid database URL "
            f"(expected e.g. {_DATABASE_URL_EXAMPLES})"
        ) from None
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(
            f"PEERSET_DATABASE_URL names an unsupported database {backend!r}: "
            f"Peerset runs on SQLite or PostgreSQL (e.g. {_DATABASE_URL_EXAMPLES})"
        )
    if backend == "postgresql" and not url.database:
        raise ValueError(
            "PEERSET_DATABASE_URL names no database (e.g. postgresql+psycopg://host/peerset)"
        )
    return url


class Settings(BaseSettings):
    """Everything Peerset reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description=(
            "Directory for Peerset's own files, including the default SQLite database "
            "(default: the platform's user data directory for `peerset`)."
        ),
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy database URL, e.g. `postgresql+psycopg://user@host:5432/peerset`. "
            "Unset means the SQLite file `peerset.db` in the data directory."
        ),
    )
    protocols_dir: Path | None = Field(
        default=None,
        description=(
            "A directory of your own protocol files (`NAME.yaml`); their names can be used "
            "wherever a shipped protocol's name can, and win over a shipped one of the same name."
        ),
    )
    log_level: LogLevel = Field(
        default="INFO",
        description="Logging level: DEBUG, INFO, WARNING, ERROR or CRITICAL.",
    )
    delivery_alert_attempts: int = Field(
        default=8,
        ge=1,
        description=(
            "Failed attempts after which each further failure to deliver a message is logged as "
            "an error. The message stays in the outbox and is retried until delivered."
        ),
    )
    delivery_backoff_seconds: float = Field(
        default=1.0,
        gt=0,
        description="Wait before the first retry of a failed delivery; doubled after each failure.",
    )
    delivery_backoff_max_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Longest wait between two delivery attempts, in seconds.",
    )
    delivery_lease_seconds: float = Field(
        default=15.0,
        gt=0,
        le=600,
        description=(
            "How long a worker's claim on a message it is delivering lasts; after a crash "
            "another worker takes the message up once the claim has run out."
        ),
    )
    worker_id: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=200,
        description=(
            "This worker's stable name (default: the host name). A worker starting again "
            "under the same name takes back at once what it was delivering when it stopped."
        ),
    )

    scheduler: bool = Field(
        default=True,
        description=(
            "Whether this worker takes part in scheduling meetings. Of all workers that do, "
            "exactly one schedules at a time; the others wait to take over."
        ),
    )
    scheduler_retry_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often a waiting worker tries to take over scheduling, in seconds.",
    )
    scheduler_sync_seconds: float = Field(
        default=60.0,
        gt=0,
        description=(
            "How often the scheduler reads schedules, meetings and action items changed by "
            "any worker and brings its jobs up to date, in seconds."
        ),
    )
    late_start_minutes: int = Field(
        default=15,
        ge=0,
        description=(
            "A meeting whose start the bot missed (it was down) still opens this many minutes "
            "late; later than that it is announced as missed and never opened."
        ),
    )
    rsvp_hours: int = Field(
        default=48,
        ge=2,
        le=MAX_LEAD_HOURS,
        description="Default for new schedules: hours before a meeting that its RSVP is posted.",
    )
    reminder_hours: int = Field(
        default=4,
        ge=1,
        le=MAX_LEAD_HOURS - 1,
        description=(
            "Default for new schedules: hours before a meeting that those who have not answered "
            "the RSVP are reminded, once."
        ),
    )
    check_in_days: int = Field(
        default=7,
        ge=1,
        le=MAX_CHECK_IN_DAYS,
        description="Default: days after an action item is recorded that its owner is asked how "
        "it is going.",
    )
    clock_file: Path | None = Field(
        default=None,
        description=(
            "For tests and demos only: read the time from this file (an ISO 8601 time with a "
            "zone) instead of the system clock, so a real process runs on virtual time."
        ),
    )
    scheduler_lock: bool = Field(
        default=True,
        description=(
            "For tests only: `false` lets every worker schedule at once, to show that a "
            "meeting's uniqueness in the database alone stops it opening twice."
        ),
    )

    fault_pause: str | None = Field(
        default=None,
        description=(
            "For fault tests only: `before:N` or `after:N` stops the console at its Nth delivery "
            "(before it reaches the terminal, or after but before it is marked delivered)."
        ),
    )

    @model_validator(mode="after")
    def _reminder_after_rsvp(self) -> Settings:
        # Otherwise every new schedule that takes the defaults would be refused.
        if self.reminder_hours >= self.rsvp_hours:
            raise ValueError(
                "PEERSET_REMINDER_HOURS must be fewer than PEERSET_RSVP_HOURS (the reminder "
                f"comes after the RSVP); got {self.reminder_hours} and {self.rsvp_hours}"
            )
        return self

    @field_validator("data_dir", mode="after")
    @classmethod
    def _expand_data_dir(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("database_url", mode="after")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_database_url(value)
        return value.strip()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @property
    def effective_database_url(self) -> str:
        """The database URL to connect to: `database_url`, or the SQLite file in `data_dir`."""
        if self.database_url is None:
            path = (self.data_dir / "peerset.db").absolute()
            return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)
        return parse_database_url(self.database_url).render_as_string(hide_password=False)


def env_var(field_name: str) -> str:
    """The environment variable that sets a field, e.g. `PEERSET_DATABASE_URL`."""
    return f"{ENV_PREFIX}{field_name.upper()}"


class SlackSettings(BaseSettings):
    """Slack's settings, under the names Slack's own documentation uses."""

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


class DiscordSettings(BaseSettings):
    """Discord's settings."""

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
