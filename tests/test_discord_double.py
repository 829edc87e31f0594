"""A real discord.py client logs in, connects and works against the Discord API double."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
from discord import app_commands

from tests.discord_double import DiscordApiDouble

TOKEN = "test-bot-token"
TIMEOUT = 10.0


def _intents() -> discord.Intents:
    return discord.Intents(guilds=True, members=True, messages=True, message_content=True)


def _client(**kwargs: Any) -> discord.Client:
    # A short guild_ready_timeout: on_ready fires that long after the last GUILD_CREATE.
    return discord.Client(intents=_intents(), guild_ready_timeout=0.2, **kwargs)


@contextlib.asynccontextmanager
async def _running(client: discord.Client) -> AsyncIterator[discord.Client]:
    """Log in, connect, wait (bounded) for on_ready; always close the client."""
    task: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(client.login(TOKEN), TIMEOUT)
        task = asyncio.create_task(client.connect(reconnect=False))
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {task, ready}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # raises why the connection ended
            raise AssertionError("client did not become ready")
        yield client
    finally:
        await asyncio.wait_for(client.close(), TIMEOUT)
        if task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, TIMEOUT)


def _run(coro: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(coro(), 3 * TIMEOUT))


@pytest.fixture
def discord_api() -> Iterator[DiscordApiDouble]:
    with DiscordApiDouble() as double, double.patched():
        yield double
        assert double.internal_errors == []


def test_addresses_and_patching_restore_discord_py() -> None:
    base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    with DiscordApiDouble() as double:
        assert double.rest_base == f"http://127.0.0.1:{double.port}/api/v10"
        assert double.gateway_url == f"ws://127.0.0.1:{double.port}/gateway"
        with double.patched():
            assert double.rest_base == discord.http.Route.BASE
            assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == double.gateway_url
            assert discord.http.Route("GET", "/users/@me").url == double.rest_base + "/users/@me"
    assert base == discord.http.Route.BASE
    assert gateway == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def test_answers_bare_json_and_unknown_routes_with_404(discord_api: DiscordApiDouble) -> None:
    async def scenario() -> None:
        headers = {"Authorization": f"Bot {TOKEN}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(discord_api.rest_base + "/users/@me", headers=headers) as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"] == "application/json"
                assert (await resp.json())["id"] == "1000"
            async with http.get(discord_api.rest_base + "/nothing/here", headers=headers) as resp:
                assert resp.status == 404
                assert await resp.json() == {"message": "404: Not Found", "code": 0}
            async with http.get(discord_api.rest_base + "/users/@me") as resp:
                assert resp.status == 401

    _run(scenario)
    assert [c.path for c in discord_api.calls_to("GET", "/nothing/{x}")] == ["/nothing/here"]


def test_client_connects_and_caches_the_guild(discord_api: DiscordApiDouble) -> None:
    ready_fired: list[bool] = []

    async def scenario() -> None:
        client = _client()

        @client.event
        async def on_ready() -> None:
            ready_fired.append(True)

        async with _running(client):
            await discord_api.wait_for_async(lambda: ready_fired)
            assert client.user is not None and client.user.id == 1000
            assert client.application_id == 1000
            guild = client.get_guild(2000)
            assert guild is not None
            channel = guild.get_channel(3000)
            assert isinstance(channel, discord.TextChannel)
            assert channel.name == "peer-circle"
            assert sorted(m.name for m in guild.members) == ["Peerset", "ana", "ben", "cleo", "dev"]
            assert guild.chunked
            assert guild.me.guild_permissions.create_private_threads
            assert channel.permissions_for(guild.me).send_messages

    _run(scenario)
    assert discord_api.identified_intents == _intents().value
    assert discord_api.identifies[0]["token"] == TOKEN
    query = discord_api.gateway_connections[0]
    assert query["v"] == "10" and query["encoding"] == "json" and "compress" in query
    me = discord_api.calls_to("GET", "/users/@me")
    assert me and me[0].headers["Authorization"] == f"Bot {TOKEN}"
    assert discord_api.calls_to("GET", "/oauth2/applications/@me")


def test_injected_message_reaches_on_message(discord_api: DiscordApiDouble) -> None:
    async def scenario() -> None:
        client = _client()
        received: list[discord.Message] = []

        @client.event
        async def on_message(message: discord.Message) -> None:
            received.append(message)

        async with _running(client):
            sent = discord_api.send_dispatch(
                "MESSAGE_CREATE", discord_api.message_create("1002", "3000", "hello <@1000>")
            )
            await discord_api.wait_for_async(lambda: received)
            message = received[0]
            assert message.content == "hello <@1000>"
            assert message.id == int(sent["id"])
            assert isinstance(message.author, discord.Member) and message.author.name == "ben"
            assert client.user in message.mentions
            assert message.channel.id == 3000

    _run(scenario)
    assert discord_api.messages("3000")[0]["content"] == "hello <@1000>"


def test_private_thread_and_message(discord_api: DiscordApiDouble) -> None:
    async def scenario() -> None:
        client = _client()
        async with _running(client):
            channel = client.get_channel(3000)
            assert isinstance(channel, discord.TextChannel)
            thread = await channel.create_thread(
                name="Session 1", type=discord.ChannelType.private_thread, invitable=False
            )
            assert isinstance(thread, discord.Thread)
            assert thread.type is discord.ChannelType.private_thread
            assert thread.parent_id == 3000 and thread.owner_id == 1000
            # THREAD_CREATE follows, so discord.py's cache knows the thread.
            await discord_api.wait_for_async(lambda: channel.guild.get_thread(thread.id))

            await thread.add_user(discord.Object(1001))
            message = await thread.send("hi", nonce="peerset-1")
            assert message.content == "hi" and message.id
            again = await thread.send("hi", nonce="peerset-1")
            assert again.id == message.id  # enforce_nonce: Discord returns the same message

            calls = discord_api.calls_to("POST", "/channels/3000/threads")
            assert calls[0].json["type"] == 12 and calls[0].json["name"] == "Session 1"
            posts = discord_api.calls_to("POST", f"/channels/{thread.id}/messages")
            assert posts[0].json["content"] == "hi"
            assert posts[0].json["nonce"] == "peerset-1" and posts[0].json["enforce_nonce"]
            assert discord_api.calls_to("PUT", f"/channels/{thread.id}/thread-members/1001")
            assert discord_api.thread_members(str(thread.id)) == ["1000", "1001"]
            assert [m["content"] for m in discord_api.messages(str(thread.id))] == ["hi"]

            archived = await thread.edit(archived=True, locked=True)
            assert archived.archived and archived.locked

    _run(scenario)


def test_private_threads_can_be_forbidden() -> None:
    async def scenario(double: DiscordApiDouble) -> None:
        client = _client()
        async with _running(client):
            channel = client.get_channel(3000)
            assert isinstance(channel, discord.TextChannel)
            assert not channel.permissions_for(channel.guild.me).create_private_threads
            with pytest.raises(discord.Forbidden) as raised:
                await channel.create_thread(name="x", type=discord.ChannelType.private_thread)
            assert raised.value.code == 50013
            public = await channel.create_thread(name="y", type=discord.ChannelType.public_thread)
            assert public.type is discord.ChannelType.public_thread

    with DiscordApiDouble(allow_private_threads=False) as double, double.patched():
        asyncio.run(asyncio.wait_for(scenario(double), 3 * TIMEOUT))


def test_slash_subcommand_answers_ephemerally(discord_api: DiscordApiDouble) -> None:
    invoked: list[discord.Interaction] = []

    async def scenario() -> None:
        client = _client()
        tree = app_commands.CommandTree(client)
        peer = app_commands.Group(name="peer", description="Peer sessions")

        @peer.command(name="status", description="Show the session")
        async def status(interaction: discord.Interaction) -> None:
            invoked.append(interaction)
            await interaction.response.send_message("ok", ephemeral=True)

        tree.add_command(peer)
        async with _running(client):
            synced = await tree.sync()
            assert [c.name for c in synced] == ["peer"]
            payload = discord_api.interaction_command(
                "1001", "3000", "peer", options=[{"type": 1, "name": "status", "options": []}]
            )
            assert payload["data"]["id"] == str(synced[0].id)
            discord_api.send_dispatch("INTERACTION_CREATE", payload)
            path = f"/interactions/{payload['id']}/{payload['token']}/callback"
            calls = await discord_api.wait_for_async(lambda: discord_api.calls_to("POST", path))
            assert calls[0].json["type"] == 4
            assert calls[0].json["data"]["content"] == "ok"
            assert calls[0].json["data"]["flags"] == 64
            await discord_api.wait_for_async(lambda: invoked and invoked[0].response.is_done())
            assert invoked[0].user.id == 1001
            state = discord_api.interaction(payload["id"])
            assert state["acknowledged"] and state["original"]["content"] == "ok"
            assert discord_api.messages("3000") == []  # ephemeral: not in the channel

    _run(scenario)
    registered = discord_api.calls_to("PUT", "/applications/1000/commands")[0].json
    assert registered[0]["name"] == "peer" and registered[0]["options"][0]["name"] == "status"


def test_button_interaction_updates_the_message(discord_api: DiscordApiDouble) -> None:
    async def scenario() -> None:
        client = _client()
        clicked: list[int] = []

        class Buttons(discord.ui.View):
            @discord.ui.button(label="Next", custom_id="peerset:next")
            async def next_step(
                self, interaction: discord.Interaction, button: discord.ui.Button[Any]
            ) -> None:
                clicked.append(interaction.user.id)
                await interaction.response.edit_message(content="step 2", view=None)

        async with _running(client):
            channel = client.get_channel(3000)
            assert isinstance(channel, discord.TextChannel)
            message = await channel.send("step 1", view=Buttons(timeout=None))
            stored = discord_api.messages("3000")[0]
            assert stored["components"][0]["components"][0]["custom_id"] == "peerset:next"
            discord_api.send_dispatch(
                "INTERACTION_CREATE",
                discord_api.interaction_button("1003", "3000", str(message.id), "peerset:next"),
            )
            await discord_api.wait_for_async(lambda: clicked)
            await discord_api.wait_for_async(
                lambda: discord_api.messages("3000")[0]["content"] == "step 2"
            )
            assert clicked == [1003]
            assert discord_api.messages("3000")[0]["components"] == []

    _run(scenario)


def test_rate_limited_message_is_retried_once(discord_api: DiscordApiDouble) -> None:
    async def scenario() -> None:
        client = _client()
        async with _running(client):
            channel = client.get_channel(3000)
            assert isinstance(channel, discord.TextChannel)
            discord_api.rate_limit_next("POST", "/channels/{id}/messages", retry_after=0.05)
            message = await channel.send("once")
            assert message.content == "once"
            posts = discord_api.calls_to("POST", "/channels/3000/messages")
            assert len(posts) == 2
            assert posts[0].json["nonce"] == posts[1].json["nonce"]
            assert [m["content"] for m in discord_api.messages("3000")] == ["once"]

            discord_api.error_next(
                "POST", "/channels/{id}/messages", 400, {"message": "no", "code": 1}
            )
            with pytest.raises(discord.HTTPException) as raised:
                await channel.send("fails")
            assert raised.value.status == 400 and raised.value.code == 1

    _run(scenario)


def test_direct_messages_and_closed_dms(discord_api: DiscordApiDouble) -> None:
    async def scenario() -> None:
        client = _client()
        async with _running(client):
            member = client.get_guild(2000).get_member(1002)  # type: ignore[union-attr]
            assert member is not None
            message = await member.send("private note")
            assert isinstance(message.channel, discord.DMChannel)
            opened = discord_api.calls_to("POST", "/users/@me/channels")
            assert opened[0].json == {"recipient_id": 1002}
            dm = discord_api.channel(str(message.channel.id))
            assert dm is not None and dm["type"] == 1

            discord_api.set_dms_closed("1003")
            closed = client.get_guild(2000).get_member(1003)  # type: ignore[union-attr]
            assert closed is not None
            with pytest.raises(discord.Forbidden) as raised:
                await closed.send("hello")
            assert raised.value.code == 50007

    _run(scenario)


def test_reconnect_resumes_the_session(discord_api: DiscordApiDouble) -> None:
    async def scenario() -> None:
        client = _client()
        resumed = asyncio.Event()

        @client.event
        async def on_resumed() -> None:
            resumed.set()

        async with _running(client):
            discord_api.request_reconnect()
            await asyncio.wait_for(resumed.wait(), TIMEOUT)
            assert discord_api.resumes[0]["session_id"] == client.ws.session_id
            received: list[str] = []
            client.event(_collector(received))
            discord_api.send_dispatch(
                "MESSAGE_CREATE", discord_api.message_create("1004", "3000", "still here")
            )
            await discord_api.wait_for_async(lambda: received)
            assert received == ["still here"]

    _run(scenario)
    assert len(discord_api.identifies) == 1


def _collector(into: list[str]) -> Callable[[discord.Message], Coroutine[Any, Any, None]]:
    async def on_message(message: discord.Message) -> None:
        into.append(message.content)

    return on_message


def test_deferred_answer_follow_up_and_edit(discord_api: DiscordApiDouble) -> None:
    async def scenario() -> None:
        client = _client()
        tree = app_commands.CommandTree(client)
        done: list[str] = []

        @tree.command(name="peer", description="Peer sessions")
        async def peer(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.followup.send("more", ephemeral=True)
            await interaction.edit_original_response(content="ready")
            done.append((await interaction.original_response()).content)

        async with _running(client):
            payload = discord_api.interaction_command("1002", "3000", "peer")
            discord_api.send_dispatch("INTERACTION_CREATE", payload)
            await discord_api.wait_for_async(lambda: done)
            assert done == ["ready"]
            state = discord_api.interaction(payload["id"])
            assert [c["type"] for c in state["callbacks"]] == [5]
            assert state["original"]["content"] == "ready"
            assert [f["content"] for f in state["followups"]] == ["more"]
            assert [m["content"] for m in discord_api.messages("3000")] == ["ready"]
            token = payload["token"]
            assert discord_api.calls_to("POST", f"/webhooks/1000/{token}")
            assert discord_api.calls_to("PATCH", f"/webhooks/1000/{token}/messages/@original")

    _run(scenario)


def test_dispatches_honour_the_identified_intents(discord_api: DiscordApiDouble) -> None:
    async def scenario() -> None:
        client = discord.Client(
            intents=discord.Intents(guilds=True, messages=True), guild_ready_timeout=0.2
        )
        received: list[str] = []
        client.event(_collector(received))
        async with _running(client):
            for content in ("private words", "hey <@1000>"):
                message = discord_api.message_create("1001", "3000", content)
                discord_api.send_dispatch("MESSAGE_CREATE", message)
            await discord_api.wait_for_async(lambda: len(received) == 2)
            # Without MESSAGE_CONTENT only mentions of the bot keep their content, and without
            # GUILD_MEMBERS GUILD_CREATE carries the bot's own member only.
            assert received == ["", "hey <@1000>"]
            guild = client.get_guild(2000)
            assert guild is not None and [m.id for m in guild.members] == [1000]

    _run(scenario)


def _command(*options: dict[str, Any], description: str = "Peer sessions") -> dict[str, Any]:
    return {"name": "peer", "type": 1, "description": description, "options": list(options)}


def _sub(name: str, *options: dict[str, Any], kind: int = 1) -> dict[str, Any]:
    return {"name": name, "type": kind, "description": "Does it", "options": list(options)}


def _text(name: str, *, required: bool = True, **more: Any) -> dict[str, Any]:
    return {"name": name, "type": 3, "description": "A word", "required": required, **more}


def test_commands_over_discords_limits_are_refused_where_they_are(
    discord_api: DiscordApiDouble,
) -> None:
    many = [{"name": f"choice {n}", "value": str(n)} for n in range(26)]
    refused = (
        (_command(description="x" * 101), "0.description"),
        (_command(_sub("Skip_Next")), "0.options.0.name"),
        (_command(_sub("add", _text("how", choices=many))), "0.options.0.options.0.choices"),
        (_command(_sub("add", _text("a", required=False), _text("b"))), "0.options.0.options"),
        (_command(_sub("add", _sub("inner"))), "0.options.0.options"),
        (_command(_sub("schedule", _text("a"), kind=2)), "0.options.0.options"),
    )

    async def scenario() -> None:
        client = _client()
        async with _running(client):
            app = client.application_id
            assert app is not None
            for command, where in refused:
                with pytest.raises(discord.HTTPException) as raised:
                    await client.http.bulk_upsert_global_commands(app, [command])
                assert (raised.value.status, raised.value.code) == (400, 50035)
                assert f"In {where}: " in raised.value.text, raised.value.text
            # Sub-commands beside groups of sub-commands, with typed options, are accepted.
            tree = _command(
                _sub("help"),
                _sub("schedule", _sub("add", _text("zone", autocomplete=True)), kind=2),
                _sub("checkin", _text("status", choices=many[:3]), _text("note", required=False)),
            )
            [stored] = await client.http.bulk_upsert_global_commands(app, [tree])
            assert stored["name"] == "peer" and discord_api.commands() == [stored]

    _run(scenario)
