"""The database layer and its migrations, on SQLite and PostgreSQL; and the settings."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, Table, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.app import load_settings
from bot.service.calendar import Leads
from bot.settings import Settings, SettingsError
from bot.store import (
    ActionItem,
    Base,
    Member,
    Membership,
    OutboxEntry,
    PeerSet,
    ProcessedEvent,
    SessionRecord,
    Tenant,
    erase_checkpoint,
    make_engine,
    session_factory,
    upgrade,
)

TABLES = {
    "tenants",
    "members",
    "sets",
    "memberships",
    "sessions",
    "action_items",
    "schedules",
    "meetings",
    "attendance",
    "turns",
    "processed_events",
    "outbox",
}


@pytest.fixture
def engine(migrated_db_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_db_url)
    yield engine
    engine.dispose()


def add_session(db: Session, **changes: object) -> SessionRecord:
    """A tenant, a set and a running session in it, flushed."""
    tenant = Tenant(platform="console", external_id="local")
    db.add(tenant)
    db.flush()
    peer_set = PeerSet(tenant_id=tenant.id, name="Tuesday set", protocol="action-learning")
    db.add(peer_set)
    db.flush()
    record = SessionRecord(
        tenant_id=tenant.id,
        set_id=peer_set.id,
        protocol_name="action-learning",
        state={"phase": 0},
        status="running",
    )
    for name, value in changes.items():
        setattr(record, name, value)
    db.add(record)
    db.flush()
    return record


# Migrations


def test_upgrade_twice_is_harmless(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == "0004"
    finally:
        engine.dispose()


SLACK_TABLES = {"slack_installations", "slack_bots", "slack_oauth_states"}


def _slack_tables() -> list[Table]:
    migration = importlib.import_module("migrations.versions.0002_slack_installations")
    tables: list[Table] = migration.slack_tables()
    return tables


def _scheduler_tables() -> list[Table]:
    migration = importlib.import_module("migrations.versions.0003_meetings")
    return [migration.scheduler_jobs_table()]


def test_tables_exist(engine: Engine) -> None:
    expected = TABLES | SLACK_TABLES | {"alembic_version", "apscheduler_jobs"}
    assert set(inspect(engine).get_table_names()) == expected
    assert set(Base.metadata.tables) == TABLES
    assert {t.name for t in _slack_tables()} == SLACK_TABLES


def test_migrations_match_models(engine: Engine) -> None:
    """Peerset's models, and slack_sdk's and APScheduler's tables as they define them."""
    everything = MetaData()
    for table in [*Base.metadata.tables.values(), *_slack_tables(), *_scheduler_tables()]:
        table.to_metadata(everything)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, everything) == []


