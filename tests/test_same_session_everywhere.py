"""The same session, the same everywhere: one scripted peer-mentoring round (alice presenting,
bob and carol her peers) played on Slack, on Discord and on the console gives the same sequence
of phases, turns, private words and summary.

What is compared is what each platform was asked to show, as recorded by the platform doubles
(and printed by the console), not the engine's effects: each post and each private word is
reduced to one comparable entry, with member ids mapped to names and mentions to bare names,
and what only one platform has (Slack's answers to commands, the console's timestamps, echoed
input and button hints) left out.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.discord_harness import CHANNEL as DISCORD_CHANNEL
from tests.discord_harness import TIMEOUT, DiscordWorld, discord_world, option, user
from tests.slack_harness import SlackWorld, metadata_ids, slack_world
from tests.test_console import _console
from tests.test_discord_commands import _command, _handled, _press, _say

# (member, what they do, what they write): typed messages, buttons and one facilitator's skip;
# no waiting, so no part ends by its clock and nothing depends on how time passes.
STEPS: list[tuple[str, str, str]] = [
    ("alice", "agree", ""),
    ("bob", "agree", ""),
    ("carol", "agree", ""),
    ("alice", "say", "Here is my dilemma about the team meeting last week."),
    ("bob", "say", "Can I ask something already?"),
    ("alice", "done", ""),
    ("bob", "say", "Who was there?"),
    ("alice", "say", "Two of my leads."),
    ("bob", "done", ""),
    ("carol", "pass", ""),
    ("bob", "say", "That reminds me of when I froze in a meeting."),
    ("alice", "say", "I feel defensive hearing this."),
    ("bob", "done", ""),
    ("carol", "say", "You should talk to them."),
    ("carol", "done", ""),
    ("bob", "say", "I admired how honest you were."),
    ("bob", "done", ""),
    ("alice", "skip", ""),
    ("alice", "say", "I will talk to my leads."),
    ("alice", "action", "Talk to my leads on Monday"),
    ("alice", "done", ""),
]

SLACK_IDS = {"U1": "alice", "U2": "bob", "U3": "carol"}
DISCORD_IDS = {"1001": "alice", "1002": "bob", "1003": "carol"}
SLACK_GENERAL = "CGENERAL"

_MENTION = re.compile(r"<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>")
_STAMP = re.compile(r"^\[\+\d+:\d{2}\] ")
_BUTTON_HINTS = re.compile(
    r"(?:\s+\[(?:Done|Pass|Agree|Record an action item): /\w+(?: TEXT)?\])+$"
)
_AIRTIME = re.compile(r"(\d+ words?), \d+:\d{2}")


def _plain(text: str, ids: Mapping[str, str]) -> str:
    """Mentions as bare names; airtime (real seconds on a chat platform, virtual on the
    console) as a placeholder."""
    named = _MENTION.sub(lambda m: ids.get(m.group(1), m.group(1)), text)
    return _AIRTIME.sub(r"\1, m:ss", named)


# --- the console ---------------------------------------------------------------------------


def _console_lines(step: tuple[str, str, str]) -> str:
    member, kind, text = step
    if kind == "say":
        return f"{member}: {text}"
    if kind == "action":
        return f"{member}: /action {text}"
    return f"{member}: /{kind}"


def _on_console(tmp_path: Path) -> list[str]:
    result = _console(tmp_path / "console", [_console_lines(s) for s in STEPS])
    assert result.returncode == 0, result.stderr
    assert "error:" not in result.stderr, result.stderr
    records: list[str] = []
    for line in result.stdout.splitlines():
        stamp = _STAMP.match(line)
        if stamp:
            records.append(line[stamp.end() :])
        elif records:
            records[-1] += "\n" + line  # a post of several lines
    seen: list[str] = []
    for record in records:
        if record.startswith("peerset: "):
            text = record.removeprefix("peerset: ")
            opened = re.match(r'opened a private space "([^"]+)"', text)
            if opened:
                seen.append(f"open: {opened.group(1)}")
            elif text == "this session's space is now closed.":
                seen.append("close")
            else:
                seen.append("post: " + _plain(_BUTTON_HINTS.sub("", text), {}))
            continue
        nudge = re.match(r"\(to (\w+)\) ", record)
        if nudge:
            seen.append(f"nudge {nudge.group(1)}: " + _plain(record[nudge.end() :], {}))
        # Anything else is the member's own input, echoed.
    return seen


# --- Slack ---------------------------------------------------------------------------------


def _on_slack(tmp_path: Path) -> list[str]:
    ids = {name: uid for uid, name in SLACK_IDS.items()}

    async def play() -> list[str]:
        async with slack_world(tmp_path / "slack") as world:
            await world.command("U1", "set create circle <@U2> <@U3>", SLACK_GENERAL)
            channel = world.api.channel_id("peer-circle")
            assert channel is not None
            await world.command("U1", "start", channel)
            [root] = [
                m for m in world.api.messages(channel) if m.get("thread_ts") in (None, m["ts"])
            ]
            thread = str(root["ts"])
            session_id = int(metadata_ids([root])[0].split(".")[0])
            for member, kind, text in STEPS:
                who = ids[member]
                if kind == "say":
                    await world.say(who, text, channel, thread)
                elif kind == "skip":
                    await world.command(who, kind, channel)
                elif kind == "action":
                    await world.press(who, "action", session_id, channel, thread)
                    await world.submit_action(who, session_id, text)
                else:
                    await world.press(who, kind, session_id, channel, thread)
            await world.settle()
            return _slack_seen(world, channel, thread)

    return asyncio.run(asyncio.wait_for(play(), 120))


def _slack_seen(world: SlackWorld, channel: str, thread: str) -> list[str]:
    seen: list[str] = []
    opened_for: str | None = None
    for call in world.api.calls:
        args: dict[str, Any] = call.args
        if call.method == "conversations.open":
            opened_for = str(args["users"])
        elif call.method == "chat.postMessage":
            text = str(args["text"])
            if args["channel"] == channel and args.get("thread_ts") == thread:
                seen.append("post: " + _plain(text, SLACK_IDS))
            elif args["channel"] == channel:  # the thread's root: the session's space
                title = re.match(r"\*([^*]+)\*", text)
                assert title is not None, text
                seen.append(f"open: {title.group(1)}")
            else:  # a direct message
                assert opened_for is not None
                seen.append(f"nudge {SLACK_IDS[opened_for]}: " + _plain(text, SLACK_IDS))
        elif call.method == "chat.postEphemeral":
            member = SLACK_IDS[str(args["user"])]
            seen.append(f"nudge {member}: " + _plain(str(args["text"]), SLACK_IDS))
        elif call.method == "chat.update" and args.get("ts") == thread:
            seen.append("close")
    return seen


# --- Discord -------------------------------------------------------------------------------


def _on_discord(tmp_path: Path) -> list[str]:
    ids = {name: uid for uid, name in DISCORD_IDS.items()}

    async def play() -> list[str]:
        async with discord_world(tmp_path / "discord") as world:
            await _command(
                world,
                ids["alice"],
                "set",
                "create",
                options=[
                    option("name", "circle"),
                    user("member1", ids["bob"]),
                    user("member2", ids["carol"]),
                ],
            )
            await _command(world, ids["alice"], "start")
            [thread] = world.api.threads(DISCORD_CHANNEL)
            thread_id = str(thread["id"])
            session_id = int(str(thread["name"]).rsplit(" ", 1)[1])
            for member, kind, text in STEPS:
                who = ids[member]
                if kind == "say":
                    await _say(world, who, thread_id, text)
                elif kind == "skip":
                    await _command(world, who, kind)
                elif kind == "action":
                    await _record_action(world, who, thread_id, session_id, text)
                else:
                    await _press(world, who, thread_id, kind, session_id)
            await world.settle()
            return _discord_seen(world, thread_id)

    return asyncio.run(asyncio.wait_for(play(), 120))


async def _record_action(
    world: DiscordWorld, member: str, thread_id: str, session_id: int, text: str
) -> None:
    """Press Record an action item, and fill in the form it opens."""
    message_id = world.messages(thread_id)[-1]["id"]
    press = world.api.interaction_button(
        member, thread_id, message_id, f"peerset:action:{session_id}"
    )
    world.api.send_dispatch("INTERACTION_CREATE", press)
    callbacks = await world.api.wait_for_async(
        lambda: world.api.interaction(str(press["id"]))["callbacks"], TIMEOUT
    )
    form = callbacks[0]["data"]
    field = form["components"][0]["components"][0]["custom_id"]
    submit = world.api.interaction_modal_submit(member, thread_id, form["custom_id"], {field: text})
    world.api.send_dispatch("INTERACTION_CREATE", submit)
    await _handled(world, submit)


def _discord_seen(world: DiscordWorld, thread_id: str) -> list[str]:
    seen: list[str] = []
    for call in world.api.calls:
        parts = call.path.split("/")
        body: dict[str, Any] = call.json if isinstance(call.json, dict) else {}
        if call.method == "POST" and call.path == f"/channels/{DISCORD_CHANNEL}/threads":
            seen.append("open: " + str(body["name"]).rsplit(" · session ", 1)[0])
        elif call.method == "POST" and len(parts) == 4 and parts[3] == "messages":
            text = _plain(str(body.get("content")), DISCORD_IDS)
            if parts[2] == thread_id:
                seen.append("post: " + text)
                continue
            channel = world.api.channel(parts[2]) or {}
            assert channel.get("type") == 1, call.path  # a direct message
            [recipient] = [r["id"] for r in channel["recipients"]]
            seen.append(f"nudge {DISCORD_IDS[recipient]}: " + text)
        elif (
            call.method == "PATCH"
            and call.path == f"/channels/{thread_id}"
            and body.get("archived")
        ):
            seen.append("close")
    return seen


# --- the same everywhere -------------------------------------------------------------------


def test_the_same_session_reads_the_same_on_slack_discord_and_the_console(
    tmp_path: Path,
) -> None:
    console = _on_console(tmp_path)
    slack = _on_slack(tmp_path)
    discord = _on_discord(tmp_path)

    assert slack == console
    assert discord == console

    # What the sequence has to show: the space, phases, turns, private words, the summary.
    assert console[0] == "open: Peer mentoring round" and console[-1] == "close"
    assert any(e.startswith("post: Clarifying questions (4 minutes): ") for e in console)
    assert "post: bob, your turn to ask alice one question. You have 1.5 minutes." in console
    assert (
        "nudge bob: Right now it is alice's time to speak uninterrupted. Hold on to your "
        "thought: your turn comes later."
    ) in console
    assert any(e.startswith('nudge carol: "you should" sounds like advice') for e in console)
    assert any(e.startswith("nudge alice: What you wrote while listening") for e in console)
    assert "post: carol's turn is skipped." in console
    summary = console[-2]
    assert summary.startswith("post: Speaking balance (turns, words, airtime):")
    assert "- alice: Talk to my leads on Monday" in summary
    # In order: the phases as the protocol has them.
    phases = [
        e.split(" (", 1)[0].removeprefix("post: ")
        for e in console
        if re.match(r"post: [A-Z][a-z ]+ \(\d+ minutes\): ", e)
    ]
    assert phases == [
        "Ground rules",
        "Presentation",
        "Clarifying questions",
        "Peer feedback",
        "Positive feedback",
        "Response",
    ]
