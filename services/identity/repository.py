"""SQL of the identity area: domain claims, sign-in counters, providers, OIDC clients, codes, tokens.

Use cases (``service.py``, ``provider.py``, ``broker.py``, ``local.py``) call these; controllers
never touch the database. Functions flush when a later statement in the same request needs the
row; nothing here commits, except :func:`reserve_login_attempt` and
:func:`release_login_attempt`, which must be seen by concurrent requests at once and so run in
their own short transactions on a separate connection.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.persistence.models import Account, Network, NetworkMember
from services.persistence.models.identity import (
    AuthorizationCode,
    Consent,
    EmailDomainClaim,
    LinkedIdentity,
    LoginThrottle,
    OidcClient,
    OidcToken,
    PendingLogin,
    UpstreamProvider,
    WebSession,
)

# --- e-mail domain claims ---------------------------------------------------------------------


async def claims_of_network(session: AsyncSession, network_id: uuid.UUID) -> list[EmailDomainClaim]:
    """The network's domain claims, by domain."""
    rows = await session.scalars(
        select(EmailDomainClaim).where(EmailDomainClaim.network_id == network_id).order_by(EmailDomainClaim.domain)
    )
    return list(rows)


async def claims_with_network(
    session: AsyncSession, status: str | None, *, limit: int = 500
) -> list[tuple[EmailDomainClaim, str]]:
    """Every network's claims (optionally of one status), oldest request first, with the network's slug."""
    query = select(EmailDomainClaim, Network.slug).join(Network, Network.id == EmailDomainClaim.network_id)
    if status is not None:
        query = query.where(EmailDomainClaim.status == status)
    rows = await session.execute(query.order_by(EmailDomainClaim.requested_at, EmailDomainClaim.domain).limit(limit))
    return [(claim, slug) for claim, slug in rows]


