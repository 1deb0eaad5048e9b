"""The demo data set: a few networks like the ones that asked for this service (idempotent)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import DEFAULT_START_MONTH, program_year
from federation.networks import Role
from federation.permissions import Actor
from services.accounts.passwords import hash_password
from services.accounts.repository import get_by_email
from services.auth.guards import load_actor
from services.auth.principal import Principal
from services.meetings import service as meetings
from services.meetings.demo import load_esd112
from services.meetings.schemas import MeetingCreate
from services.networks.schemas import MemberRoleSet
from services.networks.service import set_member_role
from services.persistence.models import Account, Meeting, Network, NetworkMember, PolicyTemplate, Space
from services.policies import service as policies
from services.policies.schemas import TemplateCreate
from services.spaces import membership
from services.spaces import service as spaces
from services.spaces.schemas import JoinBody, SpaceCreate

DEMO_NETWORKS = [
    ("alas", "Association of Latino Administrators & Superintendents", "association"),
    ("bpn", "Black Principals Network", "association"),
    ("psesd", "Puget Sound Educational Service District", "esd"),
    ("kent-sd", "Kent School District", "district"),
    ("westwood-sd", "Westwood School District", "district"),
    ("esd112", "ESD 112", "esd"),
]
DEMO_DOMAIN = "demo.affinity.test"
DEMO_PASSWORD = "affinity-demo-password"  # noqa: S105 - documented demo credential, refused in production
"""Every demo account's password (demo data only; `affinity demo load` refuses to run in production)."""
DEMO_ACCOUNTS = [
    ("admin@demo.affinity.test", "Dana Admin", True),
    ("maria@demo.affinity.test", "María Facilitator", False),
    ("james@demo.affinity.test", "James Member", False),
]
# More people of the ALAS and Kent communities, so every space has two facilitators of its own.
DEMO_PEOPLE = [
    ("lucia@demo.affinity.test", "Lucía Superintendent", ["alas"]),
    ("carlos@demo.affinity.test", "Carlos Principal", ["alas"]),
    ("ana@demo.affinity.test", "Ana New Principal", ["alas"]),
    ("keisha@demo.affinity.test", "Keisha Teacher Leader", ["kent-sd"]),
    ("tom@demo.affinity.test", "Tom Teacher Leader", ["kent-sd"]),
]
ALAS_BASIC = {
    "meetings.virtual_per_year": {"min": 3},
    "meetings.in_person_per_year": {"min": 1},
    "facilitators.min_count": {"min": 2},
    "sessions.required_components": {"required": ["quote", "story", "reflection"]},
}
ALAS_SETTINGS: dict[str, object] = {
    "meetings.virtual_per_year": 3,
    "meetings.in_person_per_year": 1,
    "facilitators.min_count": 2,
    "sessions.required_components": ["quote", "story", "reflection"],
}
# (network, name, kind, parent name, join mode, facilitators by e-mail prefix, members who join)
DEMO_SPACES: list[tuple[str, str, str, str | None, str, tuple[str, ...], tuple[str, ...]]] = [
    ("alas", "Latina Superintendents", "identity", None, "request", ("lucia", "maria"), ()),
    (
        "alas",
        "Latina Superintendents — new to the role",
        "identity",
        "Latina Superintendents",
        "parent_members",
        ("lucia", "maria"),
        (),
    ),
    ("alas", "Latino Principals", "identity", None, "open", ("carlos", "maria"), ("james", "ana")),
    ("alas", "Latina Principals", "identity", "Latino Principals", "parent_members", ("maria", "ana"), ()),
    ("alas", "Latino Principals — men", "identity", "Latino Principals", "parent_members", ("carlos", "james"), ()),
    ("alas", "New Principals", "role", None, "open", ("carlos", "ana"), ("james",)),
    ("alas", "Yearly Book Study", "topic", None, "open", ("lucia", "carlos"), ("ana", "james")),
    ("kent-sd", "Racial Equity Initiative", "cohort", None, "invite", ("keisha", "tom"), ()),
    ("kent-sd", "BIPOC Educators", "identity", "Racial Equity Initiative", "request", ("keisha", "maria"), ()),
    ("kent-sd", "White-bodied Educators", "identity", "Racial Equity Initiative", "request", ("tom", "james"), ()),
]
# The ALAS schedule for the current program year: (kind, title, months after the year starts,
# day). Every ALAS space gets it, except that "Yearly Book Study" has not planned its in-person
# gathering yet, so the compliance report shows it short of one.
DEMO_MEETINGS: list[tuple[str, str, int, int]] = [
    ("virtual", "Fall circle", 1, 16),
    ("in_person", "In-person gathering", 3, 6),
    ("virtual", "Winter circle", 5, 14),
    ("virtual", "Spring circle", 8, 15),
]
DEMO_NO_IN_PERSON = "Yearly Book Study"
DEMO_COMPONENTS = ["quote", "story", "reflection"]
_PACIFIC = dt.timezone(dt.timedelta(hours=-8), "PST")


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
    created += await _load_spaces(session, accounts[DEMO_ACCOUNTS[0][0]])
    progress("demo spaces ready")
    created += await _load_meetings(session, accounts[DEMO_ACCOUNTS[0][0]])
    progress("demo meetings ready")
    created += await load_esd112(session, accounts[DEMO_ACCOUNTS[0][0]])
    progress("ESD 112's LEADER groups ready")
    await _demo_passwords(session)
    return (
        f"Demo data loaded ({created} new records; {len(DEMO_NETWORKS)} networks, "
        f"{len(DEMO_ACCOUNTS) + len(DEMO_PEOPLE)} accounts, {len(DEMO_SPACES)} spaces). "
        f"Sign in as {DEMO_ACCOUNTS[0][0]} (admin), {DEMO_ACCOUNTS[1][0]} (facilitator) or "
        f"{DEMO_ACCOUNTS[2][0]} (member) with the password '{DEMO_PASSWORD}'."
    )


