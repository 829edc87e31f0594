"""The Discord bot on discord.py: the `/peer` application commands, buttons, the action-item form
and messages in sessions' private threads, each answered or deferred at once and handed on."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord.components import read_custom_id
from bot import commands
from bot.engine.events import MessagePosted, RecordAction
from bot.service.desk import Caller, SpaceError
from bot.service.runtime import ChatRuntime

log = logging.getLogger(__name__)

PLATFORM = "discord"
SORRY = "Something went wrong on Peerset's side; nothing you wrote is lost. Please try again."
NO_PRIVATE_THREADS = (
    "I can't open a private thread in this channel, and I never use a public one for a session. "
    "Give Peerset the **Create Private Threads** and **Send Messages in Threads** permissions "
    "here (Channel settings → Permissions), then try again."
)


def intents() -> discord.Intents:
    """Guilds and members to know who is who; message content to keep turns in threads."""
    return discord.Intents(
        guilds=True, members=True, guild_messages=True, dm_messages=True, message_content=True
    )


class DiscordSpaces:
    """On Discord a set meets in the channel where it was made; each session gets a private
    thread there, with the members added when it opens."""

    def __init__(self, channel_id: str) -> None:
        self.channel_id = channel_id

    def create(self, name: str, members: Any) -> str:
        return self.channel_id

    def invite(self, space_id: str, member: str) -> None:
        """Nothing to do now: members are added to each session's thread as it opens."""

    def remove(self, space_id: str, member: str) -> None:
        """Nothing to do now: the next session's thread is opened without them."""


class ActionForm(discord.ui.Modal, title="Record an action item"):
    action: discord.ui.TextInput[ActionForm] = discord.ui.TextInput(
        label="What will you do, and by when?",
        style=discord.TextStyle.long,
        max_length=500,
    )

    def __init__(self, runtime: ChatRuntime, session_id: int) -> None:
        super().__init__(custom_id=f"peerset:form:{session_id}")
        self.runtime = runtime
        self.session_id = session_id

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_message("Thank you: recording it.", ephemeral=True)
        event = RecordAction(str(interaction.user.id), str(self.action.value))
        self.runtime.spawn(
            self.runtime.step(
                str(interaction.guild_id), self.session_id, event, f"discord:{interaction.id}"
            )
        )


