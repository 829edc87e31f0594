"""The running side of a chat platform, shared by every adapter: work handed on after an ack,
and the pump that fires due deadlines and delivers the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

from bot.engine.events import Event
from bot.service.desk import Desk
from bot.service.directory import ensure_tenant
from bot.service.dispatch import Dispatcher
from bot.store import session_factory

log = logging.getLogger(__name__)

PUMP_SECONDS = 1.0


class Background(Protocol):
    """Work that runs beside a chat platform's in a thread of its own (the scheduler worker)."""

    def start(self) -> None: ...

    def stop(self) -> None:
        """Stop, waiting for the thread to end."""


class ChatRuntime:
    """What a running chat bot holds, on any platform: the service, the desk, and the pump that
    fires due deadlines and delivers the outbox. Adapters hand it the work after each ack."""

    def __init__(
        self,
        platform: str,
        *,
        desk: Desk,
        dispatcher: Dispatcher,
        scheduler: Background | None = None,
    ) -> None:
        self.platform = platform
        self.desk = desk
        self.service = desk.service
        self.clock = self.service.clock
        self.dispatcher = dispatcher
        # Started and stopped with the pump, if this worker takes part in scheduling.
        self.scheduler = scheduler
        self._sessions = session_factory(self.service.engine)
        self._tenants: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake: asyncio.Event | None = None

    # --- the work after the ack ----------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:  # a bug: logged loudly, never shown as a traceback in a channel
            log.exception("handling a %s request failed", self.platform)

    async def settle(self) -> None:
        """Wait for the work already handed on (tests and shutdown use this)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def tenant_id(self, tenant: str) -> int:
        """The row id of a workspace (Slack) or guild (Discord), made on first sight."""
        if tenant not in self._tenants:
            with self._sessions.begin() as db:
                self._tenants[tenant] = ensure_tenant(db, self.platform, tenant).id
        return self._tenants[tenant]

    async def step(self, tenant: str, session_id: int, event: Event, key: str | None) -> None:
        """Apply an event to a session, if the session belongs to this tenant."""

        def work() -> None:
            if self.service.tenant_of(session_id) != self.tenant_id(tenant):
                log.warning("%s %s named another's session", self.platform, tenant)
                return
            self.service.handle(session_id, event, key)

        await asyncio.to_thread(work)
        self.wake()

    async def in_thread(self, tenant: str, space: str, thread: str, event: Event, key: str) -> None:
        """Apply an event written in a thread, if the thread is a session's."""

        def work() -> None:
            session_id = self.service.in_thread(self.tenant_id(tenant), space, thread)
            if session_id is not None:
                self.service.handle(session_id, event, key)

        await asyncio.to_thread(work)
        self.wake()

    # --- the outbox's pump ---------------------------------------------------------------

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def take_back_claims(self) -> None:
        """What this worker was delivering when it last stopped is due again at once."""
        taken = self.dispatcher.take_back_claims()
        if taken:
            log.info("took back %s deliveries this worker had claimed before it stopped", taken)

    def pump_once(self) -> int:
        self.service.fire_due()
        return self.dispatcher.deliver_pending()

    async def pump(self, stop: asyncio.Event) -> None:
        """Fire due deadlines and deliver the outbox until `stop`, at once when woken; meanwhile
        offer to schedule meetings."""
        self._wake = asyncio.Event()
        await asyncio.to_thread(self.take_back_claims)
        if self.scheduler is not None:
            self.scheduler.start()
        try:
            await self._pump(stop)
        finally:
            if self.scheduler is not None:
                await asyncio.to_thread(self.scheduler.stop)

    async def _pump(self, stop: asyncio.Event) -> None:
        assert self._wake is not None
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.pump_once)
            except Exception:
                log.exception("delivering the outbox failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), PUMP_SECONDS)
            self._wake.clear()
