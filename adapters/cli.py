"""The `peerset` command.

It lives beside the adapters, not in `bot/`, because it is where adapters and the core are put
together: `bot/` never imports an adapter.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType

from adapters.console.app import (
    PLATFORM,
    TENANT,
    TENANT_NAME,
    ConsoleApp,
    NoSpaces,
    console_log,
    run,
)
from adapters.console.deliver import ConsoleDeliverer
from adapters.console.demo import DemoError, demo_members, play
from adapters.console.meetings_demo import play_meetings
from adapters.console.render import plain
from bot.app import Peerset, load_discord_settings, load_settings, load_slack_settings
from bot.clock import FileClock, SystemClock
from bot.commands import COMMAND_LINE, TABLE, parse
from bot.engine import SetupError
from bot.engine.wording import group_size
from bot.protocol import Protocol, ProtocolError, load_file, load_shipped, shipped_names
from bot.protocol.library import check_file
from bot.service.desk import DEFAULT_PROTOCOL, Caller
from bot.service.directory import NoSuchSet, SetExists, SetPlace, join_set
from bot.service.runtime import PUMP_SECONDS
from bot.settings import Settings, SettingsError

log = logging.getLogger("peerset")

# On a file clock time jumps when the file is written: look for due work more often.
FILE_CLOCK_PUMP_SECONDS = 0.1


class UsageError(Exception):
    """A wrong command line; the message says what is right."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
        # Alembic narrates every migration at INFO; only its warnings belong on a user's terminal.
        logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.root.level))
        # So does APScheduler, at every job it runs; its warnings (a missed job) still show.
        logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.root.level))
        result: int = args.handler(args, settings)
        return result
    except (SettingsError, ProtocolError, SetupError, UsageError, DemoError) as exc:
        print(f"peerset: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peerset", description="Structured peer-mentoring sessions in chat."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run a whole scripted session on virtual time")
    _protocol_options(demo)
    demo.add_argument("--members", type=int, help="how many simulated members (default: suits)")
    demo.add_argument(
        "--meetings",
        type=int,
        metavar="N",
        help="run N regular meetings of one set, with RSVPs, reminders and check-ins",
    )
    demo.set_defaults(handler=_demo)

    console = commands.add_parser("console", help="play every member of a session yourself")
    _protocol_options(console)
    console.add_argument("--members", required=True, help="comma-separated: alice,bob,carol")
    console.add_argument(
        "--presenter",
        help="who presents (default: the first member); "
        "several, comma-separated, present one round each",
    )
    console.add_argument("--facilitator", help="who facilitates (default: the bot)")
    console.set_defaults(handler=_console)

    protocols = commands.add_parser("protocols", help="list, show or validate protocols")
    what = protocols.add_subparsers(dest="what", required=True, metavar="ACTION")
    what.add_parser("list", help="one protocol a line").set_defaults(handler=_protocols_list)
    show = what.add_parser("show", help="a protocol's phases")
    show.add_argument("name")
    show.set_defaults(handler=_protocols_show)
    validate = what.add_parser("validate", help="check protocol files")
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    validate.set_defaults(handler=_protocols_validate)

    run = commands.add_parser("run", help="run the bot on a chat platform")
    platforms = run.add_subparsers(dest="platform", required=True, metavar="PLATFORM")
    slack = platforms.add_parser("slack", help="Slack: Socket Mode, or HTTP with --http")
    slack.add_argument("--http", action="store_true", help="serve Slack's HTTP requests")
    slack.add_argument("--host", default="0.0.0.0", help="address to listen on (with --http)")
    slack.add_argument("--port", type=int, default=3000, help="port to listen on (with --http)")
    slack.set_defaults(handler=_run_slack)
    platforms.add_parser("discord", help="Discord, with DISCORD_TOKEN").set_defaults(
        handler=_run_discord
    )
    platforms.add_parser(
        "scheduler",
        help="schedule meetings with no chat platform; console sets' notices and sessions "
        "are printed here",
    ).set_defaults(handler=_run_scheduler)

    schedule = commands.add_parser(
        "schedule",
        help="a console set's regular meetings, as /peer schedule does them",
        # The same command table as /peer help, written the command line's way.
        epilog="\n".join(
            f"{spec.syntax(COMMAND_LINE)}: {spec.about}"
            for spec in TABLE
            if spec.path[0] == "schedule"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    schedule.add_argument(
        "words", nargs="+", metavar="WORDS", help="what follows `schedule`, as listed below"
    )
    _set_options(schedule)
    schedule.set_defaults(handler=_schedule)
    attendance = commands.add_parser(
        "attendance", help="a console set's last meetings: who said they would come, who came"
    )
    _set_options(attendance)
    attendance.set_defaults(handler=_attendance)
    bid = commands.add_parser(
        "bid", help="say you are going to a console set's next meeting, with something to bring"
    )
    _set_options(bid)
    bid.set_defaults(handler=_bid)

    db = commands.add_parser("db", help="the database")
    db_what = db.add_subparsers(dest="what", required=True, metavar="ACTION")
    db_what.add_parser("upgrade", help="migrate to the latest schema").set_defaults(
        handler=_db_upgrade
    )
    return parser


def _protocol_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--protocol", help="a shipped protocol (see: peerset protocols list)")
    group.add_argument("--protocol-file", type=Path, help="your own protocol file")


def _set_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", required=True, dest="set_name", metavar="NAME", help="the set")
    parser.add_argument(
        "--members", help="to make the set if it is new (or add to it): alice,bob,carol"
    )
    parser.add_argument(
        "--as", dest="member", metavar="MEMBER", help="who asks (default: the set's first member)"
    )
    _protocol_options(parser)  # a new set's


def _chosen_protocol(args: argparse.Namespace, default: str) -> tuple[Protocol, str]:
    if args.protocol_file is not None:
        path = args.protocol_file.expanduser().absolute()
        return load_file(path), str(path)
    name = args.protocol or default
    return load_shipped(name), name


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    if args.meetings is not None and args.meetings < 1:
        raise UsageError(
            f"--meetings is how many meetings to run, 1 or more; {args.meetings} asked"
        )
    protocol, ref = _chosen_protocol(args, "peer-mentoring-round")
    count = args.members or protocol.group_size.suggested
    size = protocol.group_size
    if not size.min <= count <= size.max:
        raise UsageError(
            f"{protocol.name} is for {group_size(size.min, size.max)}; --members {count} asked"
        )
    members = demo_members(count)
    if args.meetings is not None:
        play_meetings(
            settings,
            meetings=args.meetings,
            protocol=protocol,
            protocol_ref=ref,
            members=members,
            out=sys.stdout,
            err=sys.stderr,
        )
        return 0
    with Peerset.build(settings, clock=SystemClock()) as root:
        app = ConsoleApp(
            root,
            protocol=protocol,
            protocol_ref=ref,
            members=members,
            virtual=True,
            out=sys.stdout,
            err=sys.stderr,
            set_name=f"demo: {protocol.name}",
            fresh=True,
        )
        play(app)
    return 0


def _console(args: argparse.Namespace, settings: Settings) -> int:
    protocol, ref = _chosen_protocol(args, "peer-mentoring-round")
    members = _names(args.members, "--members")
    presenters = _names(args.presenter, "--presenter") if args.presenter else ()
    # The console keeps to the system clock (or virtual time), whatever PEERSET_CLOCK_FILE says.
    with Peerset.build(settings, clock=SystemClock()) as root:
        app = ConsoleApp(
            root,
            protocol=protocol,
            protocol_ref=ref,
            members=members,
            presenters=presenters,
            facilitator=args.facilitator.strip() if args.facilitator else None,
            virtual=not sys.stdin.isatty(),
            out=sys.stdout,
            err=sys.stderr,
        )
        run(app, sys.stdin, interactive=sys.stdin.isatty())
    return 0


def _names(raw: str, option: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    if not names:
        raise UsageError(f"{option} needs names separated by commas, e.g. alice,bob,carol")
    bad = [n for n in names if " " in n or ":" in n or n.startswith("/")]
    if bad:
        raise UsageError(f"{option}: {bad[0]!r} cannot be a name (no spaces, ':' or leading '/')")
    return names


def _protocols_list(args: argparse.Namespace, settings: Settings) -> int:
    for name in shipped_names():
        protocol = load_shipped(name)
        size = protocol.group_size
        print(f"{name}\t{size.min}-{size.max} members\t{protocol.title}: {protocol.summary}")
    return 0


def _protocols_show(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.name)
    protocol = load_file(path) if path.suffix in (".yaml", ".yml") else load_shipped(args.name)
    size = protocol.group_size
    print(f"{protocol.title} ({protocol.name}), {size.min} to {size.max} members")
    print(protocol.summary)
    print(f"Source: {protocol.source}")
    for block in ("opening", "round", "closing"):
        phases = getattr(protocol, block)
        if not phases:
            continue
        print(
            f"\n{block.capitalize()}" + (" (once for each presenter)" if block == "round" else "")
        )
        for phase in phases:
            timing = f", {phase.minutes:g} min" if phase.minutes else ""
            turns = f", {phase.turn_minutes:g} min a turn" if phase.turn_minutes else ""
            ends = " or ".join(rule.value for rule in phase.ends_by)
            print(
                f"  {phase.id}: {phase.title} [{phase.speaking.value}{timing}{turns}; ends {ends}]"
            )
            if phase.stems:
                print(f"    stems: {', '.join(phase.stems)}")
    return 0


def _protocols_validate(args: argparse.Namespace, settings: Settings) -> int:
    failed = False
    for path in args.paths:
        problems, protocol = check_file(path)
        for problem in problems:
            print(problem, file=sys.stderr)
        if protocol is not None:
            print(f"{path}: ok ({protocol.name}, {len(protocol.phases())} phases)")
        failed = failed or bool(problems)
    return 1 if failed else 0


def _run_slack(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.slack.run import run  # Slack's libraries load only when Slack is asked for

    slack = load_slack_settings()
    slack.check(http=args.http)  # before the database is touched
    with Peerset.build(settings) as root:
        run(root, slack, http=args.http, host=args.host, port=args.port)
    return 0


def _run_discord(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.discord.run import run  # discord.py loads only when Discord is asked for

    discord_settings = load_discord_settings()
    discord_settings.check()  # before the database is touched
    with Peerset.build(settings) as root:
        run(root, discord_settings)
    return 0


def _run_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.scheduler:
        raise UsageError("PEERSET_SCHEDULER is false, so this worker would never schedule")
    with Peerset.build(settings) as root:
        deliverer = ConsoleDeliverer(
            sys.stdout,
            console_log(settings, root.database_url),
            root.clock.now(),
            stamper=_local_time,
        )
        runtime = root.runtime(PLATFORM, deliverer)
        worker = root.worker
        assert worker is not None  # settings.scheduler is on
        worker.on_change = _say_scheduling
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        pause = FILE_CLOCK_PUMP_SECONDS if isinstance(root.clock, FileClock) else PUMP_SECONDS
        runtime.take_back_claims()
        worker.start()
        try:
            while not stop.is_set():
                try:
                    runtime.pump_once()
                except Exception:
                    log.exception("delivering the outbox failed; trying again shortly")
                stop.wait(pause)
        finally:
            worker.stop()
    return 0


def _local_time(moment: datetime) -> str:
    return f"[{moment.astimezone():%Y-%m-%d %H:%M}]"


def _say_scheduling(leading: bool) -> None:
    said = "scheduling meetings" if leading else "another worker schedules; waiting to take over"
    # One write, so a log line from another thread cannot land inside it.
    sys.stderr.write(said + "\n")
    sys.stderr.flush()


def _schedule(args: argparse.Namespace, settings: Settings) -> int:
    return _at_desk(" ".join(["schedule", *args.words]), args, settings)


def _attendance(args: argparse.Namespace, settings: Settings) -> int:
    return _at_desk("attendance", args, settings)


def _bid(args: argparse.Namespace, settings: Settings) -> int:
    return _at_desk("bid", args, settings)


def _at_desk(text: str, args: argparse.Namespace, settings: Settings) -> int:
    """A `/peer` command for a console set, answered by the same desk as on Slack and Discord;
    its times are shown in the set's zone."""
    with Peerset.build(settings) as root:
        place = _console_set(root, args)
        member = args.member or place.members[0]
        assert place.space_id is not None  # a console set is given one
        caller = Caller(PLATFORM, TENANT, place.space_id, member, prefix=COMMAND_LINE)
        answer = root.desk.answer(parse(text, COMMAND_LINE), caller, NoSpaces())
        schedule = root.calendar.schedule(place.set_id)
    shown = plain(answer.text, schedule.zone if schedule else None)
    if not answer.ok:
        print(f"peerset: {shown}", file=sys.stderr)
        return 2
    print(shown)
    return 0


def _console_set(root: Peerset, args: argparse.Namespace) -> SetPlace:
    """The console set named by --set, made (or added to) with --members, given a space id so
    the desk finds it."""
    try:
        return join_set(
            root.engine,
            platform=PLATFORM,
            tenant=TENANT,
            tenant_name=TENANT_NAME,
            name=args.set_name,
            members=_names(args.members, "--members") if args.members else (),
            protocol=lambda: _chosen_protocol(args, DEFAULT_PROTOCOL)[1],
            protocol_chosen=bool(args.protocol or args.protocol_file),
            space_id=f"console:{args.set_name}",
        )
    except NoSuchSet:
        raise UsageError(
            f"there is no set called {args.set_name!r}; make it by naming its members: "
            "--members alice,bob,carol"
        ) from None
    except SetExists as exc:
        raise UsageError(
            f"set {args.set_name!r} exists already, with {exc.protocol}; "
            "a protocol is chosen only for a new set"
        ) from None


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    Peerset.build(settings).close()  # building it brings the database up to date
    print("database is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
