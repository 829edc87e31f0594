"""Action items between meetings: the check-in ping by direct message (once), its owner's answer
by button or command, the owner's list and edits, and the next meeting's updates round."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.engine.effects import (
    CHECK_IN_CHOICES,
    Choice,
    NoticeKind,
    OpenSpace,
    Post,
    PostKind,
)
from bot.engine.events import Command, FacilitatorCommand, RecordAction
from bot.scheduler import MeetingScheduler
from bot.store import ActionItem, OutboxEntry, session_factory
from tests.meeting_helpers import MeetingWorld, make_world, run_until, step

TUE_3 = datetime(2026, 3, 3, 18, 30, tzinfo=UTC)
TUE_10 = datetime(2026, 3, 10, 18, 30, tzinfo=UTC)
RECORDED = TUE_3 + timedelta(minutes=10)
ANA_ITEM, BEN_ITEM = "ask Sam about the budget", "book the room for the away day"


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[MeetingWorld]:
    world = make_world(db_url, tmp_path)
    yield world
    world.engine.dispose()


def _first_meeting_with_items(world: MeetingWorld, scheduler: MeetingScheduler) -> None:
    """Meeting 1 opens for everyone; ana and ben record an action item each, then it ends."""
    step(world, scheduler)  # the RSVP
    world.answer_all(1, dict.fromkeys(("ana", "ben", "cleo", "dev"), Choice.GOING))
    run_until(world, scheduler, TUE_3)
    session = world.session_of(1)
    assert session is not None
    world.clock.move_to(RECORDED)
    world.service.handle(session.id, RecordAction("ana", ANA_ITEM))
    world.service.handle(session.id, RecordAction("ben", BEN_ITEM))
    world.service.handle(session.id, FacilitatorCommand("cleo", Command.END))
    scheduler.sync()  # a worker's periodic sync dates the new items' check-ins
    world.delivered()


def _items(world: MeetingWorld) -> list[ActionItem]:
    with session_factory(world.engine)() as db:
        return list(db.scalars(select(ActionItem).order_by(ActionItem.id)).all())


def test_the_owner_is_asked_once_how_an_action_item_is_going(world: MeetingWorld) -> None:
    world.say("schedule add weekly tue 18:30 Europe/London 90 checkin 5d")
    with world.scheduler() as scheduler:
        _first_meeting_with_items(world, scheduler)
        ana_item, ben_item = _items(world)
        due = RECORDED + timedelta(days=5)
        assert ana_item.check_in_due_at == due and ben_item.check_in_due_at == due
        run_until(world, scheduler, due)
        checkins = [n for n in world.notices() if n.kind is NoticeKind.CHECK_IN]
        assert [(n.member, n.subject) for n in checkins] == [
            ("ana", ana_item.id),
            ("ben", ben_item.id),
        ]
        ping = checkins[0]
        assert ping.choices == CHECK_IN_CHOICES
        assert ping.text == (
            "A check-in from leaders: at your last meeting you committed to "
            f"\u201c{ANA_ITEM}\u201d (#{ana_item.id}). How is it going? To add a note: "
            f"/peer checkin {ana_item.id} done|in-progress|stuck your note"
        )
        # Again, by the scheduler or by hand: nothing more.
        scheduler.sync()
        run_until(world, scheduler, due + timedelta(days=1))
        assert world.desk.checkins.ping(ana_item.id) is False
    with session_factory(world.engine)() as db:
        sent = db.scalar(select(func.count()).where(OutboxEntry.effect_id.startswith("checkin.")))
    assert sent == 2


def test_the_owner_answers_and_nobody_else_can(world: MeetingWorld) -> None:
    world.say("schedule add weekly tue 18:30 Europe/London 90 checkin 5d")
    with world.scheduler() as scheduler:
        _first_meeting_with_items(world, scheduler)
    ana_item, ben_item = (item.id for item in _items(world))
    pressed = world.press("ana", Choice.STUCK, ana_item)
    assert pressed.text == (
        f"Thanks: #{ana_item} is stuck. Your set will see it in the next meeting's updates."
    )
    typed = world.say(f"checkin {ana_item} in-progress waiting on finance", "ana")
    assert typed.text == (
        f"Thanks: #{ana_item} is in progress with your note. Your set will see it in the next "
        "meeting's updates."
    )
    # Someone else's item gets the very answer a missing one gets: it tells whose it is to nobody.
    refused = f"You have no action item #{ana_item}; `/peer actions` lists yours."
    for answer in (
        world.press("ben", Choice.DONE, ana_item),
        world.say(f"checkin {ana_item} done", "ben"),
    ):
        assert (answer.ok, answer.text) == (False, refused)
    stranger = world.desk.choose(world.caller("ana", tenant="elsewhere"), Choice.DONE, ana_item)
    assert (stranger.ok, stranger.text) == (False, refused)
    assert world.say("checkin 999 done", "ana").text == (
        "You have no action item #999; `/peer actions` lists yours."
    )
    item = _items(world)[0]
    assert (item.check_in_status, item.check_in_note) == ("in_progress", "waiting on finance")
    assert world.press("ben", Choice.DONE, ben_item).ok


def test_members_list_and_edit_only_their_own_items(world: MeetingWorld) -> None:
    world.say("schedule add weekly tue 18:30 Europe/London 90")
    with world.scheduler() as scheduler:
        _first_meeting_with_items(world, scheduler)
    ana_item, ben_item = (item.id for item in _items(world))
    world.press("ben", Choice.DONE, ben_item)
    assert world.say("actions", "ana").text == (
        "Your action items (change one: /peer action edit NUMBER new words):\n"
        f"#{ana_item} \u201c{ANA_ITEM}\u201d: not checked in yet"
    )
    assert world.say("actions", "ben").text.endswith(f"#{ben_item} \u201c{BEN_ITEM}\u201d: done")
    assert world.say("actions", "dev").text == (
        "You have no action items in this set. A presenter records theirs at the end of their "
        "round."
    )
    edited = world.say(f"action edit {ana_item} ask Sam and Jo about the budget", "ana")
    assert edited.text == f"#{ana_item} now reads \u201cask Sam and Jo about the budget\u201d."
    refused = world.say(f"action edit {ana_item} forget the budget", "ben")
    assert (refused.ok, refused.text) == (
        False,
        f"You have no action item #{ana_item}; `/peer actions` lists yours.",
    )
    missing = world.say("action edit 999 forget the budget", "ben")
    assert (missing.ok, missing.text) == (
        False,
        "You have no action item #999; `/peer actions` lists yours.",
    )
    too_long = world.say(f"action edit {ana_item} {'x' * 501}", "ana")
    assert (too_long.ok, too_long.text) == (
        False,
        "Keep an action item to 500 characters; it has 501.",
    )
    assert [item.text for item in _items(world)] == ["ask Sam and Jo about the budget", BEN_ITEM]


def test_the_next_meeting_starts_with_everyones_updates(world: MeetingWorld) -> None:
    world.say("schedule add weekly tue 18:30 Europe/London 90 checkin 5d")
    with world.scheduler() as scheduler:
        _first_meeting_with_items(world, scheduler)
        ana_item, ben_item = (item.id for item in _items(world))
        run_until(world, scheduler, RECORDED + timedelta(days=5))
        world.say(f"checkin {ana_item} stuck waiting on finance", "ana")
        world.answer_all(2, dict.fromkeys(("ana", "ben", "cleo"), Choice.GOING))
        world.delivered()
        run_until(world, scheduler, TUE_10)
    session = world.session_of(2)
    assert session is not None
    thread = [d.effect for d in world.delivered() if d.session_id == session.id]
    assert isinstance(thread[0], OpenSpace)
    updates = thread[1]
    assert isinstance(updates, Post) and updates.kind is PostKind.UPDATES
    assert updates.text == (
        "Updates first: what each of you committed to, and how it went.\n"
        f'<@ana>: #{ana_item} \u201c{ANA_ITEM}\u201d: stuck ("waiting on finance")\n'
        f"<@ben>: #{ben_item} \u201c{BEN_ITEM}\u201d: no check-in answer yet"
    )


def test_a_set_without_a_schedule_gets_check_ins_after_the_default_days(
    world: MeetingWorld,
) -> None:
    started = world.say("start")
    assert started.ok and started.session_id is not None
    world.service.handle(started.session_id, RecordAction("ana", ANA_ITEM))
    world.desk.calendar.plan_all()
    [item] = _items(world)
    assert item.check_in_due_at == world.clock.now() + timedelta(days=7)