async def _demo_passwords(session: AsyncSession) -> None:
    """Give demo accounts that have none the documented demo password, so the web UI can be tried.

    Only accounts of the demo's own domain are touched, and only when they have no password,
    so loading twice changes nothing and a real account is never affected.
    """
    rows = await session.scalars(
        select(Account).where(Account.email.like(f"%@{DEMO_DOMAIN}"), Account.password_hash.is_(None))
    )
    for account in rows:
        account.password_hash = hash_password(DEMO_PASSWORD)
    await session.flush()


async def _actor(session: AsyncSession, account: Account) -> Actor:
    return await load_actor(session, Principal(account_id=account.id, is_operator=account.is_operator))


async def _load_spaces(session: AsyncSession, admin: Account) -> int:
    """ALAS's basic structure, its identity, role and topic spaces, and Kent's parallel groups,
    made through the areas' own use cases so the demo obeys the policy it shows off."""
    created = 0
    people: dict[str, Account] = {}
    for email, _name, _operator in DEMO_ACCOUNTS:
        account = await get_by_email(session, email)
        assert account is not None
        people[email.split("@")[0]] = account
    for email, name, networks in DEMO_PEOPLE:
        account = await get_by_email(session, email)
        if account is None:
            account = Account(id=uuid.uuid4(), email=email, display_name=name, email_verified=True)
            session.add(account)
            await session.flush()
            created += 1
        people[email.split("@")[0]] = account
        for slug in networks:
            network_id = await session.scalar(select(Network.id).where(Network.slug == slug))
            present = await session.scalar(
                select(NetworkMember.role).where(
                    NetworkMember.network_id == network_id, NetworkMember.account_id == account.id
                )
            )
            if present is None:
                await set_member_role(
                    session, await _actor(session, admin), slug, account.id, MemberRoleSet(role=Role("member"))
                )
                created += 1
    actor = await _actor(session, admin)
    alas_id = await session.scalar(select(Network.id).where(Network.slug == "alas"))
    template_id = await session.scalar(
        select(PolicyTemplate.id).where(
            PolicyTemplate.network_id == alas_id, PolicyTemplate.name == "ALAS basic structure"
        )
    )
    if template_id is None:
        template = await policies.create_template(
            session,
            actor,
            "alas",
            TemplateCreate(
                name="ALAS basic structure",
                constraints=ALAS_BASIC,
                description="Every affinity space meets 3 times a year virtually and once in person, has two "
                "facilitators from its own community, and every session has a shared quote, a leadership story "
                "and reflection time.",
            ),
        )
        await policies.attach_to_network(session, actor, "alas", template.id, choice=None, dry_run=False)
        created += 2
    for slug, name, kind, parent_name, join_mode, facilitators, joiners in DEMO_SPACES:
        network_id = await session.scalar(select(Network.id).where(Network.slug == slug))
        parent_id = None
        if parent_name is not None:
            parent_id = await session.scalar(
                select(Space.id).where(Space.network_id == network_id, Space.name == parent_name)
            )
        existing = await session.scalar(
            select(Space.id).where(
                Space.network_id == network_id,
                Space.name == name,
                Space.parent_id.is_(None) if parent_id is None else Space.parent_id == parent_id,
            )
        )
        if existing is not None:
            continue
        out = await spaces.create_space(
            session,
            actor,
            slug,
            SpaceCreate(
                name=name,
                kind=kind,  # type: ignore[arg-type]
                parent_id=parent_id,
                join_mode=join_mode,  # type: ignore[arg-type]
                settings=dict(ALAS_SETTINGS) if slug == "alas" else {"facilitators.min_count": 2},
                facilitators=[people[f].id for f in facilitators],
            ),
        )
        created += 1
        for who in joiners:
            await membership.join(session, await _actor(session, people[who]), out.id, JoinBody())
            created += 1
    return created


