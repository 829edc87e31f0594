"""The Discord bot on discord.py: the `/peer` application commands, buttons (a session's, and a
notice's answers), the action-item form and messages in sessions' private threads, each answered
or deferred at once and handed on."""

from __future__ import annotations

import asyncio
import functools
import logging
import zoneinfo
from typing import Any

import discord
from discord import app_commands

from adapters.discord.components import Chosen, read_custom_id
from bot import commands
from bot.engine.effects import CHOICE_LABELS
from bot.engine.events import MessagePosted, RecordAction
from bot.schedule import MAX_MINUTES, ORDINALS, WEEKDAY_NAMES, WEEKDAYS
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
# Discord offers at most 25 choices to an option, typed or suggested.
MAX_CHOICES = 25


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
        log.error("/peer failed", exc_info=error)
        if interaction.response.is_done():
            await interaction.followup.send(SORRY, ephemeral=True)
        else:
            await interaction.response.send_message(SORRY, ephemeral=True)


async def answer(client: PeersetClient, interaction: discord.Interaction[Any], text: str) -> None:
    """Defer at once (Discord wants an answer within 3 seconds), then let the desk answer."""
    await interaction.response.defer(ephemeral=True, thinking=True)
    space_id = _meeting_place(interaction)
    caller = _caller(interaction, str(interaction.guild_id), space_id)
    runtime = client.runtime
    try:
        reply = await asyncio.to_thread(runtime.desk.answer, text, caller, DiscordSpaces(space_id))
    except SpaceError as exc:
        await interaction.followup.send(str(exc), ephemeral=True)
        return
    runtime.wake()
    await interaction.followup.send(reply.text, ephemeral=True)


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


def _mentions(*members: discord.abc.User | None) -> str:
    return "".join(f" <@{m.id}>" for m in members if m is not None)


