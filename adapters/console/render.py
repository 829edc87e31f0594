"""Peerset effects as plain terminal lines."""

from __future__ import annotations

import re
from datetime import datetime

from bot.engine.effects import (
    CHOICE_LABELS,
    Button,
    CloseSpace,
    Effect,
    Notice,
    Nudge,
    OpenSpace,
    Post,
)
from bot.service.notices import in_zone, render_times

_MENTION = re.compile(r"<@([^>]+)>")
# Each button with the line that presses it here.
_BUTTONS = {
    Button.DONE: "[Done: /done]",
    Button.PASS: "[Pass: /pass]",
    Button.AGREE: "[Agree: /agree]",
    Button.ACTION: "[Record an action item: /action TEXT]",
}


def plain(text: str, zone: str | None = None) -> str:
    """Mentions (`<@alice>`) as the bare name, times in `zone` (UTC if none)."""
    return render_times(_MENTION.sub(r"\1", text), in_zone(zone))


def stamp(moment: datetime, start: datetime) -> str:
    seconds = max(int((moment - start).total_seconds()), 0)
    return f"[+{seconds // 60:02d}:{seconds % 60:02d}]"


def render(effect: Effect) -> str:
    if isinstance(effect, Post):
        buttons = " ".join(_BUTTONS[b] for b in effect.buttons)
        return "peerset: " + plain(effect.text) + (f"  {buttons}" if buttons else "")
    if isinstance(effect, Nudge):
        return f"(to {effect.member}) " + plain(effect.text)
    if isinstance(effect, OpenSpace):
        return f'peerset: opened a private space "{effect.title}" for {", ".join(effect.members)}.'
    if isinstance(effect, Notice):
        choices = " ".join(f"[{CHOICE_LABELS[c]}]" for c in effect.choices)
        to = f"(to {effect.member}) " if effect.member else ""
        return f"peerset: {to}{plain(effect.text, effect.zone)}" + (
            f"  {choices}" if choices else ""
        )
    if isinstance(effect, CloseSpace):
        return "peerset: this session's space is now closed."
    raise TypeError(f"cannot render {effect!r}")