async def _load_meetings(session: AsyncSession, admin: Account, today: dt.date | None = None) -> int:
    """The ALAS spaces' schedule for the program year containing ``today`` (through the meetings
    use case, so agendas obey the required components). A meeting is identified by its space and
    title, which carries the year's label: loading twice adds nothing, a new year adds its own."""
    year = program_year(today or dt.datetime.now(dt.UTC).date(), DEFAULT_START_MONTH)
    actor = await _actor(session, admin)
    alas_id = await session.scalar(select(Network.id).where(Network.slug == "alas"))
    rows = (await session.execute(select(Space.id, Space.name).where(Space.network_id == alas_id))).all()
    titles = await session.execute(
        select(Meeting.space_id, Meeting.title).where(Meeting.space_id.in_([r.id for r in rows]))
    )
    existing = {(space_id, title) for space_id, title in titles}
    created = 0
    for space_id, space_name in rows:
        for kind, title, months, day in DEMO_MEETINGS:
            if kind == "in_person" and space_name == DEMO_NO_IN_PERSON:
                continue
            full_title = f"{title} {year.label}"
            if (space_id, full_title) in existing:
                continue
            month0 = year.start.month - 1 + months
            starts = dt.datetime(year.start.year + month0 // 12, month0 % 12 + 1, day, 17, 30, tzinfo=_PACIFIC)
            await meetings.schedule(
                session,
                actor,
                space_id,
                MeetingCreate(
                    kind=kind,  # type: ignore[arg-type]
                    title=full_title,
                    starts_at=starts,
                    duration_minutes=90 if kind == "virtual" else 240,
                    components=DEMO_COMPONENTS,
                    location="ALAS regional office" if kind == "in_person" else None,
                    join_url="https://meet.example.org/alas-circle" if kind == "virtual" else None,
                ),
            )
            created += 1
    return created
