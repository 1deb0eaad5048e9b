"""Sharing rules without a database: expiry, coverage, who may answer and end."""

from __future__ import annotations

import datetime as dt
import uuid

from federation.networks import Role
from federation.permissions import Actor
from federation.sharing import (
    OFFER_TTL,
    ShareSides,
    ShareStatus,
    can_answer_share,
    can_end_share,
    can_manage_trust,
    can_view_shares,
    covers,
    current_status,
    expires_at,
)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_offers_expire_after_fourteen_days() -> None:
    exp = expires_at(T0)
    assert exp - T0 == OFFER_TTL == dt.timedelta(days=14)
    assert current_status("pending", exp, exp - dt.timedelta(seconds=1)) is ShareStatus.PENDING
    assert current_status("pending", exp, exp) is ShareStatus.EXPIRED
    # Only pending offers expire.
    for stored in ("active", "declined", "ended"):
        assert current_status(stored, exp, exp + dt.timedelta(days=100)) is ShareStatus(stored)


def test_coverage() -> None:
    root, child, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert covers(root, False, root, [])
    assert not covers(root, False, child, [root])
    assert covers(root, True, child, [root])
    assert not covers(root, True, other, [])


def test_who_may_act() -> None:
    host, guest, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    sides = ShareSides(host, guest)
    host_admin = Actor(uuid.uuid4(), network_roles={host: Role.ADMIN})
    guest_admin = Actor(uuid.uuid4(), network_roles={guest: Role.ADMIN})
    guest_member = Actor(uuid.uuid4(), network_roles={guest: Role.MEMBER})
    third_admin = Actor(uuid.uuid4(), network_roles={third: Role.ADMIN})
    operator = Actor(uuid.uuid4(), is_operator=True)
    assert can_answer_share(guest_admin, sides) and can_answer_share(operator, sides)
    assert not any(can_answer_share(a, sides) for a in (host_admin, guest_member, third_admin))
    assert all(can_end_share(a, sides) for a in (host_admin, guest_admin, operator))
    assert not any(can_end_share(a, sides) for a in (guest_member, third_admin))
    assert can_view_shares(guest_admin, guest) and not can_view_shares(guest_member, guest)
    assert can_manage_trust(guest_admin, guest) and not can_manage_trust(host_admin, guest)
