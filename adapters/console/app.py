"""The console adapter: one person plays every member of a session at a terminal.

It goes through the same service, database and outbox as Slack and Discord; nothing is shortcut.
On a terminal time is real. With piped input time is virtual and moves only with `/wait`, so a
script runs a whole session in seconds.
"""

from __future__ import annotations

import hashlib
import select
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from adapters.console.deliver import ConsoleDeliverer
from adapters.console.parse import HELP, Act, Help, Problem, Wait, parse_line
from adapters.console.render import plain, stamp
from bot.app import Peerset
from bot.clock import VirtualClock
from bot.engine import SessionState
from bot.engine.events import Tick
from bot.engine.wording import names
from bot.protocol import Protocol
from bot.service import Dispatcher, SessionService
from bot.service.desk import SpaceError
from bot.service.directory import make_set
from bot.service.dispatch import Hook
from bot.settings import Settings

PLATFORM = "console"
# The console's one workspace: this computer.
TENANT, TENANT_NAME = "local", "This computer"


class NoSpaces:
    """The console has no private spaces: a console set meets at this terminal, so the desk's
    commands it runs (schedules, attendance, bids) never make or change one."""

    def create(self, name: str, members: Sequence[str]) -> str:
        raise SpaceError("the console has no private spaces")

    def invite(self, space_id: str, member: str) -> None:
        raise SpaceError("the console has no private spaces")

    def remove(self, space_id: str, member: str) -> None:
        raise SpaceError("the console has no private spaces")


def console_log(settings: Settings, url: str) -> Path:
    """The console's memory of what it showed, one per database."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return settings.data_dir / f"console-{digest}.log"


def console_dispatcher(
    root: Peerset, deliverer: ConsoleDeliverer, hook: Hook | None = None
) -> Dispatcher:
    # The console is the only worker on its sessions: nothing to lease an entry against.
    return root.dispatcher(PLATFORM, deliverer, lease_seconds=0, hook=hook)


class ConsoleSession:
    """One session played at the console: lines in, the session's delivered effects out."""

    def __init__(
        self,
        service: SessionService,
        dispatcher: Dispatcher,
        session_id: int,
        *,
        out: TextIO,
        err: TextIO,
        virtual: bool,
        stamper: Callable[[datetime], str],
    ) -> None:
        self.service, self.dispatcher, self.session_id = service, dispatcher, session_id
        self.clock = service.clock
        self.out, self.err, self.virtual = out, err, virtual
        self.stamper = stamper
        self.state = service.state(session_id)
        self.lines_done = 0
        self._settle()

    @property
    def ended(self) -> bool:
        return self.state.ended

    def feed(self, line: str, typing: timedelta | None = None) -> None:
        """Take one line as typed; a line that cannot be taken gets a one-line error.

        `typing` (virtual time only) is how long the member took to write it: deadlines that
        fall due meanwhile fire first, as they would in a real session.
        """
        if typing and isinstance(self.clock, VirtualClock):
            self.clock.advance(typing)
            self._settle()
        parsed = parse_line(line, self.state.members, self.state.facilitator)
        if isinstance(parsed, Problem):
            self.err.write(f"error: {parsed.message}\n")
            self.err.flush()
        elif isinstance(parsed, Help):
            self.err.write(HELP + "\n")
        elif isinstance(parsed, Wait):
            if not isinstance(self.clock, VirtualClock):
                self.err.write("error: /wait only works with piped input; here time is real\n")
            else:
                self._echo(line)
                self.clock.advance(timedelta(minutes=parsed.minutes))
                self.service.handle(self.session_id, Tick())
        elif isinstance(parsed, Act):
            self._echo(line)
            self.service.handle(self.session_id, parsed.event)
        self.lines_done += 1
        self._settle()

    def tick(self) -> None:
        self._settle()

    def finish_input(self) -> None:
        """The input has ended: deliver what is owed and say where the session stands."""
        self._settle()
        if not self.ended:
            self.err.write(
                f"Input ended; the session waits at {describe(self.state)} "
                "Run the same command again to go on.\n"
            )

    def _settle(self) -> None:
        self.service.fire_due(session_id=self.session_id)
        self.dispatcher.deliver_pending(session_id=self.session_id)
        self.state = self.service.state(self.session_id)

    def _echo(self, line: str) -> None:
        if self.virtual:
            self.out.write(f"{self.stamper(self.clock.now())} {line.strip()}\n")
            self.out.flush()


