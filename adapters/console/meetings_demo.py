"""`peerset demo --meetings N`: one set's regular meetings on virtual time."""

from __future__ import annotations

from typing import TextIO

from bot.protocol import Protocol
from bot.settings import Settings


def play_meetings(
    settings: Settings,
    *,
    meetings: int,
    protocol: Protocol,
    protocol_ref: str,
    members: tuple[str, ...],
    out: TextIO,
    err: TextIO,
) -> None:
    raise NotImplementedError("being written")
