"""The demo data set: a few networks like the ones that asked for this service (idempotent)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.repository import get_by_email
from services.persistence.models import Account, Network, NetworkMember

DEMO_NETWORKS = [
    ("alas", "Association of Latino Administrators & Superintendents", "association"),
    ("bpn", "Black Principals Network", "association"),
    ("psesd", "Puget Sound Educational Service District", "esd"),
    ("kent-sd", "Kent School District", "district"),
    ("westwood-sd", "Westwood School District", "district"),
]
DEMO_ACCOUNTS = [
    ("admin@demo.affinity.test", "Dana Admin", True),
    ("maria@demo.affinity.test", "María Facilitator", False),
    ("james@demo.affinity.test", "James Member", False),
]


async def load_demo(session: AsyncSession, progress: Callable[[str], None] = lambda _: None) -> str:
    """Create the demo networks and accounts if missing; return a one-line summary."""
    created = 0
    accounts: dict[str, Account] = {}
    for email, name, operator in DEMO_ACCOUNTS:
        account = await get_by_email(session, email)
        if account is None:
            account = Account(
                id=uuid.uuid4(), email=email, display_name=name, is_operator=operator, email_verified=True
            )
            session.add(account)
            created += 1
        accounts[email] = account
    progress("demo accounts ready")
    for slug, name, kind in DEMO_NETWORKS:
        network = await session.scalar(select(Network).where(Network.slug == slug))
        if network is None:
            network = Network(id=uuid.uuid4(), slug=slug, name=name, kind=kind)
            session.add(network)
            await session.flush()
            session.add_all(
                [
                    NetworkMember(network_id=network.id, account_id=accounts[DEMO_ACCOUNTS[0][0]].id, role="admin"),
                    NetworkMember(
                        network_id=network.id, account_id=accounts[DEMO_ACCOUNTS[1][0]].id, role="facilitator"
                    ),
                    NetworkMember(network_id=network.id, account_id=accounts[DEMO_ACCOUNTS[2][0]].id, role="member"),
                ]
            )
            created += 1
    await session.flush()
    progress("demo networks ready")
    return f"Demo data loaded ({created} new records; {len(DEMO_NETWORKS)} networks, {len(DEMO_ACCOUNTS)} accounts)."
