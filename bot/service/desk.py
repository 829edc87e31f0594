"""What a `/peer` request does, the same on every platform.

An adapter reads the platform's payload into a `Request` (bot.commands) and a `Caller`, and gives
the desk its platform's `Spaces` (private channels, private threads). The desk answers with one
message for the caller alone; every outcome, wrong input included, has an answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol as Interface

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import commands
from bot.engine import SetupError, check_setup
from bot.engine.effects import RSVP_CHOICES, Choice, Nudge, NudgeReason
from bot.engine.events import Command, FacilitatorCommand
from bot.engine.state import SessionState, Status
from bot.engine.wording import at, names
from bot.protocol import ProtocolError, shipped_names
from bot.protocol.library import load_named, load_setting
from bot.service.calendar import Calendar, CalendarError, Leads, recurrence_of
from bot.service.checkins import CheckInError, CheckIns
from bot.service.directory import (
    add_member,
    claim_set,
    drop_set,
    ensure_tenant,
    remove_member,
    set_in_space,
    set_members,
)
from bot.service.meetings import MeetingError, Meetings
from bot.service.notices import time_token
from bot.service.sessions import SessionService
from bot.settings import Settings
from bot.store import PeerSet, session_factory

DEFAULT_PROTOCOL = "peer-mentoring-round"
_ALREADY_RUNNING = "A session is already running in this set: /peer status shows where."


class SpaceError(Exception):
    """The platform would not make or change a private space; the message says why."""


class Spaces(Interface):
    """A platform's private spaces (Slack: private channels)."""

    def create(self, name: str, members: Sequence[str]) -> str:
        """Make a private space with these members; return its id."""

    def invite(self, space_id: str, member: str) -> None: ...

    def remove(self, space_id: str, member: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Caller:
    platform: str
    tenant: str  # the workspace or guild
    space_id: str  # where the command was typed
    member: str
    event_key: str | None = None
    # How the caller's surface writes a command: `/peer ` in chat, `peerset ` on the command line.
    prefix: str = commands.CHAT


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    ok: bool = True
    session_id: int | None = None


class Desk:
    def __init__(
        self,
        service: SessionService,
        *,
        calendar: Calendar,
        meetings: Meetings,
        checkins: CheckIns,
        settings: Settings,
        own_protocols: Path | None = None,
    ) -> None:
        self.service = service
        self.calendar = calendar
        self.meetings = meetings
        self.checkins = checkins
        self.settings = settings
        self.own_protocols = own_protocols
        self._sessions = session_factory(service.engine)

    def answer(
        self, request: commands.Request | commands.Problem, caller: Caller, spaces: Spaces
    ) -> Answer:
        """The answer to a request, for the caller alone; a request the caller may not make, or
        that cannot be done, gets one line saying why."""
        if isinstance(request, commands.Problem):
            return Answer(request.message, ok=False)
        try:
            return self._run(request, caller, spaces)
        except (
            SetupError,
            ProtocolError,
            SpaceError,
            CalendarError,
            MeetingError,
            CheckInError,
        ) as exc:
            return Answer(str(exc), ok=False)

    def choose(self, caller: Caller, choice: Choice, subject: int) -> Answer:
        """A member pressed an answer button: an RSVP (subject: the meeting) or a check-in
        (subject: the action item). The answer is for them alone."""
        tenant_id = self._tenant_id(caller)
        try:
            if choice in RSVP_CHOICES:
                return Answer(self.meetings.answer(tenant_id, caller.member, subject, choice))
            return Answer(self.checkins.answer(tenant_id, caller.member, subject, choice))
        except (MeetingError, CheckInError) as exc:
            return Answer(str(exc), ok=False)

    def _tenant_id(self, caller: Caller) -> int:
        with self._sessions.begin() as db:
            return ensure_tenant(db, caller.platform, caller.tenant).id

    def _run(self, request: commands.Request, caller: Caller, spaces: Spaces) -> Answer:
        match request:
            case commands.Help():
                return Answer(commands.usage(caller.prefix))
            case commands.Protocols():
                return Answer("Protocols: " + ", ".join(self.protocol_names()))
            case commands.SetCreate(name=name, members=members):
                return self._create_set(name, members, caller, spaces)
            # An action item's owner is checked by the check-ins, the same answer for an item
            # that is missing and one that is someone else's.
            case commands.CheckIn(item=item, choice=choice, note=note):
                tenant_id = self._tenant_id(caller)
                return Answer(self.checkins.answer(tenant_id, caller.member, item, choice, note))
            case commands.ActionEdit(item=item, text=words):
                tenant_id = self._tenant_id(caller)
                return Answer(self.checkins.edit(tenant_id, caller.member, item, words))
        peer_set = self._set_here(caller)
        if peer_set is None:
            if isinstance(request, commands.Start):
                if request.members:
                    return self._start_new_set(request, caller, spaces)
                return Answer(
                    "Start a session in your set's private channel, or name the members here "
                    "to make a new set: /peer start [PROTOCOL] @member @member ...",
                    ok=False,
                )
            return Answer(
                "This channel has no set. Use it in your set's private channel, or make a set: "
                "/peer set create NAME @member @member ...",
                ok=False,
            )
        refusal = self._refusal(commands.spec_of(request), peer_set, caller)
        if refusal is not None:
            return refusal
        match request:
            case commands.SetAdd(member=member):
                return self._change(peer_set, member, spaces, add=True)
            case commands.SetRemove(member=member):
                return self._change(peer_set, member, spaces, add=False)
            case commands.Status():
                return self._status(peer_set)
            case commands.ScheduleAdd() | commands.ScheduleList() | commands.ScheduleCancel():
                return self._schedule(request, peer_set, caller)
            case commands.ScheduleSkip() | commands.ScheduleMove():
                return self._schedule(request, peer_set, caller)
            case commands.Attendance():
                return Answer(self.meetings.attendance(peer_set.id))
            case commands.Bid():
                return Answer(self.meetings.bid(peer_set.tenant_id, peer_set.id, caller.member))
            case commands.Actions():
                return Answer(self.checkins.mine(peer_set.tenant_id, peer_set.id, caller.member))
            case commands.Start(protocol=protocol, members=members):
                return self._start(peer_set, protocol, tuple(members) or (caller.member,), caller)
            case commands.Control(command=command, minutes=minutes):
                return self._control(peer_set, command, minutes, caller)
        raise AssertionError(f"unhandled request {request!r}")

    def _refusal(self, spec: commands.Spec, peer_set: PeerSet, caller: Caller) -> Answer | None:
        """Why the caller may not use this command on this set, or None if they may."""
        match spec.who:
            # An action item's owner is checked by the check-ins; who may speak or move a
            # running session on, by the engine.
            case commands.Who.ANYONE | commands.Who.OWNER | commands.Who.FACILITATOR:
                return None
            case commands.Who.MEMBER:
                with self._sessions() as db:
                    if caller.member in set_members(db, peer_set.id):
                        return None
                return Answer(
                    f"Only members of {peer_set.name!r} can use {caller.prefix}{spec.name} here.",
                    ok=False,
                )
            case commands.Who.WORKSPACE_ADMIN:
                # No platform tells Peerset who administers a workspace yet: closed until one does.
                return Answer(
                    f"Only a workspace admin can use {caller.prefix}{spec.name}.", ok=False
                )

    def _control(
        self, peer_set: PeerSet, command: Command, minutes: int | None, caller: Caller
    ) -> Answer:
        session_id = self.service.unfinished(peer_set.id)
        if session_id is None:
            return Answer("No session is running in this set. Start one: /peer start", ok=False)
        event = FacilitatorCommand(caller.member, command, minutes)
        outcome = self.service.handle(session_id, event, caller.event_key)
        refusals = [
            e.text
            for e in outcome.effects
            if isinstance(e, Nudge)
            and e.member == caller.member
            and e.reason is NudgeReason.NOT_ALLOWED
        ]
        if refusals and len(refusals) == len(outcome.effects):
            # The session said no (and why): the caller hears that, not "done".
            return Answer(" ".join(refusals), ok=False, session_id=session_id)
        return Answer(f"/peer {command.value}: done.", session_id=session_id)

    # --- sets -----------------------------------------------------------------------------

    def _set_here(self, caller: Caller) -> PeerSet | None:
        with self._sessions() as db:
            tenant = ensure_tenant(db, caller.platform, caller.tenant)
            found = set_in_space(db, tenant.id, caller.space_id)
            db.commit()
            return found

    def _create_set(
        self, name: str, members: Sequence[str], caller: Caller, spaces: Spaces
    ) -> Answer:
        everyone = [caller.member, *[m for m in members if m != caller.member]]
        taken = Answer(f"A set called {name!r} exists already; choose another name.", ok=False)
        # The name is claimed before the platform makes anything: of two requests for one name
        # one wins, and the other leaves no channel behind.
        with self._sessions.begin() as db:
            tenant = ensure_tenant(db, caller.platform, caller.tenant)
            claimed = claim_set(db, tenant.id, name, DEFAULT_PROTOCOL, [(m, m) for m in everyone])
            if claimed is None:
                return taken
            tenant_id, set_id = tenant.id, claimed.id
        try:
            space_id = spaces.create(space_name(name), everyone)
        except Exception:  # refused or failed: the claimed name is freed, then the answer
            drop_set(self.service.engine, set_id)
            raise
        with self._sessions.begin() as db:
            there = set_in_space(db, tenant_id, space_id)
            peer_set = db.get(PeerSet, set_id)
            if there is None and peer_set is not None:
                peer_set.space_id = space_id
        if there is not None:
            drop_set(self.service.engine, set_id)
            return Answer(
                f"This channel already has a set, {there.name!r}; make the new set in "
                "another channel.",
                ok=False,
            )
        return Answer(
            f"Set {name!r} is ready with {names(everyone)}; it meets in <#{space_id}>. "
            "Start a session there with /peer start."
        )

    def _change(self, peer_set: PeerSet, member: str, spaces: Spaces, *, add: bool) -> Answer:
        with self._sessions() as db:
            present = member in set_members(db, peer_set.id)
        if present == add:
            where = "already in" if add else "not in"
            return Answer(f"{at(member)} is {where} this set.", ok=False)
        # The platform first: if it refuses (SpaceError), the set stays as it was.
        assert peer_set.space_id is not None
        if add:
            spaces.invite(peer_set.space_id, member)
        else:
            spaces.remove(peer_set.space_id, member)
        with self._sessions.begin() as db:
            fresh = db.get(PeerSet, peer_set.id)
            assert fresh is not None
            if add:
                add_member(db, fresh, member, member)
            else:
                remove_member(db, fresh, member)
        return Answer(f"{at(member)} has {'joined' if add else 'left'} the set.")

    # --- regular meetings -----------------------------------------------------------------

    def _schedule(self, request: commands.Request, peer_set: PeerSet, caller: Caller) -> Answer:
        match request:
            case commands.ScheduleAdd():
                return self._schedule_add(request, peer_set, caller)
            case commands.ScheduleCancel():
                count = self.calendar.cancel(peer_set.id, caller.member)
                return Answer(f"Regular meetings cancelled ({count} planned meeting called off).")
            case commands.ScheduleSkip():
                skipped, following = self.calendar.skip_next(peer_set.id, caller.member)
                return Answer(
                    f"Meeting {skipped.number} is skipped; the next is "
                    f"{time_token(following.starts_at)}."
                )
            case commands.ScheduleMove(day=day, at=moment):
                self._within_a_year(day)
                moved = self.calendar.move_next(peer_set.id, day, moment, caller.member)
                return Answer(f"Meeting {moved.number} now starts {time_token(moved.starts_at)}.")
        return self._schedule_list(peer_set, caller)

    def _schedule_add(
        self, request: commands.ScheduleAdd, peer_set: PeerSet, caller: Caller
    ) -> Answer:
        starting = request.starting or self.service.clock.now().date()
        self._within_a_year(starting)
        recurrence = request.when.starting(starting)
        # A lead given as 0 is checked (and refused), not taken for the default.
        leads = Leads(
            rsvp_hours=_given(request.rsvp_hours, self.settings.rsvp_hours),
            reminder_hours=_given(request.reminder_hours, self.settings.reminder_hours),
            check_in_days=_given(request.check_in_days, self.settings.check_in_days),
        )
        first = self.calendar.add(peer_set.id, recurrence, leads, caller.member)
        return Answer(
            f"{peer_set.name!r} meets {recurrence.describe()}. The first meeting is "
            f"{time_token(first.starts_at)}; its RSVP goes out {_count(leads.rsvp_hours, 'hour')} "
            f"before, a reminder {_count(leads.reminder_hours, 'hour')} before, and check-ins "
            f"{_count(leads.check_in_days, 'day')} after each action item."
        )

    def _within_a_year(self, day: date) -> None:
        """A day a member names for meetings: from today to a year ahead. A day either side
        of the server's date is allowed for members in other time zones."""
        today = self.service.clock.now().date()
        first, last = today - timedelta(days=1), today + timedelta(days=366)
        if not first <= day <= last:
            raise CalendarError(
                f"{day.isoformat()} is not from today to a year ahead: give a day from "
                f"{today.isoformat()} to {(today + timedelta(days=365)).isoformat()}, "
                "written YYYY-MM-DD"
            )

    def _schedule_list(self, peer_set: PeerSet, caller: Caller) -> Answer:
        schedule = self.calendar.schedule(peer_set.id)
        if schedule is None:
            return Answer(
                f"{peer_set.name!r} has no regular meetings. Set them: "
                f"{commands.syntax(('schedule', 'add'), caller.prefix)}"
            )
        upcoming = self.calendar.upcoming(peer_set.id, 3)
        return Answer(
            f"{peer_set.name!r} meets {recurrence_of(schedule).describe()}. Next: "
            + "; ".join(time_token(moment) for moment in upcoming)
            + "."
        )

    # --- sessions -------------------------------------------------------------------------

    def _start_new_set(self, request: commands.Start, caller: Caller, spaces: Spaces) -> Answer:
        """`/peer start @member ...` outside a set: a set of the caller and those named, made
        for this session, with the caller presenting."""
        # A protocol named wrongly, or one the group does not fit, is answered before anything
        # is made for the session: a refused start leaves no set and no channel behind.
        protocol = (
            load_named(request.protocol, self.own_protocols)
            if request.protocol
            else load_setting(DEFAULT_PROTOCOL, self.own_protocols)
        )
        everyone = (caller.member, *[m for m in request.members if m != caller.member])
        check_setup(protocol, everyone, (caller.member,), None)
        name = self._free_name(caller, f"peers {caller.member} {len(request.members) + 1}")
        made = self._create_set(name, request.members, caller, spaces)
        if not made.ok:
            return made
        return self._start(
            self._set_named(caller, name), request.protocol, (caller.member,), caller
        )

    def _start(
        self,
        peer_set: PeerSet,
        protocol_name: str | None,
        presenters: tuple[str, ...],
        caller: Caller,
    ) -> Answer:
        named = load_named(protocol_name, self.own_protocols) if protocol_name else None
        running = self.service.unfinished(peer_set.id)
        if running is not None:
            return Answer(_ALREADY_RUNNING, ok=False, session_id=running)
        protocol = named or load_setting(peer_set.protocol, self.own_protocols)
        with self._sessions() as db:
            members = tuple(set_members(db, peer_set.id))
        try:
            session_id = self.service.start_session(
                tenant_id=peer_set.tenant_id,
                set_id=peer_set.id,
                protocol=protocol,
                members=members,
                presenters=presenters,
                event_key=caller.event_key,
            )
        except IntegrityError:
            # Another start won the race (one unfinished session a set): the same answer as
            # when it came first.
            running = self.service.unfinished(peer_set.id)
            if running is None:
                raise
            return Answer(_ALREADY_RUNNING, ok=False, session_id=running)
        return Answer(f"{protocol.title} is starting in a new thread.", session_id=session_id)

    def _free_name(self, caller: Caller, base: str) -> str:
        """`base`, or `base-2`, `base-3`...: the first name no set of the caller's workspace has
        (a set made by `/peer start @member ...` has a name nobody chose)."""
        with self._sessions() as db:
            tenant = ensure_tenant(db, caller.platform, caller.tenant)
            db.commit()
            name, n = base, 1
            while _set_by_name(db, tenant.id, name) is not None:
                n += 1
                name = f"{base}-{n}"
            return name

    def _set_named(self, caller: Caller, name: str) -> PeerSet:
        with self._sessions() as db:
            tenant = ensure_tenant(db, caller.platform, caller.tenant)
            peer_set = _set_by_name(db, tenant.id, name)
            assert peer_set is not None
            return peer_set

    def _status(self, peer_set: PeerSet) -> Answer:
        session_id = self.service.unfinished(peer_set.id)
        if session_id is None:
            return Answer(f"No session is running in {peer_set.name!r}. Start one: /peer start")
        return Answer(status_line(self.service.state(session_id)), session_id=session_id)

    def protocol_names(self) -> list[str]:
        own = (
            sorted(p.stem for p in self.own_protocols.glob("*.yaml")) if self.own_protocols else []
        )
        return own + [n for n in shipped_names() if n not in own]


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


def _given(value: int | None, default: int) -> int:
    return default if value is None else value


def _set_by_name(db: Session, tenant_id: int, name: str) -> PeerSet | None:
    return db.scalars(
        select(PeerSet).where(PeerSet.tenant_id == tenant_id, PeerSet.name == name)
    ).first()


def status_line(state: SessionState) -> str:
    where = "paused in" if state.status is Status.PAUSED else "in"
    turn = f", {at(state.turn)}'s turn" if state.turn else ""
    presenter = f", {at(state.presenter)} presenting" if state.presenter else ""
    return f"{state.protocol.title}: {where} {state.phase.title}{presenter}{turn}."


def space_name(set_name: str) -> str:
    """A platform channel name for a set: lower case, hyphens, at most 80 characters."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", set_name.lower()).strip("-") or "set"
    return ("peer-" + slug)[:80]
