"""Shared fixtures: a database URL per test, on SQLite and on PostgreSQL.

PostgreSQL comes from `PEERSET_TEST_POSTGRES_URL` (default: a local server, user postgres,
database test). Each test gets its own schema, dropped afterwards. An unreachable server skips
the PostgreSQL tests, unless `PEERSET_REQUIRE_POSTGRES=1`, which makes it a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bot.store.db import upgrade

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_server_url() -> str:
    return os.environ.get("PEERSET_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Engine]:
    """An engine on the PostgreSQL test server (the server's default schema)."""
    url = make_url(_postgres_server_url())
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        engine.dispose()
        where = url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if os.environ.get("PEERSET_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                f"PostgreSQL was required (PEERSET_REQUIRE_POSTGRES=1) but is unreachable "
                f"at {where}: {reason}",
                pytrace=False,
            )
        pytest.skip(f"PostgreSQL unreachable at {where} (set PEERSET_TEST_POSTGRES_URL): {reason}")
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file in the test's temporary directory (not yet created)."""
    return f"sqlite:///{tmp_path / 'peerset.db'}"


@pytest.fixture
def postgres_url(postgres_server: Engine) -> Iterator[str]:
    """A URL whose search_path is a fresh schema of its own, dropped after the test."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with postgres_server.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = postgres_server.url.update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with postgres_server.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database on SQLite, then on PostgreSQL: a test taking it runs on both."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def migrated_db_url(db_url: str) -> str:
    """`db_url`, migrated to the latest revision."""
    upgrade(db_url)
    return db_url
