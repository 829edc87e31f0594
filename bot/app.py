"""The composition root: Peerset put together once, from the settings.

`Peerset` owns the database engine, the clock, the services and the scheduler worker, and hands
them to the adapters and the command line. Nothing else reads the settings or opens the
database: a test or a demo that wants another database or clock builds its own `Peerset`.
"""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from bot.clock import Clock, FileClock, SystemClock
from bot.scheduler import MeetingScheduler, SchedulerWorker
from bot.service.calendar import Calendar
from bot.service.checkins import CheckIns
from bot.service.desk import Desk
from bot.service.dispatch import Deliverer, Dispatcher, Hook
from bot.service.meetings import Meetings
from bot.service.runtime import ChatRuntime
from bot.service.sessions import SessionService
from bot.settings import DiscordSettings, Settings, SettingsError, SlackSettings, env_var
from bot.store import make_engine, upgrade


def load_settings(**overrides: Any) -> Settings:
    """Read the settings afresh from the environment and `.env` (keyword arguments win)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


def load_slack_settings() -> SlackSettings:
    """Slack's settings, read afresh; `check()` them for the way Slack is run."""
    return SlackSettings()


def load_discord_settings() -> DiscordSettings:
    """Discord's settings, read afresh; `check()` them before connecting."""
    return DiscordSettings()


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


def clock_for(settings: Settings) -> Clock:
    """The system clock; for tests and demos, a file whose time the whole process reads."""
    if settings.clock_file is None:
        return SystemClock()
    clock = FileClock(settings.clock_file)
    try:
        clock.now()
    except (OSError, ValueError) as exc:
        raise SettingsError(f"PEERSET_CLOCK_FILE: {exc}") from None
    return clock


class Peerset:
    """One running Peerset: its database, its clock, and everything built on them."""

    def __init__(self, settings: Settings, engine: Engine, clock: Clock) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.service = SessionService(engine, clock)
        self.calendar = Calendar(
            engine,
            clock,
            late_start=timedelta(minutes=settings.late_start_minutes),
            check_in_days=settings.check_in_days,
        )
        self.meetings = Meetings(engine, clock, self.service, settings.protocols_dir)
        self.checkins = CheckIns(engine, clock)
        self.desk = Desk(
            self.service,
            calendar=self.calendar,
            meetings=self.meetings,
            checkins=self.checkins,
            settings=settings,
            own_protocols=settings.protocols_dir,
        )
        # Every worker offers to schedule; exactly one at a time does (bot.scheduler.leader).
        self.worker = (
            SchedulerWorker(engine, clock, settings, self.meeting_scheduler)
            if settings.scheduler
            else None
        )

    @classmethod
    def build(
        cls, settings: Settings, *, database_url: str | None = None, clock: Clock | None = None
    ) -> Peerset:
        """Migrate the database (the settings' unless another is given) and put Peerset
        together on it, on `clock` or the one the settings name."""
        url = database_url or settings.effective_database_url
        chosen = clock or clock_for(settings)
        upgrade(url)
        return cls(settings, make_engine(url), chosen)

    @property
    def database_url(self) -> str:
        """The database's URL, password included (the console keys its memory by it)."""
        return self.engine.url.render_as_string(hide_password=False)

    def with_clock(self, clock: Clock) -> Peerset:
        """The same Peerset on another clock, sharing this one's database engine (a console
        session resumed on virtual time runs on its own time)."""
        return Peerset(self.settings, self.engine, clock)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Peerset:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- for a platform -----------------------------------------------------------------------

    def dispatcher(
        self,
        platform: str,
        deliverer: Deliverer,
        *,
        lease_seconds: float | None = None,
        hook: Hook | None = None,
    ) -> Dispatcher:
        """The outbox's delivery to one platform, backing off as the settings say."""
        return Dispatcher(
            self.engine,
            deliverer,
            self.clock,
            backoff_seconds=self.settings.delivery_backoff_seconds,
            backoff_max_seconds=self.settings.delivery_backoff_max_seconds,
            warn_after_attempts=self.settings.delivery_alert_attempts,
            lease_seconds=(
                self.settings.delivery_lease_seconds if lease_seconds is None else lease_seconds
            ),
            hook=hook,
            platform=platform,
            worker_id=self.settings.worker_id,
        )

    def runtime(self, platform: str, deliverer: Deliverer) -> ChatRuntime:
        """A chat platform's runtime, delivering with `deliverer`."""
        return ChatRuntime(
            platform,
            desk=self.desk,
            dispatcher=self.dispatcher(platform, deliverer),
            scheduler=self.worker,
        )

    def meeting_scheduler(self, *, stepped: bool = False) -> MeetingScheduler:
        """The meeting scheduler on this Peerset's services; `stepped` runs due jobs only when
        told (the demo, and tests on a virtual clock)."""
        return MeetingScheduler(
            self.engine,
            self.clock,
            self.settings,
            calendar=self.calendar,
            meetings=self.meetings,
            checkins=self.checkins,
            stepped=stepped,
        )
