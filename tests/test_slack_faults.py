"""Slack failing as it does in life, on the way out: a connection dropped after Slack stored a
post, and a 500 while asking about it. The outbox alone sends again, after asking Slack, so
nothing is posted twice, and a failed question is retried like a failed post."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from tests.slack_harness import SlackWorld, metadata_ids, slack_world

GENERAL = "CGENERAL"


async def _circle_and_start(world: SlackWorld) -> str:
    """The set 'circle' of U1, U2 and U3 and a session in its channel; the channel's id."""
    await world.command("U1", "set create circle <@U2> <@U3>", GENERAL)
    channel = str(world.api.calls_to("conversations.invite")[0].args["channel"])
    await world.command("U1", "start", channel)
    await world.settle()
    return channel


def _everything_posted(world: SlackWorld, channel: str) -> list[str]:
    """The effect ids of every message in the channel, its threads' replies included."""
    return metadata_ids(world.api.messages(channel))


def test_posts_whose_connection_dropped_after_slack_stored_them_appear_once(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with slack_world(tmp_path, delivery_backoff_seconds=0.05) as world:
            # The thread's opening post, and the two after it, each lose their answer.
            world.api.drop_after_store("chat.postMessage", times=3)
            # And asking Slack whether the first one arrived fails once, with a 500.
            world.api.fail_next("conversations.history", status=500)
            channel = await _circle_and_start(world)
            await world.settle()
            assert world.api.dropped == ["chat.postMessage"] * 3
            posted = _everything_posted(world, channel)
            assert len(posted) >= 3
            doubled = [effect for effect, n in Counter(posted).items() if n > 1]
            assert doubled == []
            # Each dropped post was asked about, then taken as delivered.
            assert len(world.api.calls_to("conversations.history")) == 2
            assert world.api.calls_to("conversations.replies")
            assert not await asyncio.to_thread(world.running.runtime.dispatcher.pending)

    asyncio.run(asyncio.wait_for(scenario(), 60))
