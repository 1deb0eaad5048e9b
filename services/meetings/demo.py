"""ESD 112 in the demo data: LEADER groups that meet monthly under an umbrella space.

The network-wide template "LEADER groups meet monthly" binds leaf spaces only (template
targeting), so the "LEADER" umbrella, which only holds the groups, is not reported as
non-compliant; each group has one recurring meeting (the second Tuesday of every month, 4 pm
Pacific) made once through the series use case. Idempotent, like the rest of the demo.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import DEFAULT_START_MONTH, program_year
from federation.networks import Role
from federation.permissions import Actor
from services.accounts.repository import get_by_email
from services.auth.guards import load_actor
from services.auth.principal import Principal
from services.meetings import series
from services.meetings.schemas import SeriesCreate
from services.networks.schemas import MemberRoleSet
from services.networks.service import set_member_role
from services.persistence.models import Account, MeetingSeries, Network, PolicyTemplate, Space
from services.policies import service as policies
from services.policies.schemas import TemplateCreate
from services.spaces import service as spaces
from services.spaces.schemas import SpaceCreate
from services.targeting import service as targeting
from services.targeting.schemas import TargetSet

SLUG = "esd112"
ZONE = "America/Los_Angeles"
TEMPLATE = "LEADER groups meet monthly"
CONSTRAINTS = {"meetings.virtual_per_year": {"min": 9}, "meetings.cadence": {"allowed": ["monthly"]}}
SETTINGS: dict[str, object] = {
    "meetings.virtual_per_year": 9,
    "meetings.cadence": "monthly",
    "facilitators.min_count": 2,
}
PEOPLE = [("rosa@demo.affinity.test", "Rosa Coordinator"), ("malik@demo.affinity.test", "Malik Coordinator")]
UMBRELLA = "LEADER"
GROUPS = ["LEADER — Black educators", "LEADER — Latinx educators", "LEADER — Asian American educators"]


async def _actor(session: AsyncSession, account: Account) -> Actor:
    return await load_actor(session, Principal(account_id=account.id, is_operator=account.is_operator))


async def load_esd112(session: AsyncSession, admin: Account, today: dt.date | None = None) -> int:
    """ESD 112's LEADER umbrella, groups, targeted template and monthly series; returns how many
    records were new. The network itself comes from the demo's network list."""
    network = await session.scalar(select(Network).where(Network.slug == SLUG))
    if network is None:
        return 0
    created = 0
    if network.time_zone == "UTC":
        network.time_zone = ZONE
    actor = await _actor(session, admin)
    people: list[Account] = []
    for email, name in PEOPLE:
        account = await get_by_email(session, email)
        if account is None:
            account = Account(id=uuid.uuid4(), email=email, display_name=name, email_verified=True)
            session.add(account)
            await session.flush()
            await set_member_role(session, actor, SLUG, account.id, MemberRoleSet(role=Role("member")))
            created += 1
        people.append(account)
    template_id = await session.scalar(
        select(PolicyTemplate.id).where(PolicyTemplate.network_id == network.id, PolicyTemplate.name == TEMPLATE)
    )
    if template_id is None:
        template = await policies.create_template(
            session,
            actor,
            SLUG,
            TemplateCreate(
                name=TEMPLATE,
                constraints=CONSTRAINTS,
                description="LEADER groups meet every month of the program year (at least nine virtual circles).",
            ),
        )
        await policies.attach_to_network(session, actor, SLUG, template.id, choice=None, dry_run=False)
        # Only the groups meet; the umbrella that holds them is not measured.
        await targeting.set_target(session, actor, SLUG, template.id, TargetSet(leaf_only=True))
        created += 2
    umbrella_id = await session.scalar(
        select(Space.id).where(Space.network_id == network.id, Space.name == UMBRELLA, Space.parent_id.is_(None))
    )
    if umbrella_id is None:
        out = await spaces.create_space(
            session,
            actor,
            SLUG,
            SpaceCreate(
                name=UMBRELLA,
                kind="cohort",
                join_mode="invite",
                settings={"facilitators.min_count": 2},
                facilitators=[p.id for p in people],
                description="ESD 112's LEADER program: the groups below meet monthly.",
            ),
        )
        umbrella_id = out.id
        created += 1
    year = program_year(today or dt.datetime.now(dt.UTC).date(), DEFAULT_START_MONTH)
    for name in GROUPS:
        group_id = await session.scalar(
            select(Space.id).where(Space.network_id == network.id, Space.name == name, Space.parent_id == umbrella_id)
        )
        if group_id is None:
            out = await spaces.create_space(
                session,
                actor,
                SLUG,
                SpaceCreate(
                    name=name,
                    kind="identity",
                    parent_id=umbrella_id,
                    join_mode="request",
                    settings=dict(SETTINGS),
                    facilitators=[p.id for p in people],
                ),
            )
            group_id = out.id
            created += 1
        title = f"LEADER circle {year.label}"
        exists = await session.scalar(
            select(MeetingSeries.id).where(MeetingSeries.space_id == group_id, MeetingSeries.title == title)
        )
        if exists is None:
            # Monthly on the second Tuesday, 4 pm Pacific, for every month of the program year.
            first = dt.datetime(year.start.year, year.start.month, 1, 16)
            await series.create(
                session,
                actor,
                group_id,
                SeriesCreate(
                    kind="virtual",
                    title=title,
                    starts_at=first,
                    time_zone=ZONE,
                    rule="FREQ=MONTHLY;BYDAY=2TU;COUNT=12",
                    duration_minutes=60,
                    join_url="https://meet.example.org/leader",
                ),
            )
            created += 1
    return created
