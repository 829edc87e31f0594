"""The service: the one door adapters use (sessions) and the outbox's delivery (dispatch)."""

from bot.service.dispatch import Deliverer, Delivery, Dispatcher, Receipt
from bot.service.sessions import Outcome, SessionService, UnknownSession

__all__ = [
    "Deliverer",
    "Delivery",
    "Dispatcher",
    "Outcome",
    "Receipt",
    "SessionService",
    "UnknownSession",
]
