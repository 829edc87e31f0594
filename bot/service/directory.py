"""Tenants, members and sets: who is who, found or made on first sight."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.store import Member, Membership, PeerSet, Tenant, session_factory

Row = TypeVar("Row", Tenant, Member)


class NoSuchSet(LookupError):
    """No set has that name, and no members were given to make it."""


class SetExists(ValueError):
    """A protocol was chosen for a set that exists already; `protocol` is the one it has."""

    def __init__(self, protocol: str) -> None:
        super().__init__(protocol)
        self.protocol = protocol


@dataclass(frozen=True, slots=True)
class SetPlace:
    """Where a set is: its workspace's row id, its own, and the space it meets in."""

    tenant_id: int
    set_id: int
    space_id: str | None
    members: tuple[str, ...]


def _found_or_made(db: Session, query: Select[Any], make: Callable[[], Row]) -> Row:
    """The row `query` finds, or one made now. Two requests seeing something new at the same
    moment both try to make it: the loser's insert is undone (a savepoint) and it reads the
    winner's."""
    found: Row | None = db.scalars(query).first()
    if found is not None:
        return found
    try:
        with db.begin_nested():
            made = make()
            db.add(made)
            db.flush()
        return made
    except IntegrityError:
        winner: Row = db.scalars(query).one()
        return winner


def ensure_tenant(db: Session, platform: str, external_id: str, name: str = "") -> Tenant:
    return _found_or_made(
        db,
        select(Tenant).where(Tenant.platform == platform, Tenant.external_id == external_id),
        lambda: Tenant(platform=platform, external_id=external_id, name=name),
    )


def ensure_member(db: Session, tenant_id: int, external_id: str, display_name: str) -> Member:
    member = _found_or_made(
        db,
        select(Member).where(Member.tenant_id == tenant_id, Member.external_id == external_id),
        lambda: Member(tenant_id=tenant_id, external_id=external_id, display_name=display_name),
    )
    if member.display_name != display_name:
        member.display_name = display_name
    return member


def ensure_set(
    db: Session,
    tenant_id: int,
    name: str,
    protocol: str,
    members: Sequence[tuple[str, str]],
    facilitator: str | None = None,
) -> PeerSet:
    """The set called `name`, made if new, with `members` (external id, display name) in it."""
    peer_set = db.scalars(
        select(PeerSet).where(PeerSet.tenant_id == tenant_id, PeerSet.name == name)
    ).first()
    if peer_set is None:
        peer_set = PeerSet(tenant_id=tenant_id, name=name, protocol=protocol)
        db.add(peer_set)
        db.flush()
    peer_set.protocol = protocol
    peer_set.facilitated = facilitator is not None
    existing = set(
        db.scalars(select(Membership.member_id).where(Membership.set_id == peer_set.id)).all()
    )
    for external_id, display_name in members:
        member = ensure_member(db, tenant_id, external_id, display_name)
        role = "facilitator" if external_id == facilitator else "member"
        if member.id not in existing:
            db.add(Membership(set_id=peer_set.id, member_id=member.id, role=role))
    db.flush()
    return peer_set


def claim_set(
    db: Session, tenant_id: int, name: str, protocol: str, members: Sequence[tuple[str, str]]
) -> PeerSet | None:
    """A new set called `name`, or None if the workspace has one by that name already (made
    meanwhile by another request included: the name is unique, and the loser's insert is
    undone)."""
    try:
        with db.begin_nested():
            peer_set = PeerSet(tenant_id=tenant_id, name=name, protocol=protocol)
            db.add(peer_set)
            db.flush()
    except IntegrityError:
        return None
    return ensure_set(db, tenant_id, name, protocol, members)


def drop_set(engine: Engine, set_id: int) -> None:
    """Remove a set that never came to be (its platform space could not be made)."""
    with session_factory(engine).begin() as db:
        db.execute(delete(PeerSet).where(PeerSet.id == set_id))


def member_ids(db: Session, tenant_id: int) -> dict[str, int]:
    """Each member's external id mapped to their row id, within one tenant."""
    rows = db.execute(
        select(Member.external_id, Member.id).where(Member.tenant_id == tenant_id)
    ).all()
    return {external_id: row_id for external_id, row_id in rows}


