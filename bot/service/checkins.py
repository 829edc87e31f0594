"""Action items between meetings: their owners list and edit them, and are asked, once, how
each is going (a check-in ping by direct message: done, in progress or stuck, with a note).

Only an item's owner can change it or answer for it: the text is theirs, in their own words.
"""

from __future__ import annotations

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.engine.effects import CHECK_IN_CHOICES, Choice, Notice, NoticeKind
from bot.service.directory import member_ids
from bot.service.notices import append_notice
from bot.store import ActionItem, Member, PeerSet, session_factory

MAX_TEXT = 500
STATUS_WORDS = {
    Choice.DONE: "done",
    Choice.IN_PROGRESS: "in progress",
    Choice.STUCK: "stuck",
}


class CheckInError(ValueError):
    """A change that cannot be made; the message says why and what is right."""


class CheckIns:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._sessions = session_factory(engine)

    def ping(self, item_id: int) -> bool:
        """Ask the item's owner how it is going; at most once, however often called."""
        now = self.clock.now()
        with self._sessions.begin() as db:
            claimed = db.execute(
                update(ActionItem)
                .where(ActionItem.id == item_id, ActionItem.check_in_sent_at.is_(None))
                .values(check_in_sent_at=now)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return False
            item = db.get(ActionItem, item_id)
            owner = db.get(Member, item.member_id) if item else None
            peer_set = db.get(PeerSet, item.set_id) if item else None
            assert item is not None and owner is not None and peer_set is not None
            append_notice(
                db,
                item.set_id,
                f"checkin.{item.id}",
                Notice(
                    NoticeKind.CHECK_IN,
                    f"A check-in from {peer_set.name}: at your last meeting you committed to "
                    f"\u201c{item.text}\u201d (#{item.id}). How is it going? To add a note: "
                    f"/peer checkin {item.id} done|in-progress|stuck your note",
                    member=owner.external_id,
                    subject=item.id,
                    choices=CHECK_IN_CHOICES,
                ),
                now,
            )
            return True

    def answer(
        self, tenant_id: int, member: str, item_id: int, choice: Choice, note: str | None = None
    ) -> str:
        if choice not in STATUS_WORDS:
            raise CheckInError(f"{choice.value} is no answer to a check-in")
        if note is not None and len(note) > MAX_TEXT:
            raise CheckInError(f"Keep the note to {MAX_TEXT} characters; it has {len(note)}.")
        now = self.clock.now()
        with self._sessions.begin() as db:
            item = _own_item(db, tenant_id, member, item_id)
            item.check_in_status = choice.value
            if note is not None:
                item.check_in_note = note
            item.checked_in_at = now
            item.status = "done" if choice is Choice.DONE else "open"
            noted = " with your note" if note else ""
            return (
                f"Thanks: #{item.id} is {STATUS_WORDS[choice]}{noted}. "
                "Your set will see it in the next meeting's updates."
            )

    def mine(self, tenant_id: int, set_id: int, member: str) -> str:
        with self._sessions() as db:
            ids = member_ids(db, tenant_id)
            items = db.scalars(
                select(ActionItem)
                .where(ActionItem.set_id == set_id, ActionItem.member_id == ids.get(member, -1))
                .order_by(ActionItem.id)
            ).all()
            if not items:
                return (
                    "You have no action items in this set. A presenter records theirs at the end "
                    "of their round."
                )
            lines = ["Your action items (change one: /peer action edit NUMBER new words):"]
            for item in items:
                status = item.check_in_status or "not checked in yet"
                lines.append(f"#{item.id} \u201c{item.text}\u201d: {status.replace('_', ' ')}")
            return "\n".join(lines)

    def edit(self, tenant_id: int, member: str, item_id: int, text: str) -> str:
        text = text.strip()
        if not text:
            raise CheckInError("Give the new words: /peer action edit NUMBER new words")
        if len(text) > MAX_TEXT:
            raise CheckInError(f"Keep an action item to {MAX_TEXT} characters; it has {len(text)}.")
        with self._sessions.begin() as db:
            item = _own_item(db, tenant_id, member, item_id)
            item.text = text
            item.updated_at = self.clock.now()
            return f"#{item.id} now reads \u201c{text}\u201d."


def _own_item(db: Session, tenant_id: int, member: str, item_id: int) -> ActionItem:
    """The member's own action item. Someone else's gets the same answer as one that does not
    exist: a number tried tells nobody whose it is, or that it is anyone's."""
    item = db.get(ActionItem, item_id)
    owner = db.get(Member, item.member_id) if item else None
    if item is None or owner is None or (owner.tenant_id, owner.external_id) != (tenant_id, member):
        raise CheckInError(f"You have no action item #{item_id}; `/peer actions` lists yours.")
    return item