class ConsoleApp(ConsoleSession):
    """A console session of its own: its set made (or found) and its session started or
    resumed."""

    def __init__(
        self,
        root: Peerset,
        *,
        protocol: Protocol,
        protocol_ref: str,
        members: tuple[str, ...],
        presenters: tuple[str, ...] = (),
        facilitator: str | None = None,
        virtual: bool,
        out: TextIO,
        err: TextIO,
        set_name: str | None = None,
        fresh: bool = False,
    ) -> None:
        self.out, self.err, self.virtual = out, err, virtual
        place = make_set(
            root.engine,
            platform=PLATFORM,
            tenant=TENANT,
            tenant_name=TENANT_NAME,
            name=set_name or "console: " + ", ".join(members),
            protocol=protocol_ref,
            members=members,
            facilitator=facilitator,
        )
        resume = None if fresh else root.service.unfinished(place.set_id)
        resumed_state = root.service.state(resume) if resume else None
        if virtual:
            # Virtual time goes on from where the resumed session left it.
            start = (
                resumed_state.clock if resumed_state else datetime.now(UTC).replace(microsecond=0)
            )
            root = root.with_clock(VirtualClock(start))
        self.root = root
        if resume is not None and resumed_state is not None:
            self.session_id = resume
            self.err.write(f"Resuming session {resume}: {describe(resumed_state)}\n")
        else:
            self.session_id = root.service.start_session(
                tenant_id=place.tenant_id,
                set_id=place.set_id,
                protocol=protocol,
                members=members,
                presenters=presenters,
                facilitator=facilitator,
            )
        started_at = root.service.state(self.session_id).started_at
        self.deliverer = ConsoleDeliverer(
            out, console_log(root.settings, root.database_url), started_at
        )
        fault_pause = root.settings.fault_pause
        dispatcher = console_dispatcher(
            root, self.deliverer, hook=_fault_hook(fault_pause, self) if fault_pause else None
        )
        super().__init__(
            root.service,
            dispatcher,
            self.session_id,
            out=out,
            err=err,
            virtual=virtual,
            stamper=lambda moment: stamp(moment, started_at),
        )


def describe(state: SessionState) -> str:
    if state.ended:
        return "the session has ended."
    turn = f", {state.turn}'s turn" if state.turn else ""
    presenter = f" ({state.presenter} presenting)" if state.presenter else ""
    return f"{state.phase.title}{presenter}{turn}."


def run(app: ConsoleApp, stream: TextIO, interactive: bool) -> None:
    """Read lines until the session ends or the input does."""
    if interactive:
        app.err.write(
            f"Members: {plain(names(app.state.members))}. Type 'name: text' to speak as a member, "
            "'name: /done', '/next', ... Ctrl-D leaves (the session can be resumed).\n"
        )
    while not app.ended:
        if interactive:
            ready, _, _ = select.select([stream], [], [], 1.0)
            if not ready:
                app.tick()
                continue
        line = stream.readline()
        if not line:
            break
        app.feed(line)
    app.finish_input()


def _fault_hook(spec: str, app: ConsoleApp) -> Hook:
    stage, _, number = spec.partition(":")
    target = int(number)
    count = 0

    def hook(at: str, effect_id: str) -> None:
        nonlocal count
        if at == "before":
            count += 1
        if at == stage and count == target:
            app.err.write(f"fault-pause {stage} {effect_id} line {app.lines_done}\n")
            app.err.flush()
            while True:  # wait here to be killed
                time.sleep(3600)

    return hook
