"""The pure session engine: events in, state and effects out. No clock, database or socket."""

from bot.engine.session import EngineBug, SetupError, check_setup, start, step
from bot.engine.state import SessionState, Status

__all__ = ["EngineBug", "SessionState", "SetupError", "Status", "check_setup", "start", "step"]