def test_upgrade_works_from_any_directory(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


# SQLite specifics


def test_sqlite_pragmas_are_in_force(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:

            def pragma(name: str) -> object:
                return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 1  # NORMAL
            assert pragma("secure_delete") == 1
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 5000
    finally:
        engine.dispose()


def test_make_engine_creates_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "peerset.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect():
            pass
        assert path.exists()
    finally:
        engine.dispose()


def test_erased_text_lingers_in_no_file(sqlite_url: str, tmp_path: Path) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    secret = "my manager keeps taking credit for my work"
    try:
        factory = session_factory(engine)
        with factory.begin() as db:
            record = add_session(db)
            entry = OutboxEntry(
                session_id=record.id,
                set_id=record.set_id,
                effect_id="s1:e1",
                kind="nudge",
                recipient="U1",
                payload={"text": secret * 20},
            )
            db.add(entry)
        with factory.begin() as db:
            delivered = db.get_one(OutboxEntry, entry.id)
            delivered.payload = None
            delivered.delivered_at = datetime.now(UTC)
        assert erase_checkpoint(engine)
    finally:
        engine.dispose()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("peerset.db")]
    assert files
    for file in files:
        assert secret.encode() not in file.read_bytes(), file.name


# The models


def test_version_conflict_raises_stale_data(engine: Engine) -> None:
    factory = session_factory(engine)
    with factory.begin() as db:
        session_id = add_session(db).id
    first, second = factory(), factory()
    try:
        a = first.get_one(SessionRecord, session_id)
        b = second.get_one(SessionRecord, session_id)
        assert a.version == b.version == 1
        a.state = {"phase": 1}
        b.state = {"phase": 2}
        first.commit()
        with pytest.raises(StaleDataError):
            second.commit()
    finally:
        first.close()
        second.close()
    with factory() as db:
        stored = db.get_one(SessionRecord, session_id)
        assert (stored.state, stored.version) == ({"phase": 1}, 2)


def test_utc_datetime_round_trips(engine: Engine) -> None:
    factory = session_factory(engine)
    kolkata = timezone(timedelta(hours=5, minutes=30))
    wake = datetime(2025, 3, 30, 1, 30, 15, 123456, tzinfo=kolkata)
    with factory.begin() as db:
        session_id = add_session(db, wake_at=wake).id
    with factory() as db:
        stored = db.get_one(SessionRecord, session_id)
        assert stored.wake_at == wake
        assert stored.wake_at is not None and stored.wake_at.tzinfo == UTC
        assert stored.started_at.tzinfo == UTC
        due = select(SessionRecord.id).where(SessionRecord.wake_at <= wake.astimezone(UTC))
        assert db.scalars(due).all() == [session_id]
        early = select(SessionRecord.id).where(SessionRecord.wake_at < wake - timedelta(seconds=1))
        assert db.scalars(early).all() == []


def test_naive_datetime_is_refused(engine: Engine) -> None:
    with session_factory(engine)() as db, pytest.raises(StatementError, match="naive datetime"):
        add_session(db, wake_at=datetime(2025, 1, 1, 9, 0))


def test_processed_event_key_is_unique(engine: Engine) -> None:
    factory = session_factory(engine)
    with factory.begin() as db:
        db.add(ProcessedEvent(event_key="slack:T1:Ev1"))
    with factory() as db:
        db.add(ProcessedEvent(event_key="slack:T1:Ev1"))
        with pytest.raises(IntegrityError):
            db.commit()


def test_outbox_effect_id_is_unique(engine: Engine) -> None:
    factory = session_factory(engine)
    with factory.begin() as db:
        record = add_session(db)
        db.add(
            OutboxEntry(session_id=record.id, set_id=record.set_id, effect_id="s1:e1", kind="post")
        )
    with factory() as db:
        db.add(
            OutboxEntry(session_id=record.id, set_id=record.set_id, effect_id="s1:e1", kind="post")
        )
        with pytest.raises(IntegrityError):
            db.commit()


def test_outbox_defaults_and_erased_payload_is_sql_null(engine: Engine) -> None:
    factory = session_factory(engine)
    with factory.begin() as db:
        record = add_session(db)
        entry = OutboxEntry(
            session_id=record.id,
            set_id=record.set_id,
            effect_id="s1:e1",
            kind="post",
            payload={"a": 1},
        )
        db.add(entry)
    assert (entry.attempts, entry.delivered_at) == (0, None)
    assert entry.next_attempt_at.tzinfo == UTC
    with factory.begin() as db:
        db.get_one(OutboxEntry, entry.id).payload = None
    with factory() as db:
        erased = select(OutboxEntry.id).where(OutboxEntry.payload.is_(None))
        assert db.scalars(erased).all() == [entry.id]


def test_deleting_a_member_deletes_their_data(engine: Engine) -> None:
    factory = session_factory(engine)
    with factory.begin() as db:
        record = add_session(db)
        member = Member(tenant_id=record.tenant_id, external_id="U1", display_name="Ana")
        db.add(member)
        db.flush()
        db.add(Membership(set_id=record.set_id, member_id=member.id))
        db.add(
            ActionItem(
                session_id=record.id, set_id=record.set_id, member_id=member.id, text="Ask Bo"
            )
        )
    with factory.begin() as db:
        db.delete(db.get_one(Member, member.id))
    with factory() as db:
        assert db.scalars(select(Membership)).all() == []
        assert db.scalars(select(ActionItem)).all() == []
        assert db.get(SessionRecord, record.id) is not None


# Settings


def test_settings_default_to_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PEERSET_DATABASE_URL", raising=False)
    monkeypatch.setenv("PEERSET_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'data' / 'peerset.db'}"
    assert settings.delivery_alert_attempts == 8
    assert all(field.description for field in Settings.model_fields.values())


def test_settings_read_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PEERSET_DATABASE_URL", raising=False)
    (tmp_path / ".env").write_text(
        "PEERSET_DATABASE_URL=postgres://bot:pw@db/peerset\nPEERSET_LOG_LEVEL=debug\nOTHER=1\n"
    )
    settings = load_settings()
    assert settings.effective_database_url == "postgresql+psycopg://bot:pw@db/peerset"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize("url", ["not a url", "mysql://u@h/db", "postgresql://:pw@host"])
def test_bad_database_url_is_one_clear_line(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEERSET_DATABASE_URL", url)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "PEERSET_DATABASE_URL" in message
    assert "\n" not in message
    assert "pw" not in message


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"rsvp_hours": 1000}, "PEERSET_RSVP_HOURS"),
        ({"check_in_days": 91}, "PEERSET_CHECK_IN_DAYS"),
        ({"rsvp_hours": 4, "reminder_hours": 4}, "PEERSET_REMINDER_HOURS"),
    ],
)
def test_lead_times_no_schedule_could_take_are_refused_at_start(
    tmp_path: Path, overrides: dict[str, int], named: str
) -> None:
    with pytest.raises(SettingsError, match=named) as refused:
        load_settings(data_dir=tmp_path, **overrides)
    assert "\n" not in str(refused.value)


def test_the_default_lead_times_fit_what_a_schedule_takes(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, rsvp_hours=672, reminder_hours=671)
    Leads(settings.rsvp_hours, settings.reminder_hours, settings.check_in_days)
