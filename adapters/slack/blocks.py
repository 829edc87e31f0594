"""Peerset effects as Slack messages: Block Kit blocks, with buttons for every control a session
needs (Slack delivers no slash command typed inside a thread) and for the answers a notice asks
for; and the forms (modals) members fill in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.commands.table import HOW_OFTEN
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
from bot.schedule import WEEKDAY_NAMES, WEEKDAYS
from bot.service.notices import in_zone, render_times
from bot.settings import Settings

ACTION_PREFIX = "peerset_"
# A notice's answer buttons: the choice in the action id, its subject (meeting or action item)
# in the value.
CHOICE_PREFIX = ACTION_PREFIX + "choice_"
SCHEDULE_FORM = "peerset_schedule"
# Each input of the schedule form is a block of its own, whose one element has this action id.
FIELD = "value"


def action_id(name: str) -> str:
    return ACTION_PREFIX + name


def slack_times(text: str, zone: str | None = None) -> str:
    """Each time token as Slack's date formatting, shown in each reader's own time zone; a client
    that cannot show it falls back to the moment in `zone` (a set's), or in UTC."""
    fallback = in_zone(zone)

    def render(moment: datetime) -> str:
        epoch = int(moment.timestamp())
        return f"<!date^{epoch}^{{date_long_pretty}} at {{time}}|{fallback(moment)}>"

    return render_times(text, render)


def post_blocks(post: Post, session_id: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": post.text[:3000]}}
    ]
    value = str(session_id)
    buttons = [
        _button(action_id(b.value), BUTTON_LABELS[b], value, primary=b is Button.DONE)
        for b in post.buttons
    ]
    if buttons:
        blocks.append({"type": "actions", "block_id": "peerset_turn", "elements": buttons})
    if post.kind in WITH_CONTROLS:
        blocks.append(
            {
                "type": "actions",
                "block_id": "peerset_controls",
                "elements": [
                    _button(action_id(f"control_{c}"), label, value) for c, label in CONTROLS
                ],
            }
        )
    return blocks


def notice_blocks(notice: Notice, text: str) -> list[dict[str, Any]]:
    """A notice, its times already rendered in `text`, with a button for each answer."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
    ]
    if notice.choices and notice.subject is not None:
        value = str(notice.subject)
        buttons = [
            _button(CHOICE_PREFIX + c.value, CHOICE_LABELS[c], value, primary=c is Choice.GOING)
            for c in notice.choices
        ]
        blocks.append({"type": "actions", "block_id": "peerset_choices", "elements": buttons})
    return blocks


def _button(action: str, label: str, value: str, primary: bool = False) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    if primary:
        button["style"] = "primary"
    return button


def action_modal(session_id: int) -> dict[str, Any]:
    """The form a member fills in to record an action item of their own."""
    return {
        "type": "modal",
        "callback_id": "peerset_record_action",
        "private_metadata": str(session_id),
        "title": {"type": "plain_text", "text": "Record an action item"},
        "submit": {"type": "plain_text", "text": "Record"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "action",
                "label": {"type": "plain_text", "text": "What will you do, and by when?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": 500,
                },
            }
        ],
    }


def schedule_modal(private_metadata: str, zone: str, settings: Settings) -> dict[str, Any]:
    """The form behind `/peer schedule`: a set's regular meetings, field by field. `zone` is the
    member's own time zone, as a first guess at the set's."""
    how_often = tuple((value, label.capitalize()) for label, value in HOW_OFTEN)
    weekdays = tuple(zip(WEEKDAYS, (n.capitalize() for n in WEEKDAY_NAMES), strict=True))
    return {
        "type": "modal",
        "callback_id": SCHEDULE_FORM,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "Regular meetings"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input("often", "How often", _select(how_often, initial=how_often[0])),
            _input("weekday", "On which day", _select(weekdays)),
            _input("at", "At (local time)", {"type": "timepicker", "action_id": FIELD}),
            _input(
                "zone",
                "Time zone",
                _text(zone),
                hint="A name like Europe/London or America/New_York: meetings keep their local "
                "time when the clocks change.",
            ),
            _input("minutes", "Length in minutes", _text("", placeholder="e.g. 90")),
            _input("rsvp", "Ask who is coming, hours before", _text(str(settings.rsvp_hours))),
            _input(
                "remind",
                "Remind those who have not answered, hours before",
                _text(str(settings.reminder_hours)),
            ),
            _input(
                "checkin",
                "Ask how each action item is going, days after",
                _text(str(settings.check_in_days)),
            ),
            _input(
                "starting",
                "Starting from",
                {"type": "datepicker", "action_id": FIELD},
                hint="The first day a meeting may fall on. Leave it empty to start today.",
                optional=True,
            ),
        ],
    }


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    hint: str | None = None,
    optional: bool = False,
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _select(
    options: tuple[tuple[str, str], ...], initial: tuple[str, str] | None = None
) -> dict[str, Any]:
    def option(value: str, label: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": label}, "value": value}

    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": FIELD,
        "options": [option(*o) for o in options],
    }
    if initial is not None:
        element["initial_option"] = option(*initial)
    return element


def _text(initial: str, placeholder: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": FIELD}
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = {"type": "plain_text", "text": placeholder}
    return element
