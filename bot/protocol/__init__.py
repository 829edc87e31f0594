"""Protocols as data: validated pydantic models and the files that hold them."""

from bot.protocol.library import ProtocolError, load_file, load_shipped, shipped_names
from bot.protocol.model import EndRule, Phase, Protocol, Speaking

__all__ = [
    "EndRule",
    "Phase",
    "Protocol",
    "ProtocolError",
    "Speaking",
    "load_file",
    "load_shipped",
    "shipped_names",
]