class PeersetClient(discord.Client):
    def __init__(self, **options: Any) -> None:
        super().__init__(intents=intents(), **options)
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(peer_group(self))
        self.tree.on_error = self._command_failed  # type: ignore[method-assign]
        self._runtime: ChatRuntime | None = None
        self._stop = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    @property
    def runtime(self) -> ChatRuntime:
        assert self._runtime is not None, "attach a runtime before connecting"
        return self._runtime

    def attach(self, runtime: ChatRuntime) -> None:
        self._runtime = runtime

    async def setup_hook(self) -> None:
        self._pump = self.loop.create_task(self.runtime.pump(self._stop))

    async def on_ready(self) -> None:
        for guild in self.guilds:
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        log.info("Peerset is ready on Discord in %s servers", len(self.guilds))

    async def close(self) -> None:
        self._stop.set()
        if self._pump is not None:
            await self._pump
        if self._runtime is not None:
            await self._runtime.settle()
        await super().close()

    async def on_message(self, message: discord.Message) -> None:
        channel = message.channel
        if message.author.bot or message.guild is None or not isinstance(channel, discord.Thread):
            return
        self.runtime.spawn(
            self.runtime.in_thread(
                str(message.guild.id),
                str(channel.parent_id),
                str(channel.id),
                MessagePosted(str(message.author.id), message.content),
                f"discord:{message.id}",
            )
        )

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.type is not discord.InteractionType.component or not interaction.data:
            return
        pressed = read_custom_id(str(interaction.data.get("custom_id", "")))
        if pressed is None:
            return
        if pressed.name == "action":
            await interaction.response.send_modal(ActionForm(self.runtime, pressed.session_id))
            return
        await interaction.response.defer()
        event = commands.pressed(pressed.name, str(interaction.user.id))
        if event is not None:
            self.runtime.spawn(
                self.runtime.step(
                    str(interaction.guild_id),
                    pressed.session_id,
                    event,
                    f"discord:{interaction.id}",
                )
            )

    async def _command_failed(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        log.error("/peer failed", exc_info=error)
        if interaction.response.is_done():
            await interaction.followup.send(SORRY, ephemeral=True)
        else:
            await interaction.response.send_message(SORRY, ephemeral=True)


async def answer(client: PeersetClient, interaction: discord.Interaction[Any], text: str) -> None:
    """Defer at once (Discord wants an answer within 3 seconds), then let the desk answer."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    space_id = _meeting_place(interaction)
    caller = Caller(
        platform=PLATFORM,
        tenant=str(interaction.guild_id),
        space_id=space_id,
        member=str(interaction.user.id),
        event_key=f"discord:{interaction.id}",
    )
    runtime = client.runtime
    try:
        reply = await asyncio.to_thread(runtime.desk.answer, text, caller, DiscordSpaces(space_id))
    except SpaceError as exc:
        await interaction.followup.send(str(exc), ephemeral=True)
        return
    runtime.wake()
    await interaction.followup.send(reply.text, ephemeral=True)


def _meeting_place(interaction: discord.Interaction[Any]) -> str:
    """The channel a command counts for: in a session's thread, the channel the set meets in."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return str(channel.parent_id)
    return str(interaction.channel_id)


def _mentions(*members: discord.abc.User | None) -> str:
    return "".join(f" <@{m.id}>" for m in members if m is not None)


def peer_group(client: PeersetClient) -> app_commands.Group:
    """`/peer` with the same subcommands as on Slack, as typed options."""
    peer = app_commands.Group(name="peer", description="Structured peer-mentoring sessions")
    sets = app_commands.Group(name="set", description="This channel's set", parent=peer)

    async def protocol_names(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        names = client.runtime.desk.protocol_names()
        return [app_commands.Choice(name=n, value=n) for n in names if current.lower() in n][:25]

    @peer.command(name="help", description="What /peer can do")
    async def help_(interaction: discord.Interaction[Any]) -> None:
        await answer(client, interaction, "help")

    @peer.command(name="protocols", description="The protocols you can use")
    async def protocols(interaction: discord.Interaction[Any]) -> None:
        await answer(client, interaction, "protocols")

    @peer.command(name="status", description="Where the session is")
    async def status(interaction: discord.Interaction[Any]) -> None:
        await answer(client, interaction, "status")

    @peer.command(name="start", description="Start a session (presenters default to you)")
    @app_commands.describe(
        protocol="Which protocol (default: the set's)",
        member1="In a set's channel: a presenter. Elsewhere: a member of a new set",
    )
    @app_commands.autocomplete(protocol=protocol_names)
    async def start(
        interaction: discord.Interaction[Any],
        protocol: str | None = None,
        member1: discord.Member | None = None,
        member2: discord.Member | None = None,
        member3: discord.Member | None = None,
        member4: discord.Member | None = None,
        member5: discord.Member | None = None,
    ) -> None:
        channel = interaction.channel
        if isinstance(channel, discord.Thread):
            channel = channel.parent
        guild = interaction.guild
        if isinstance(channel, discord.TextChannel) and guild is not None:
            allowed = channel.permissions_for(guild.me)
            if not (allowed.create_private_threads and allowed.send_messages_in_threads):
                await interaction.response.send_message(NO_PRIVATE_THREADS, ephemeral=True)
                return
        chosen = f" {protocol}" if protocol else ""
        members = _mentions(member1, member2, member3, member4, member5)
        await answer(client, interaction, f"start{chosen}{members}")

    @sets.command(name="create", description="A new set meeting in this channel")
    async def create(
        interaction: discord.Interaction[Any],
        name: str,
        member1: discord.Member,
        member2: discord.Member | None = None,
        member3: discord.Member | None = None,
        member4: discord.Member | None = None,
        member5: discord.Member | None = None,
    ) -> None:
        members = _mentions(member1, member2, member3, member4, member5)
        await answer(client, interaction, f"set create {name}{members}")

    @sets.command(name="add", description="Add a member to this channel's set")
    async def add(interaction: discord.Interaction[Any], member: discord.Member) -> None:
        await answer(client, interaction, f"set add <@{member.id}>")

    @sets.command(name="remove", description="Take a member out of this channel's set")
    async def remove(interaction: discord.Interaction[Any], member: discord.Member) -> None:
        await answer(client, interaction, f"set remove <@{member.id}>")

    for word, about in (
        ("next", "Close the turn or part and move on"),
        ("skip", "The current speaker's turn counts as a pass"),
        ("pause", "Pause the session's clocks"),
        ("resume", "Resume a paused session"),
        ("end", "End the session now"),
    ):
        peer.add_command(_control(client, word, about))

    @peer.command(name="extend", description="Give the current part or turn more minutes")
    async def extend(interaction: discord.Interaction[Any], minutes: int) -> None:
        await answer(client, interaction, f"extend {minutes}")

    return peer


def _control(client: PeersetClient, word: str, about: str) -> app_commands.Command[Any, Any, Any]:
    async def control(interaction: discord.Interaction[Any]) -> None:
        await answer(client, interaction, word)

    return app_commands.Command(name=word, description=about, callback=control)
