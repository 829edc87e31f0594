"""The `peerset` command.

It lives beside the adapters, not in `bot/`, because it is where adapters and the core are put
together: `bot/` never imports an adapter.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from adapters.console.app import ConsoleApp, run
from adapters.console.demo import DemoError, demo_members, play
from bot.engine import SetupError
from bot.engine.wording import group_size
from bot.protocol import Protocol, ProtocolError, load_file, load_shipped, shipped_names
from bot.protocol.library import check_file
from bot.settings import Settings, SettingsError, get_settings
from bot.store import upgrade


class UsageError(Exception):
    """A wrong command line; the message says what is right."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        logging.basicConfig(level=settings.log_level, format="%(levelname)s %(name)s: %(message)s")
        # Alembic narrates every migration at INFO; only its warnings belong on a user's terminal.
        logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.root.level))
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


def _chosen_protocol(args: argparse.Namespace, default: str) -> tuple[Protocol, str]:
    if args.protocol_file is not None:
        path = args.protocol_file.expanduser().absolute()
        return load_file(path), str(path)
    name = args.protocol or default
    return load_shipped(name), name


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    protocol, ref = _chosen_protocol(args, "peer-mentoring-round")
    count = args.members or protocol.group_size.suggested
    size = protocol.group_size
    if not size.min <= count <= size.max:
        raise UsageError(
            f"{protocol.name} is for {group_size(size.min, size.max)}; --members {count} asked"
        )
    members = demo_members(count)
    app = ConsoleApp(
        settings,
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
    app = ConsoleApp(
        settings,
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

    run(settings, http=args.http, host=args.host, port=args.port)
    return 0


def _run_discord(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.discord.run import run  # discord.py loads only when Discord is asked for

    run(settings)
    return 0


def _db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    url = settings.effective_database_url
    upgrade(url)
    print("database is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
