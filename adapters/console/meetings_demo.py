"""`peerset demo --meetings N`: one set's regular meetings on virtual time.

The set gets a weekly schedule; the real meeting scheduler (APScheduler, its jobs kept in the
database) posts each RSVP, reminds those who have not answered, opens each meeting for those going
with the updates round and the rota's choice, and pings presenters about their action items between
meetings. Simulated members answer as people would, and play each session as in `peerset demo`.
Everything shown was delivered through the outbox, as on Slack and Discord.

The demo keeps its own SQLite file in the data directory, made anew each run, so a demo never
mixes with a real set's history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from adapters.console.app import (
    PLATFORM,
    TENANT,
    TENANT_NAME,
    ConsoleSession,
    NoSpaces,
    console_dispatcher,
    console_log,
)
from adapters.console.deliver import ConsoleDeliverer
from adapters.console.demo import DemoError, play
from adapters.console.render import plain
from bot.app import Peerset
from bot.clock import VirtualClock
from bot.commands import parse
from bot.engine.effects import CHOICE_LABELS, Choice
from bot.protocol import Protocol
from bot.schedule import WEEKDAYS
from bot.scheduler.runner import SYNC_JOB
from bot.service.desk import Answer, Caller
from bot.service.directory import make_set
from bot.service.overview import check_ins_sent, meeting_sessions, rsvps_asked
from bot.settings import Settings

ZONE = "Europe/London"
SPACE = "console:demo-meetings"
MAX_STEPS = 500
# Who answers the RSVP how, meeting by meeting (then round again): a bid is "Going, and I have
# something to bring". Members left out answer only when reminded.
RSVP_SCRIPT: tuple[dict[int, Choice], ...] = (
    {0: Choice.BRINGING, 1: Choice.BRINGING, 2: Choice.BRINGING, 3: Choice.GOING},
    {0: Choice.BRINGING, 1: Choice.NOT_GOING, 2: Choice.BRINGING, 3: Choice.BRINGING},
    {0: Choice.GOING, 1: Choice.GOING, 2: Choice.GOING, 3: Choice.GOING},
)
CHECK_INS = (
    (Choice.DONE, "Done, and it helped more than I expected."),
    (Choice.IN_PROGRESS, "Started; the first part went well."),
    (Choice.STUCK, "It keeps slipping; I could use ideas."),
)


@dataclass
class _Seen:
    rsvps: set[int]
    reminders: set[int]
    check_ins: set[int]
    sessions: set[int]


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
    if meetings < 1:
        raise DemoError(f"the demo shows 1 meeting or more; --meetings {meetings} asked")
    path = settings.data_dir / "demo-meetings.db"
    url = f"sqlite:///{path}"
    for old in (path, console_log(settings, url)):
        old.unlink(missing_ok=True)
    # The scheduler's own upkeep runs daily here, so the demo steps from job to job.
    settings = settings.model_copy(update={"scheduler_sync_seconds": 86400.0})
    clock = VirtualClock(datetime.now(UTC).replace(second=0, microsecond=0))
    with Peerset.build(settings, database_url=url, clock=clock) as root:
        _Demo(root, clock, protocol_ref, members, out, err).run(meetings, protocol)


class _Demo:
    def __init__(
        self,
        root: Peerset,
        clock: VirtualClock,
        protocol_ref: str,
        members: tuple[str, ...],
        out: TextIO,
        err: TextIO,
    ) -> None:
        self.root, self.clock, self.members, self.out, self.err = root, clock, members, out, err
        self.set_id = make_set(
            root.engine,
            platform=PLATFORM,
            tenant=TENANT,
            tenant_name=TENANT_NAME,
            name="demo: regular meetings",
            protocol=protocol_ref,
            members=members,
            space_id=SPACE,
        ).set_id
        self.stamper = _local_stamper(ZONE)
        deliverer = ConsoleDeliverer(
            out, console_log(root.settings, root.database_url), clock.now(), stamper=self.stamper
        )
        self.dispatcher = console_dispatcher(root, deliverer)
        self.scheduler = root.meeting_scheduler(stepped=True)
        self.seen = _Seen(set(), set(), set(), set())

    def run(self, meetings: int, protocol: Protocol) -> None:
        day = WEEKDAYS[(self.clock.now() + timedelta(days=3)).weekday()]
        self._say(
            self.members[0],
            f"schedule add weekly {day} 18:30 {ZONE} 90 rsvp 48h remind 4h checkin 5d",
        )
        self.scheduler.start()
        try:
            for _ in range(MAX_STEPS):
                if len(self.seen.sessions) >= meetings:
                    self._say(self.members[0], "attendance")
                    return
                self._step(protocol)
            raise DemoError(f"the demo did not reach {meetings} meetings in {MAX_STEPS} steps")
        finally:
            self.scheduler.shutdown()

    def _step(self, protocol: Protocol) -> None:
        stepped = self.scheduler.scheduler
        due = [job.next_run_time for job in stepped.get_jobs() if job.id != SYNC_JOB]
        if not due:
            raise DemoError("the scheduler has nothing left to do")
        self.clock.move_to(min(due))
        stepped.run_due()
        self._deliver()
        self._answer_rsvps()
        self._answer_check_ins()
        self._play_sessions()

    # --- members answering --------------------------------------------------------------

    def _answer_rsvps(self) -> None:
        for meeting in rsvps_asked(self.root.engine, self.set_id):
            script = RSVP_SCRIPT[(meeting.number - 1) % len(RSVP_SCRIPT)]
            if meeting.meeting_id not in self.seen.rsvps:
                self.seen.rsvps.add(meeting.meeting_id)
                for index, choice in sorted(script.items()):
                    if index < len(self.members):
                        self._press(self.members[index], choice, meeting.meeting_id)
            if meeting.reminded and meeting.meeting_id not in self.seen.reminders:
                self.seen.reminders.add(meeting.meeting_id)
                for index, member in enumerate(self.members):
                    if index not in script:
                        self._press(member, Choice.GOING, meeting.meeting_id)

    def _answer_check_ins(self) -> None:
        for item_id, owner in check_ins_sent(self.root.engine, self.set_id):
            if item_id in self.seen.check_ins:
                continue
            choice, note = CHECK_INS[len(self.seen.check_ins) % len(CHECK_INS)]
            self.seen.check_ins.add(item_id)
            words = {Choice.DONE: "done", Choice.IN_PROGRESS: "in-progress", Choice.STUCK: "stuck"}
            self._say(owner, f"checkin {item_id} {words[choice]} {note}")

    def _play_sessions(self) -> None:
        for session_id in meeting_sessions(self.root.engine, self.set_id):
            if session_id in self.seen.sessions:
                continue
            self.seen.sessions.add(session_id)
            session = ConsoleSession(
                self.root.service,
                self.dispatcher,
                session_id,
                out=self.out,
                err=self.err,
                virtual=True,
                stamper=self.stamper,
            )
            play(session)
            self._deliver()

    # --- the console's voice ------------------------------------------------------------

    def _press(self, member: str, choice: Choice, meeting_id: int) -> None:
        self._line(f"{member} presses [{CHOICE_LABELS[choice]}]")
        self._reply(member, self.root.desk.choose(self._caller(member), choice, meeting_id))

    def _say(self, member: str, words: str) -> None:
        self._line(f"{member}: /peer {words}")
        self._reply(member, self.root.desk.answer(parse(words), self._caller(member), NoSpaces()))
        self._deliver()

    def _reply(self, member: str, answer: Answer) -> None:
        if not answer.ok:
            raise DemoError(f"the demo's {member} was refused: {answer.text}")
        self._line(f"(to {member}) {plain(answer.text, ZONE)}")

    def _line(self, text: str) -> None:
        self.out.write(f"{self.stamper(self.clock.now())} {text}\n")
        self.out.flush()

    def _deliver(self) -> None:
        self.dispatcher.deliver_pending()

    def _caller(self, member: str) -> Caller:
        return Caller(PLATFORM, TENANT, SPACE, member)


def _local_stamper(zone: str) -> Callable[[datetime], str]:
    tz = ZoneInfo(zone)
    return lambda moment: f"[{moment.astimezone(tz):%a %d %b %H:%M}]"
