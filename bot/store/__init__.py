"""The database: models, engines, sessions and migrations (SQLite embedded, PostgreSQL shared)."""

from bot.store.db import erase_checkpoint, make_engine, session_factory, upgrade
from bot.store.models import (
    ActionItem,
    Base,
    Member,
    Membership,
    OutboxEntry,
    PeerSet,
    ProcessedEvent,
    SessionRecord,
    Tenant,
)
from bot.store.types import UTCDateTime, utcnow

__all__ = [
    "ActionItem",
    "Base",
    "Member",
    "Membership",
    "OutboxEntry",
    "PeerSet",
    "ProcessedEvent",
    "SessionRecord",
    "Tenant",
    "UTCDateTime",
    "erase_checkpoint",
    "make_engine",
    "session_factory",
    "upgrade",
    "utcnow",
]
