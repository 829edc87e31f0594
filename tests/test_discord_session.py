"""A whole session on Discord, from `/peer set create` and `/peer start` to the end, through the
real discord.py client connected to Discord's API double, asserting on what the double recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.discord_harness import CHANNEL, DiscordWorld, discord_world, option, user

ANA, BEN, CLEO = "1001", "1002", "1003"


def _followups(record: dict[str, Any]) -> list[str]:
    return [str(m["content"]) for m in record["followups"]]


def test_a_whole_session_on_discord(tmp_path: Path) -> None:
    asyncio.run(asyncio.wait_for(_whole_session(tmp_path), 120))


async def _whole_session(tmp_path: Path) -> None:
    async with discord_world(tmp_path) as world:
        made = await world.command(
            ANA,
            "set",
            "create",
            options=[option("name", "circle"), user("member1", BEN), user("member2", CLEO)],
        )
        assert made["callbacks"][0]["type"] == 5  # deferred within Discord's 3 seconds
        assert made["callbacks"][0]["data"]["flags"] == 64  # only for the one who asked
        assert _followups(made) == [
            f"Set 'circle' is ready with <@{ANA}>, <@{BEN}> and <@{CLEO}>; it meets in "
            f"<#{CHANNEL}>. Start a session there with /peer start."
        ]

        started = await world.command(ANA, "start")
        assert _followups(started) == ["Peer mentoring round is starting in a new thread."]
        [thread] = world.api.threads(CHANNEL)
        assert thread["type"] == 12  # private, never public
        thread_id = str(thread["id"])
        assert {ANA, BEN, CLEO} <= set(world.api.thread_members(thread_id))
        session_id = int(thread["name"].rsplit(" ", 1)[1])

        for member in (ANA, BEN, CLEO):
            await world.press(member, thread_id, "agree", session_id)
        assert f"<@{CLEO}> agrees to the ground rules (3 of 3)." in _texts(world, thread_id)

        await world.say(ANA, thread_id, "Here is what happened with my team.")
        await world.say(BEN, thread_id, "Can I ask already?")
        assert any(f"<@{ANA}>'s time to speak uninterrupted" in t for t in world.dms(BEN))
        await world.press(ANA, thread_id, "done", session_id)
        assert f"<@{BEN}>, your turn to ask <@{ANA}> one question." in _texts(world, thread_id)
        await world.say(BEN, thread_id, "Who was in the room?")
        await world.say(ANA, thread_id, "Two of my leads.")
        await world.press(BEN, thread_id, "done", session_id)
        await world.press(CLEO, thread_id, "pass", session_id)
        assert f"<@{CLEO}> passes." in _texts(world, thread_id)

        await world.say(BEN, thread_id, "You should just tell them.")
        assert any('"you should" sounds like advice' in t for t in world.dms(BEN))
        await world.say(ANA, thread_id, "I feel defensive hearing that.")
        assert any("listening in silence" in t for t in world.dms(ANA))
        await world.press(BEN, thread_id, "done", session_id)
        await world.press(CLEO, thread_id, "control_skip", session_id)
        assert f"<@{CLEO}>'s turn is skipped." in _texts(world, thread_id)
        await world.press(BEN, thread_id, "done", session_id)
        await world.press(CLEO, thread_id, "done", session_id)
        assert any("I feel defensive hearing that." in t for t in world.dms(ANA))

        await world.press(ANA, thread_id, "done", session_id)
        texts = _texts(world, thread_id)
        assert "Speaking balance" in texts
        closing = world.api.calls_to("PATCH", "/channels/{x}")
        assert closing and closing[-1].json == {"archived": True, "locked": True}
        nonces = [c.json.get("nonce") for c in world.api.calls_to("POST", "/channels/{x}/messages")]
        assert len(nonces) == len(set(nonces))


def _texts(world: DiscordWorld, channel: str) -> str:
    return "\n".join(str(m.get("content")) for m in world.messages(channel))