def set_in_space(db: Session, tenant_id: int, space_id: str) -> PeerSet | None:
    """The set that meets in this platform space (a private channel), if any."""
    return db.scalars(
        select(PeerSet).where(PeerSet.tenant_id == tenant_id, PeerSet.space_id == space_id)
    ).first()


def set_members(db: Session, set_id: int) -> list[str]:
    """The set's members' external ids, in the order they joined."""
    return list(
        db.scalars(
            select(Member.external_id)
            .join(Membership, Membership.member_id == Member.id)
            .where(Membership.set_id == set_id)
            .order_by(Membership.id)
        ).all()
    )


def add_member(db: Session, peer_set: PeerSet, external_id: str, display_name: str) -> bool:
    """Add a member to a set; False if they were in it already."""
    if external_id in set_members(db, peer_set.id):
        return False
    member = ensure_member(db, peer_set.tenant_id, external_id, display_name)
    db.add(Membership(set_id=peer_set.id, member_id=member.id))
    db.flush()
    return True


def remove_member(db: Session, peer_set: PeerSet, external_id: str) -> bool:
    """Take a member out of a set; False if they were not in it."""
    membership = db.scalars(
        select(Membership)
        .join(Member, Member.id == Membership.member_id)
        .where(Membership.set_id == peer_set.id, Member.external_id == external_id)
    ).first()
    if membership is None:
        return False
    db.delete(membership)
    db.flush()
    return True


def make_set(
    engine: Engine,
    *,
    platform: str,
    tenant: str,
    tenant_name: str,
    name: str,
    protocol: str,
    members: Sequence[str],
    facilitator: str | None = None,
    space_id: str | None = None,
) -> SetPlace:
    """The set called `name` in a workspace, made if new (with the workspace), with `members`
    in it, meeting in `space_id` if given; one transaction."""
    with session_factory(engine).begin() as db:
        found = ensure_tenant(db, platform, tenant, tenant_name)
        peer_set = ensure_set(db, found.id, name, protocol, [(m, m) for m in members], facilitator)
        if space_id is not None:
            peer_set.space_id = space_id
        return SetPlace(
            found.id, peer_set.id, peer_set.space_id, tuple(set_members(db, peer_set.id))
        )


def join_set(
    engine: Engine,
    *,
    platform: str,
    tenant: str,
    tenant_name: str,
    name: str,
    members: Sequence[str],
    protocol: Callable[[], str],
    protocol_chosen: bool,
    space_id: str,
) -> SetPlace:
    """The set called `name`, made with `members` (and the `protocol` reference, read only
    then) if new, else with `members` added; a set meeting nowhere yet is given `space_id`.

    Raises `NoSuchSet` for a new set without members, and `SetExists` when a protocol was chosen
    for a set that has one already; then nothing changes.
    """
    with session_factory(engine).begin() as db:
        found = ensure_tenant(db, platform, tenant, tenant_name)
        peer_set = db.scalars(
            select(PeerSet).where(PeerSet.tenant_id == found.id, PeerSet.name == name)
        ).first()
        if peer_set is None:
            if not members:
                raise NoSuchSet(name)
            peer_set = ensure_set(db, found.id, name, protocol(), [(m, m) for m in members])
        elif protocol_chosen:
            raise SetExists(peer_set.protocol)
        else:
            for member in members:
                add_member(db, peer_set, member, member)
        if peer_set.space_id is None:
            peer_set.space_id = space_id
        return SetPlace(
            found.id, peer_set.id, peer_set.space_id, tuple(set_members(db, peer_set.id))
        )


def tenant_of_set(engine: Engine, set_id: int) -> str:
    """The platform's id of the workspace (or guild) a set belongs to."""
    with session_factory(engine)() as db:
        return db.scalars(
            select(Tenant.external_id)
            .join(PeerSet, PeerSet.tenant_id == Tenant.id)
            .where(PeerSet.id == set_id)
        ).one()
