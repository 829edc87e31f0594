"""The database: models, engines, sessions and migrations (SQLite embedded, PostgreSQL shared)."""

from bot.store.db import erase_checkpoint, make_engine, session_factory, upgrade
from bot.store.models import (
    ActionItem,
    Attendance,
    Base,
    Meeting,
    Member,
    Membership,
    OutboxEntry,
    PeerSet,
    ProcessedEvent,
    Schedule,
    SessionRecord,
    Tenant,
    Turn,
)
from bot.store.types import UTCDateTime, utcnow

__all__ = [
    "ActionItem",
    "Attendance",
    "Base",
    "Meeting",
    "Member",
    "Membership",
    "OutboxEntry",
    "PeerSet",
    "ProcessedEvent",
    "Schedule",
    "SessionRecord",
    "Tenant",
    "Turn",
    "UTCDateTime",
    "erase_checkpoint",
    "make_engine",
    "session_factory",
    "upgrade",
    "utcnow",
]
