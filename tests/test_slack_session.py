"""A whole session on Slack, from `/peer set create` and `/peer start` to the end, through
signed HTTP requests into the real Bolt app, asserting on what Slack's API double recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.slack_harness import SlackWorld, metadata_ids, slack_world


def test_a_whole_session_on_slack(tmp_path: Path) -> None:
    asyncio.run(_whole_session(tmp_path))


async def _whole_session(tmp_path: Path) -> None:
    async with slack_world(tmp_path) as world:
        status, _ = await world.command("U1", "set create circle <@U2|bea> <@U3>", "CGENERAL")
        assert status == 200
        channel = world.api.channel_id("peer-circle")
        assert channel is not None
        assert world.api.channel_info(channel)["is_private"] is True  # type: ignore[index]
        invite = world.api.calls_to("conversations.invite")[0]
        assert invite.args["channel"] == channel and invite.args["users"] == "U1,U2,U3"
        assert "Set 'circle' is ready" in world.replies_to("U1")[-1]

        status, _ = await world.command("U1", "start", channel)
        assert status == 200
        assert world.replies_to("U1")[-1] == "Peer mentoring round is starting in a new thread."
        roots = [m for m in world.api.messages(channel) if m.get("thread_ts") in (None, m["ts"])]
        assert len(roots) == 1 and "Peer mentoring round" in roots[0]["text"]
        thread = roots[0]["ts"]
        session_id = int(metadata_ids(roots)[0].split(".")[0])

        posts = world.thread(channel, thread)
        assert any("Ground rules" in m["text"] for m in posts)
        for user in ("U1", "U2", "U3"):
            await world.press(user, "agree", session_id, channel, thread)
        assert "<@U3> agrees to the ground rules (3 of 3)." in _texts(world, channel, thread)
        assert "Now <@U1> presents." in _texts(world, channel, thread)

        await world.say("U1", "Here is what happened with my team.", channel, thread)
        await world.say("U2", "Can I ask already?", channel, thread)
        assert any("<@U1>'s time to speak uninterrupted" in t for t in world.ephemerals("U2"))
        await world.press("U1", "done", session_id, channel, thread)
        assert "<@U2>, your turn to ask <@U1> one question." in _texts(world, channel, thread)
        await world.say("U2", "Who was in the room?", channel, thread)
        await world.say("U1", "Two of my leads.", channel, thread)
        await world.press("U2", "done", session_id, channel, thread)
        await world.press("U3", "pass", session_id, channel, thread)
        assert "<@U3> passes." in _texts(world, channel, thread)

        # Peer feedback: turns with stems; the presenter listens in silence.
        assert any('"That reminds me of when I..."' in t for t in world.ephemerals("U2"))
        await world.say("U2", "You should just tell them.", channel, thread)
        assert any('"you should" sounds like advice' in t for t in world.ephemerals("U2"))
        await world.say("U1", "I feel defensive hearing that.", channel, thread)
        assert any("listening in silence" in t for t in world.ephemerals("U1"))
        await world.press("U2", "done", session_id, channel, thread)
        await world.press("U3", "control_skip", session_id, channel, thread)
        assert "<@U3>'s turn is skipped." in _texts(world, channel, thread)
        # Positive feedback, then the response.
        await world.press("U2", "done", session_id, channel, thread)
        await world.press("U3", "done", session_id, channel, thread)
        direct = world.api.calls_to("conversations.open")[-1]
        assert direct.args["users"] == "U1"
        dms = [
            c for c in world.api.calls_to("chat.postMessage") if c.args["channel"].startswith("D")
        ]
        assert len(dms) == 1 and "I feel defensive hearing that." in dms[0].args["text"]

        await world.press("U1", "action", session_id, channel, thread)
        modal = world.api.calls_to("views.open")[-1].args["view"]
        assert modal["callback_id"] == "peerset_record_action"
        await world.submit_action("U1", session_id, "Talk to my leads on Monday")
        await world.press("U1", "done", session_id, channel, thread)

        texts = _texts(world, channel, thread)
        assert "Speaking balance" in texts and "- <@U1>: Talk to my leads on Monday" in texts
        assert world.api.calls_to("chat.update")[-1].args["ts"] == thread
        # Every post went to the session's thread, once.
        ids = metadata_ids(world.thread(channel, thread))
        assert len(ids) == len(set(ids))
        posted = [c for c in world.api.calls_to("chat.postMessage") if c.args["channel"] == channel]
        assert all(c.args.get("thread_ts") == thread for c in posted[1:])
        assert all(c.token == "xoxb-test-token" for c in posted)


def _texts(world: SlackWorld, channel: str, thread: str) -> str:
    return "\n".join(str(m.get("text")) for m in world.thread(channel, thread))
