"""Peerset's buttons and the action-item form on Discord, and reading them back."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from bot.engine.effects import BUTTON_LABELS, CONTROLS, WITH_CONTROLS, Button, Post

PREFIX = "peerset"


def custom_id(name: str, session_id: int) -> str:
    return f"{PREFIX}:{name}:{session_id}"


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


@dataclass(frozen=True, slots=True)
class Pressed:
    name: str
    session_id: int


def read_custom_id(value: str) -> Pressed | None:
    prefix, _, rest = value.partition(":")
    name, _, session = rest.rpartition(":")
    if prefix != PREFIX or not name or not session.isdigit():
        return None
    return Pressed(name, int(session))
