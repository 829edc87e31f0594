"""Peerset's buttons and the action-item form on Discord, and reading them back.

Every button's custom id says all a press needs, so presses are read from the custom id alone
(`PeersetClient.on_interaction`) and buttons keep working after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.commands import whole_number
from bot.engine.effects import (
    BUTTON_LABELS,
    CHOICE_LABELS,
    CONTROLS,
    WITH_CONTROLS,
    Button,
    Choice,
    Notice,
    Post,
)

PREFIX = "peerset"
CHOICE = "choice_"
# Answers that hold a meeting or an item back; the others are shown as the ones to press.
_QUIET_CHOICES = (Choice.NOT_GOING, Choice.STUCK)


def custom_id(name: str, session_id: int) -> str:
    return f"{PREFIX}:{name}:{session_id}"


def choice_custom_id(choice: Choice, subject: int, guild_id: int) -> str:
    """A notice's answer button: the choice, what it answers about (a meeting or an action
    item), and the server the notice is from, which a press in a direct message does not say."""
    return f"{PREFIX}:{CHOICE}{choice.value}:{subject}:{guild_id}"


def post_view(post: Post, session_id: int) -> discord.ui.View | None:
    """Buttons for a post; Discord dispatches their presses as interactions Peerset reads."""
    if not post.buttons and post.kind not in WITH_CONTROLS:
        return None
    view = discord.ui.View(timeout=None)
    for button in post.buttons:
        style = (
            discord.ButtonStyle.primary if button is Button.DONE else discord.ButtonStyle.secondary
        )
        view.add_item(
            discord.ui.Button(
                label=BUTTON_LABELS[button],
                style=style,
                custom_id=custom_id(button.value, session_id),
                row=0,
            )
        )
    if post.kind in WITH_CONTROLS:
        for name, label in CONTROLS:
            view.add_item(
                discord.ui.Button(
                    label=label,
                    style=discord.ButtonStyle.secondary,
                    custom_id=custom_id(f"control_{name}", session_id),
                    row=1 + CONTROLS.index((name, label)) // 5,
                )
            )
    return view


def notice_view(notice: Notice, guild_id: int) -> discord.ui.View | None:
    """A notice's choices (an RSVP's, a check-in's) as one row of buttons."""
    if not notice.choices or notice.subject is None:
        return None
    view = discord.ui.View(timeout=None)
    for choice in notice.choices:
        style = (
            discord.ButtonStyle.secondary
            if choice in _QUIET_CHOICES
            else discord.ButtonStyle.primary
        )
        view.add_item(
            discord.ui.Button(
                label=CHOICE_LABELS[choice],
                style=style,
                custom_id=choice_custom_id(choice, notice.subject, guild_id),
            )
        )
    return view


@dataclass(frozen=True, slots=True)
class Pressed:
    """A session's button: `name` (done, pass, control_next, ...) in session `session_id`."""

    name: str
    session_id: int


@dataclass(frozen=True, slots=True)
class Chosen:
    """A notice's answer button: `choice` about `subject`, in server `guild_id`."""

    choice: Choice
    subject: int
    guild_id: str


_CHOICES = {choice.value: choice for choice in Choice}


def read_custom_id(value: str) -> Pressed | Chosen | None:
    parts = value.split(":")
    if parts[0] != PREFIX or len(parts) not in (3, 4):
        return None
    subject = whole_number(parts[2])
    # The guild is a snowflake, wider than an item's id: ASCII digits, checked as such.
    if subject is None or (len(parts) == 4 and not (parts[3].isascii() and parts[3].isdigit())):
        return None
    name = parts[1]
    if not name.startswith(CHOICE):
        return Pressed(name, subject) if name and len(parts) == 3 else None
    choice = _CHOICES.get(name.removeprefix(CHOICE))
    return Chosen(choice, subject, parts[3]) if choice and len(parts) == 4 else None
