"""Exactly one scheduler: whoever holds the lock schedules; the others wait to take over.

APScheduler's maintainer is clear that two schedulers must never share a job store. On PostgreSQL
the lock is a session advisory lock on a connection kept open for it: if the leader dies, the
server drops the connection and the lock with it, and a waiting worker takes over. On SQLite (one
machine) it is an exclusive lock on a file beside the database, which the system drops when its
process dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

# "peerset-scheduler" as a number, so no other use of advisory locks collides with it by chance.
ADVISORY_KEY = 0x7065657273636864


class Leadership(Protocol):
    def acquire(self) -> bool:
        """Take the lock if it is free; True if this worker now holds it."""

    def holds(self) -> bool:
        """Whether this worker still holds the lock (a lost connection loses it)."""

    def release(self) -> None: ...


class AdvisoryLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def acquire(self) -> bool:
        if self._connection is not None:
            return self.holds()
        connection = self.engine.connect()
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar_one()
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._connection = connection
        return True

    def holds(self) -> bool:
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except Exception:
            log.warning("lost the connection that held the scheduler's lock")
            self._drop()
            return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY}
                )
                self._connection.commit()
            finally:
                self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def holds(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None


class NoLock:
    """Every worker schedules: only for tests that show uniqueness alone stops double work."""

    def __init__(self) -> None:
        self._held = False

    def acquire(self) -> bool:
        self._held = True
        return True

    def holds(self) -> bool:
        return self._held

    def release(self) -> None:
        self._held = False


def leadership_for(engine: Engine, *, locked: bool = True) -> Leadership:
    if not locked:
        return NoLock()
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return FileLock(Path(database + ".scheduler-lock"))
    return NoLock()  # an in-memory database lives in one process