async def claim_for_update(session: AsyncSession, claim_id: uuid.UUID) -> tuple[EmailDomainClaim, str] | None:
    """A claim and its network's slug, locked for the decision."""
    row = (
        await session.execute(
            select(EmailDomainClaim, Network.slug)
            .join(Network, Network.id == EmailDomainClaim.network_id)
            .where(EmailDomainClaim.id == claim_id)
            .with_for_update(of=EmailDomainClaim)
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def networks_approved_for(session: AsyncSession, domain: str) -> list[uuid.UUID]:
    """Networks whose claim to ``domain`` is approved (at most one, by the unique index)."""
    rows = await session.scalars(
        select(EmailDomainClaim.network_id).where(
            EmailDomainClaim.domain == domain, EmailDomainClaim.status == "approved"
        )
    )
    return list(rows)


async def domain_approved_for(session: AsyncSession, network_id: uuid.UUID, domain: str) -> bool:
    """Whether ``domain`` is approved for ``network_id``."""
    found = await session.scalar(
        select(EmailDomainClaim.id).where(
            EmailDomainClaim.network_id == network_id,
            EmailDomainClaim.domain == domain,
            EmailDomainClaim.status == "approved",
        )
    )
    return found is not None


def add_claim(session: AsyncSession, network_id: uuid.UUID, domain: str, requested_by: uuid.UUID) -> EmailDomainClaim:
    """A new pending claim (flushed with the next statement)."""
    claim = EmailDomainClaim(
        id=uuid.uuid4(), network_id=network_id, domain=domain, status="pending", requested_by=requested_by
    )
    session.add(claim)
    return claim


async def delete_claim(session: AsyncSession, claim: EmailDomainClaim) -> None:
    """Withdraw a claim: e-mail linking through it stops at once."""
    await session.delete(claim)


# --- accounts, as the linking rules see them --------------------------------------------------


async def account_by_email(session: AsyncSession, email: str) -> Account | None:
    """The account with this e-mail address (case-insensitive), or None."""
    found: Account | None = await session.scalar(
        select(Account).where(func.lower(Account.email) == email.strip().lower())
    )
    return found


async def network_ids_of(session: AsyncSession, account_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """Networks in which the account holds any role."""
    rows = await session.scalars(select(NetworkMember.network_id).where(NetworkMember.account_id == account_id))
    return frozenset(rows)


async def role_in(session: AsyncSession, network_id: uuid.UUID, account_id: uuid.UUID) -> str | None:
    """The account's role in the network, or None."""
    role: str | None = await session.scalar(
        select(NetworkMember.role).where(NetworkMember.network_id == network_id, NetworkMember.account_id == account_id)
    )
    return role


async def add_member(session: AsyncSession, network_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Make the account a plain member of the network."""
    session.add(NetworkMember(network_id=network_id, account_id=account_id, role="member"))
    await session.flush()


async def linked_identity(session: AsyncSession, issuer: str, subject: str) -> LinkedIdentity | None:
    """The link for an upstream ``(issuer, subject)``, or None."""
    found: LinkedIdentity | None = await session.scalar(
        select(LinkedIdentity).where(LinkedIdentity.issuer == issuer, LinkedIdentity.subject == subject)
    )
    return found


async def identities_of(session: AsyncSession, account_id: uuid.UUID) -> Sequence[LinkedIdentity]:
    """The account's linked identities, oldest first."""
    rows = await session.scalars(
        select(LinkedIdentity).where(LinkedIdentity.account_id == account_id).order_by(LinkedIdentity.created_at)
    )
    return rows.all()


# --- local sign-in counters -------------------------------------------------------------------


def _engine_of(session: AsyncSession) -> AsyncEngine:
    bind = session.bind
    if not isinstance(bind, AsyncEngine):  # pragma: no cover - the app's sessions are bound to its engine
        raise TypeError("sign-in counters need a session bound to an engine")
    return bind


async def reserve_login_attempt(
    session: AsyncSession, limits: dict[str, int], *, window: dt.timedelta, now: dt.datetime
) -> bool:
    """Count one password check against every key in ``limits``, unless a key is at its limit.

    Runs in its own transaction, committed before the password is checked, so concurrent
    sign-ins see each other's attempts: the conditional upsert takes the row lock and adds one
    only while the key is under its limit (or its window has passed). When any key refuses,
    nothing is counted. Keys are taken in sorted order, so two requests cannot deadlock.
    """
    cutoff = now - window
    async with _engine_of(session).begin() as conn:
        for key in sorted(limits):
            stale = LoginThrottle.window_start <= cutoff
            stmt = (
                insert(LoginThrottle)
                .values(key=key, failures=1, window_start=now)
                .on_conflict_do_update(
                    index_elements=[LoginThrottle.key],
                    set_={
                        "failures": case((stale, 1), else_=LoginThrottle.failures + 1),
                        "window_start": case((stale, now), else_=LoginThrottle.window_start),
                    },
                    where=or_(stale, LoginThrottle.failures < limits[key]),
                )
                .returning(LoginThrottle.key)
            )
            if (await conn.execute(stmt)).first() is None:
                await conn.rollback()
                return False
    return True


async def release_login_attempt(session: AsyncSession, *, forget: str, release: Sequence[str]) -> None:
    """After a correct password: forget ``forget``'s count, give back one attempt of each of ``release``."""
    async with _engine_of(session).begin() as conn:
        await conn.execute(delete(LoginThrottle).where(LoginThrottle.key == forget))
        await conn.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key.in_(release), LoginThrottle.failures > 0)
            .values(failures=LoginThrottle.failures - 1)
        )


# --- upstream providers -----------------------------------------------------------------------


async def provider_of_network(session: AsyncSession, network_id: uuid.UUID) -> UpstreamProvider | None:
    """The network's upstream provider, or None."""
    found: UpstreamProvider | None = await session.scalar(
        select(UpstreamProvider).where(UpstreamProvider.network_id == network_id)
    )
    return found


async def provider_choices(session: AsyncSession) -> list[tuple[str, str]]:
    """(slug, name) of every network with a provider, by name: the sign-in page's buttons."""
    rows = await session.execute(
        select(Network.slug, Network.name)
        .join(UpstreamProvider, UpstreamProvider.network_id == Network.id)
        .order_by(Network.name)
    )
    return [(slug, name) for slug, name in rows]


async def network_name(session: AsyncSession, network_id: uuid.UUID) -> str:
    """A network's display name ('' if it is gone)."""
    name: str | None = await session.scalar(select(Network.name).where(Network.id == network_id))
    return name or ""


# --- our provider: clients, consents, codes, tokens -------------------------------------------


async def active_client(session: AsyncSession, client_id: str) -> OidcClient | None:
    """A registered, not revoked client."""
    found: OidcClient | None = await session.scalar(
        select(OidcClient).where(OidcClient.client_id == client_id, OidcClient.revoked_at.is_(None))
    )
    return found


async def consented_scopes(session: AsyncSession, account_id: uuid.UUID, client_pk: uuid.UUID) -> list[str] | None:
    """Scopes the member already allowed this client, or None."""
    scopes: list[str] | None = await session.scalar(
        select(Consent.scopes).where(Consent.account_id == account_id, Consent.client_pk == client_pk)
    )
    return scopes


async def merge_consent(session: AsyncSession, account_id: uuid.UUID, client_pk: uuid.UUID, scopes: set[str]) -> None:
    """Remember the member allowed ``scopes`` (added to what they allowed before)."""
    row = await session.get(Consent, (account_id, client_pk))
    if row is None:
        session.add(Consent(account_id=account_id, client_pk=client_pk, scopes=sorted(scopes)))
    else:
        row.scopes = sorted(set(row.scopes) | scopes)
    await session.flush()


async def add_and_flush(session: AsyncSession, *rows: object) -> None:
    """Insert new rows now (their ids are needed by the next statement)."""
    session.add_all(rows)
    await session.flush()


async def code_by_hash(session: AsyncSession, code_hash: bytes) -> AuthorizationCode | None:
    """An authorization code by its hash."""
    found: AuthorizationCode | None = await session.scalar(
        select(AuthorizationCode).where(AuthorizationCode.code_hash == code_hash)
    )
    return found


async def consume_code(session: AsyncSession, code_id: uuid.UUID, now: dt.datetime) -> bool:
    """Mark a code used, atomically: False when it already was (a second use)."""
    consumed = await session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code_id, AuthorizationCode.used_at.is_(None))
        .values(used_at=now)
        .returning(AuthorizationCode.id)
    )
    return consumed.first() is not None


