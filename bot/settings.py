"""Settings, read from `PEERSET_*` environment variables and a `.env` file.

`get_settings()` is the one way in. A bad value raises `SettingsError`, whose message is one line
naming the environment variable, so a command-line entry point can print it instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "PEERSET_"

LogLevel = Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]

_DATABASE_URL_EXAMPLES = (
    "sqlite:////path/to/peerset.db or postgresql+psycopg://user@host:5432/peerset"
)


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
        ge=1,
        description="Default for new schedules: hours before a meeting that its RSVP is posted.",
    )
    reminder_hours: int = Field(
        default=4,
        ge=1,
        description=(
            "Default for new schedules: hours before a meeting that those who have not answered "
            "the RSVP are reminded, once."
        ),
    )
    check_in_days: int = Field(
        default=7,
        ge=1,
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


def _one_line(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"])
        name = env_var(field) if field else "settings"
        message = error["msg"].removeprefix("Value error, ")
        if name in message:
            problems.append(message)
        else:
            problems.append(f"{name}: {message}")
    return "; ".join(problems)


def get_settings(**overrides: Any) -> Settings:
    """Read the settings afresh from the environment and `.env` (keyword arguments win)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None