def peer_group(client: PeersetClient) -> app_commands.Group:
    """`/peer` with the same subcommands as on Slack, as typed options."""
    peer = app_commands.Group(name="peer", description="Structured peer-mentoring sessions")
    sets = app_commands.Group(name="set", description="This channel's set", parent=peer)

    async def protocol_names(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        names = [n for n in client.runtime.desk.protocol_names() if current.lower() in n]
        return [app_commands.Choice(name=n, value=n) for n in names[:MAX_CHOICES]]

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
        peer.add_command(_plain(client, word, about, word))

    @peer.command(name="extend", description="Give the current part or turn more minutes")
    async def extend(interaction: discord.Interaction[Any], minutes: int) -> None:
        await answer(client, interaction, f"extend {minutes}")

    peer.add_command(schedule_group(client))
    for word, about in (
        ("bid", "You have something to bring to the next meeting"),
        ("attendance", "Who said they would come to the last meetings, and who took part"),
        ("actions", "Your action items in this set"),
    ):
        peer.add_command(_plain(client, word, about, word))

    @peer.command(name="action-edit", description="Change the words of one of your action items")
    @app_commands.describe(
        item="The action item's number (/peer actions lists yours)", text="The new words"
    )
    async def action_edit(
        interaction: discord.Interaction[Any], item: app_commands.Range[int, 1], text: str
    ) -> None:
        await answer(client, interaction, f"action edit {item} {text}")

    @peer.command(name="checkin", description="Say how one of your action items is going")
    @app_commands.describe(
        item="The action item's number (/peer actions lists yours)",
        status="How it is going",
        note="A few words for your set, shown in the next meeting's updates",
    )
    @app_commands.choices(
        status=[
            app_commands.Choice(name=CHOICE_LABELS[choice], value=word)
            for word, choice in commands.CHECK_IN_WORDS.items()
        ]
    )
    async def checkin(
        interaction: discord.Interaction[Any],
        item: app_commands.Range[int, 1],
        status: str,
        note: str | None = None,
    ) -> None:
        noted = f" {note}" if note else ""
        await answer(client, interaction, f"checkin {item} {status}{noted}")

    return peer


# How often a set meets, as `/peer schedule add` offers it: the desk's own words as values.
HOW_OFTEN = (
    ("weekly", "weekly"),
    *((f"every {n} weeks", f"every {n} weeks") for n in (2, 3, 4)),
    *((f"monthly, on the {nth}", f"monthly {nth}") for nth in ORDINALS),
)


@functools.cache
def _zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _matching_zones(typed: str) -> list[str]:
    """Time zones whose name holds what was typed (a space standing for the names' `_`)."""
    wanted = typed.strip().lower().replace(" ", "_")
    return [zone for zone in _zones() if wanted in zone.lower()][:MAX_CHOICES]


def schedule_group(client: PeersetClient) -> app_commands.Group:
    """`/peer schedule ...`: typed options, turned into the words the desk reads."""
    schedule = app_commands.Group(name="schedule", description="This set's regular meetings")

    async def zones(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=z, value=z) for z in _matching_zones(current)]

    @schedule.command(name="add", description="Meet regularly (replaces the set's schedule)")
    @app_commands.describe(
        how="How often the set meets",
        weekday="On which day of the week",
        time="The local time it starts, 24-hour HH:MM, e.g. 18:30",
        zone="The time zone the time is in, e.g. Europe/London",
        minutes="How long each meeting lasts, in minutes",
        rsvp_hours="Hours before each meeting that members are asked if they are coming",
        reminder_hours="Hours before each meeting that those who have not answered are reminded",
        check_in_days="Days after each action item that its owner is asked how it is going",
        starting="The first day a meeting may fall on, YYYY-MM-DD (default: today)",
    )
    @app_commands.choices(
        how=[app_commands.Choice(name=name, value=words) for name, words in HOW_OFTEN],
        weekday=[
            app_commands.Choice(name=name.capitalize(), value=short)
            for short, name in zip(WEEKDAYS, WEEKDAY_NAMES, strict=True)
        ],
    )
    @app_commands.autocomplete(zone=zones)
    async def add(
        interaction: discord.Interaction[Any],
        how: str,
        weekday: str,
        time: str,
        zone: str,
        minutes: app_commands.Range[int, 1, MAX_MINUTES],
        rsvp_hours: app_commands.Range[int, 1] | None = None,
        reminder_hours: app_commands.Range[int, 1] | None = None,
        check_in_days: app_commands.Range[int, 1] | None = None,
        starting: str | None = None,
    ) -> None:
        start = f" from {starting.strip()}" if starting else ""
        leads = "".join(
            f" {word} {value}{unit}"
            for word, value, unit in (
                ("rsvp", rsvp_hours, "h"),
                ("remind", reminder_hours, "h"),
                ("checkin", check_in_days, "d"),
            )
            if value is not None
        )
        await answer(
            client,
            interaction,
            f"schedule add {how} {weekday} {time} {zone} {minutes}{start}{leads}",
        )

    for word, about in (
        ("list", "When the set meets, and its next meetings"),
        ("cancel", "Stop the set's regular meetings"),
        ("skip-next", "Skip the next meeting"),
    ):
        schedule.add_command(_plain(client, word, about, f"schedule {word}"))

    @schedule.command(name="move", description="Move the next meeting to another day or time")
    @app_commands.describe(
        day="The new local day, YYYY-MM-DD, e.g. 2026-12-01",
        time="The new local time, 24-hour HH:MM, in the schedule's time zone",
    )
    async def move(interaction: discord.Interaction[Any], day: str, time: str) -> None:
        await answer(client, interaction, f"schedule move {day} {time}")

    return schedule


def _plain(
    client: PeersetClient, name: str, about: str, text: str
) -> app_commands.Command[Any, Any, Any]:
    """A subcommand without options: the desk reads `text`."""

    async def plain(interaction: discord.Interaction[Any]) -> None:
        await answer(client, interaction, text)

    return app_commands.Command(name=name, description=about, callback=plain)
