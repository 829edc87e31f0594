"""Who is who, found or made on first sight: two requests that see a new workspace or member at
the same moment both succeed, with one row between them."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from bot.service.directory import _found_or_made, ensure_member, ensure_tenant
from bot.store import Member, Tenant, make_engine, session_factory


@pytest.fixture
def engine(migrated_db_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_db_url)
    yield engine
    engine.dispose()


def test_a_workspace_made_meanwhile_by_another_request_is_taken_not_doubled(
    engine: Engine,
) -> None:
    sessions = session_factory(engine)
    query = select(Tenant).where(Tenant.platform == "slack", Tenant.external_id == "T9")

    def make_after_another() -> Tenant:
        # Between this request's look and its insert, another request made the workspace.
        with sessions.begin() as other:
            ensure_tenant(other, "slack", "T9", "the other's")
        return Tenant(platform="slack", external_id="T9", name="ours")

    with sessions.begin() as db:
        tenant = _found_or_made(db, query, make_after_another)
        assert tenant.name == "the other's"
        # The transaction goes on after the undone insert.
        member = ensure_member(db, tenant.id, "U1", "Ana")
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Tenant)) == 1
        assert db.get(Member, member.id) is not None


def test_many_first_sights_at_once_make_one_row(engine: Engine) -> None:
    sessions = session_factory(engine)
    start = threading.Barrier(6)
    problems: list[BaseException] = []

    def first_sight() -> None:
        try:
            start.wait(10)
            with sessions.begin() as db:
                tenant = ensure_tenant(db, "discord", "G1")
                ensure_member(db, tenant.id, "1001", "Ana")
        except BaseException as exc:  # collected, so the test names it
            problems.append(exc)

    threads = [threading.Thread(target=first_sight) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert problems == []
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Tenant)) == 1
        assert db.scalar(select(func.count()).select_from(Member)) == 1