async def revoke_tokens_of_code(session: AsyncSession, code_id: uuid.UUID, now: dt.datetime) -> None:
    """Revoke every token a code issued, and every token rotated from them."""
    families = select(OidcToken.family_id).where(OidcToken.code_id == code_id).scalar_subquery()
    await session.execute(
        update(OidcToken)
        .where(or_(OidcToken.code_id == code_id, OidcToken.family_id.in_(families)), OidcToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def web_session(session: AsyncSession, session_id: uuid.UUID) -> WebSession | None:
    """A web session by id."""
    return await session.get(WebSession, session_id)


async def account(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    """An account by id."""
    return await session.get(Account, account_id)


async def refresh_token_by_hash(session: AsyncSession, token_hash: bytes) -> OidcToken | None:
    """A refresh token by its hash."""
    found: OidcToken | None = await session.scalar(
        select(OidcToken).where(OidcToken.token_hash == token_hash, OidcToken.kind == "refresh")
    )
    return found


async def token_by_hash(session: AsyncSession, token_hash: bytes) -> OidcToken | None:
    """An access or refresh token by its hash."""
    found: OidcToken | None = await session.scalar(select(OidcToken).where(OidcToken.token_hash == token_hash))
    return found


async def consume_refresh_token(session: AsyncSession, token_id: uuid.UUID, now: dt.datetime) -> bool:
    """Mark a refresh token used, atomically: False when it already was (reuse)."""
    consumed = await session.execute(
        update(OidcToken)
        .where(OidcToken.id == token_id, OidcToken.used_at.is_(None))
        .values(used_at=now)
        .returning(OidcToken.id)
    )
    return consumed.first() is not None


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: dt.datetime) -> None:
    """Revoke every token of a refresh-token family."""
    await session.execute(
        update(OidcToken).where(OidcToken.family_id == family_id, OidcToken.revoked_at.is_(None)).values(revoked_at=now)
    )


async def revoke_access_tokens_of_family(session: AsyncSession, family_id: uuid.UUID, now: dt.datetime) -> None:
    """Retire the access tokens of a rotated pair."""
    await session.execute(
        update(OidcToken)
        .where(OidcToken.family_id == family_id, OidcToken.kind == "access", OidcToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_token(session: AsyncSession, token_id: uuid.UUID, now: dt.datetime) -> None:
    """Revoke one token."""
    await session.execute(update(OidcToken).where(OidcToken.id == token_id).values(revoked_at=now))


async def access_token_with_owner(
    session: AsyncSession, token_hash: bytes
) -> tuple[OidcToken, Account, OidcClient] | None:
    """An access token by hash, with its account and client (one query)."""
    row = (
        await session.execute(
            select(OidcToken, Account, OidcClient)
            .join(Account, Account.id == OidcToken.account_id)
            .join(OidcClient, OidcClient.id == OidcToken.client_pk)
            .where(OidcToken.token_hash == token_hash, OidcToken.kind == "access")
        )
    ).one_or_none()
    return (row[0], row[1], row[2]) if row is not None else None


# --- upstream sign-in in progress -------------------------------------------------------------


async def network_with_provider(session: AsyncSession, slug: str) -> tuple[Network, UpstreamProvider] | None:
    """The network with this slug and its upstream provider, or None if either is missing."""
    row = (
        await session.execute(
            select(Network, UpstreamProvider)
            .join(UpstreamProvider, UpstreamProvider.network_id == Network.id)
            .where(Network.slug == slug)
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def pending_login(session: AsyncSession, state_hash: bytes) -> PendingLogin | None:
    """A pending upstream sign-in by the hash of its state."""
    found: PendingLogin | None = await session.scalar(select(PendingLogin).where(PendingLogin.state_hash == state_hash))
    return found


async def consume_pending_login(session: AsyncSession, state_hash: bytes, now: dt.datetime) -> uuid.UUID | None:
    """Mark the pending sign-in with this state used, atomically; its id, or None if it already was."""
    consumed = await session.execute(
        update(PendingLogin)
        .where(PendingLogin.state_hash == state_hash, PendingLogin.used_at.is_(None))
        .values(used_at=now)
        .returning(PendingLogin.id)
    )
    return consumed.scalar_one_or_none()


async def delete_pending_logins_of(session: AsyncSession, network_id: uuid.UUID) -> None:
    """Forget every sign-in in flight through the network's provider."""
    await session.execute(delete(PendingLogin).where(PendingLogin.network_id == network_id))


# --- web sessions -------------------------------------------------------------------------------


async def session_with_account(session: AsyncSession, token_hash: bytes) -> tuple[WebSession, Account] | None:
    """A web session by the hash of its cookie, with its account."""
    row = (
        await session.execute(
            select(WebSession, Account)
            .join(Account, Account.id == WebSession.account_id)
            .where(WebSession.token_hash == token_hash)
        )
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def touch_session(session: AsyncSession, session_id: uuid.UUID, now: dt.datetime) -> None:
    """Record that the session was used."""
    await session.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now))


async def renew_session(session: AsyncSession, session_id: uuid.UUID, token_hash: bytes, now: dt.datetime) -> None:
    """The member signed in again: new cookie value, ``authenticated_at`` moved forward."""
    await session.execute(
        update(WebSession)
        .where(WebSession.id == session_id)
        .values(token_hash=token_hash, authenticated_at=now, last_seen_at=now)
    )


async def revoke_session(session: AsyncSession, session_id: uuid.UUID, now: dt.datetime) -> None:
    """End a web session and revoke every token our provider issued under it."""
    await session.execute(
        update(WebSession).where(WebSession.id == session_id, WebSession.revoked_at.is_(None)).values(revoked_at=now)
    )
    await session.execute(
        update(OidcToken)
        .where(OidcToken.session_id == session_id, OidcToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


# --- the API's records: clients, linked identities ------------------------------------------------


async def clients_of_network(session: AsyncSession, network_id: uuid.UUID) -> list[OidcClient]:
    """The network's registered clients, revoked ones included, newest first."""
    rows = await session.scalars(
        select(OidcClient).where(OidcClient.network_id == network_id).order_by(OidcClient.created_at.desc())
    )
    return list(rows)


async def client_of_network(session: AsyncSession, network_id: uuid.UUID, client_id: str) -> OidcClient | None:
    """One of the network's clients by its client_id (revoked or not)."""
    found: OidcClient | None = await session.scalar(
        select(OidcClient).where(OidcClient.network_id == network_id, OidcClient.client_id == client_id)
    )
    return found


async def revoke_tokens_of_client(session: AsyncSession, client_pk: uuid.UUID, now: dt.datetime) -> None:
    """Every token the client holds stops working."""
    await session.execute(
        update(OidcToken).where(OidcToken.client_pk == client_pk, OidcToken.revoked_at.is_(None)).values(revoked_at=now)
    )


async def identities_with_network(
    session: AsyncSession, account_id: uuid.UUID
) -> list[tuple[LinkedIdentity, str | None]]:
    """The account's linked identities with the slug of the network each came through (one query)."""
    rows = await session.execute(
        select(LinkedIdentity, Network.slug)
        .outerjoin(Network, Network.id == LinkedIdentity.network_id)
        .where(LinkedIdentity.account_id == account_id)
        .order_by(LinkedIdentity.created_at)
    )
    return [(identity, slug) for identity, slug in rows]


async def has_password(session: AsyncSession, account_id: uuid.UUID) -> bool:
    """Whether the account can sign in with a password."""
    return bool(await session.scalar(select(Account.password_hash.is_not(None)).where(Account.id == account_id)))


async def account_for_update(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    """The account, locked until the end of the transaction."""
    found: Account | None = await session.scalar(select(Account).where(Account.id == account_id).with_for_update())
    return found


async def identity_of(session: AsyncSession, account_id: uuid.UUID, identity_id: uuid.UUID) -> LinkedIdentity | None:
    """One of the account's linked identities."""
    found: LinkedIdentity | None = await session.scalar(
        select(LinkedIdentity).where(LinkedIdentity.id == identity_id, LinkedIdentity.account_id == account_id)
    )
    return found


async def count_other_identities(session: AsyncSession, account_id: uuid.UUID, identity_id: uuid.UUID) -> int:
    """How many identities the account has besides ``identity_id``."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(LinkedIdentity)
            .where(LinkedIdentity.account_id == account_id, LinkedIdentity.id != identity_id)
        )
        or 0
    )


async def delete_row(session: AsyncSession, row: object) -> None:
    """Delete one loaded row now."""
    await session.delete(row)
    await session.flush()
