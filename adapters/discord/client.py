"""The Discord bot on discord.py: the `/peer` application commands, buttons (a session's, and a
notice's answers), the action-item form and messages in sessions' private threads, each answered
or deferred at once and handed on."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord.commands import peer_group
from adapters.discord.components import Chosen, read_custom_id
from bot import commands
from bot.commands import Problem, Request
from bot.engine.events import MessagePosted, RecordAction
from bot.service.desk import Caller
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
        self.tree.add_command(
            peer_group(
                functools.partial(answer, self),
                lambda: self.runtime.desk.protocol_names(),
                {("start",): private_threads_allowed},
            )
        )
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
        if isinstance(pressed, Chosen):
            await choose(self, interaction, pressed)
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
        if isinstance(error, app_commands.CommandNotFound):
            # A client holding a command list from before a deploy: not a fault of ours.
            name = " ".join([*error.parents, error.name])
            reply = f"I don't know `/{name}`; commands may be updating. `/peer help` lists them."
        elif isinstance(error, app_commands.CommandSignatureMismatch):
            name = error.command.qualified_name
            reply = f"`/{name}` has changed; commands may be updating. Try again in a minute."
        elif isinstance(error, app_commands.TransformerError):
            # A value Discord's own picker would not offer, e.g. someone not in this server.
            reply = (
                f"`{str(error.value)[:40]}` is not something `/peer` takes there: "
                "choose from what Discord offers (members of this server)."
            )
        else:
            log.error("/peer failed", exc_info=error)
            reply = SORRY
        if interaction.response.is_done():
            await interaction.followup.send(reply, ephemeral=True)
        else:
            await interaction.response.send_message(reply, ephemeral=True)


async def answer(
    client: PeersetClient, interaction: discord.Interaction[Any], request: Request | Problem
) -> None:
    """Defer at once (Discord wants an answer within 3 seconds), then let the desk answer."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    space_id = _meeting_place(interaction)
    caller = _caller(interaction, str(interaction.guild_id), space_id)
    runtime = client.runtime
    spaces = DiscordSpaces(space_id)
    reply = await asyncio.to_thread(runtime.desk.answer, request, caller, spaces)
    runtime.wake()
    await interaction.followup.send(reply.text, ephemeral=True)


async def private_threads_allowed(interaction: discord.Interaction[Any]) -> bool:
    """Before a session starts: if Peerset may not open a private thread in this channel, the
    member is told which permissions to give (True: answered, stop here)."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread):
        channel = channel.parent
    guild = interaction.guild
    if isinstance(channel, discord.TextChannel) and guild is not None:
        allowed = channel.permissions_for(guild.me)
        if not (allowed.create_private_threads and allowed.send_messages_in_threads):
            await interaction.response.send_message(NO_PRIVATE_THREADS, ephemeral=True)
            return True
    return False


async def choose(
    client: PeersetClient, interaction: discord.Interaction[Any], chosen: Chosen
) -> None:
    """A notice's answer pressed, in the set's channel or in a direct message: deferred at once,
    taken off the event loop, and answered for the member alone."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    # A press in a direct message has no server; the button says which one it came from.
    tenant = str(interaction.guild_id or chosen.guild_id)
    caller = _caller(interaction, tenant, str(interaction.channel_id))
    runtime = client.runtime
    try:
        reply = await asyncio.to_thread(runtime.desk.choose, caller, chosen.choice, chosen.subject)
    except Exception:  # a bug: logged, and the member is told their answer was not taken
        log.exception("taking a pressed %s failed", chosen.choice.value)
        await interaction.followup.send(SORRY, ephemeral=True)
        return
    runtime.wake()
    await interaction.followup.send(reply.text, ephemeral=True)


def _caller(interaction: discord.Interaction[Any], tenant: str, space_id: str) -> Caller:
    return Caller(
        platform=PLATFORM,
        tenant=tenant,
        space_id=space_id,
        member=str(interaction.user.id),
        event_key=f"discord:{interaction.id}",
    )


def _meeting_place(interaction: discord.Interaction[Any]) -> str:
    """The channel a command counts for: in a session's thread, the channel the set meets in."""
    channel = interaction.channel
    if isinstance(channel, discord.Thread) and channel.parent_id is not None:
        return str(channel.parent_id)
    return str(interaction.channel_id)
