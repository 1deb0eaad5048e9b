"""HTTP handlers of the identity area: sign-in pages, the broker callback, our OIDC provider, the API.

Pages answer with HTML; every refused sign-in is a plain page that says what went wrong and
what to do, logged for the operator (reason only: no tokens, no stack trace), with no session.
Handlers parse, call one use case and shape the response; every form post passes the one
CSRF/Origin guard (:func:`services.auth.csrf.form_guard`) before it runs.
"""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, delete, get, post, put
from litestar.datastructures import Cookie
from litestar.params import Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.auth.csrf import REFUSAL_OPT, FormRefused, form_guard
from services.auth.principal import Principal
from services.identity import authorize as authorize_use_case
from services.identity import broker, local, pages, provider, service, sessions
from services.identity.errors import SignInRefused, UnreadableInput
from services.identity.keys import published_keys
from services.identity.schemas import (
    ClientCreate,
    ClientCreated,
    ClientList,
    ClientSecretRotated,
    DomainClaimList,
    DomainClaimOut,
    IdentityProviderInfo,
    IdentityProviderOut,
    IdentityProviderSet,
    LinkedIdentityList,
)
from services.persistence.models import Account
from services.persistence.models.identity import WebSession
from services.settings import Settings

log = logging.getLogger("affinity.identity")

SlugParam = Annotated[str, Parameter(description="The network's slug, e.g. 'kent-sd'", max_length=80)]
ClientIdParam = Annotated[str, Parameter(description="The application's client_id ('afc_...')", max_length=80)]
AnyRequest = Request[Any, Any, Any]
_PUBLIC = {"public": True}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _form_post(title: str, message: str) -> dict[str, Any]:
    """Route options of a public handler that takes a browser form: the CSRF/Origin guard, and what
    the page says when the guard refuses the post."""
    return {"guards": [form_guard], "opt": {"public": True, REFUSAL_OPT: (title, message)}}


def _settings(request: AnyRequest) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _refused(request: AnyRequest, exc: SignInRefused, *, cookies: list[Cookie] | None = None) -> Response[str]:
    log.warning("sign-in refused path=%s status=%s reason=%s", request.url.path, exc.status, exc.reason)
    return pages.message(exc.title, exc.message, status=exc.status, problem=True, cookies=cookies)


def form_refused(request: AnyRequest, exc: FormRefused) -> Response[str]:
    """The page for a form post that failed the CSRF/Origin guard (nothing was done)."""
    log.warning("form refused path=%s: CSRF or Origin check failed", exc.path)
    return pages.message(exc.title, exc.message, status=403, problem=True)


def _readable(values: dict[str, str]) -> dict[str, str]:
    """Every form and query value passes here: one with a NUL (which no field may hold, and
    PostgreSQL refuses) is refused as a whole, never sent on to a query."""
    for key, value in values.items():
        if "\x00" in key or "\x00" in value:
            raise UnreadableInput(key.replace("\x00", "")[:40])
    return values


async def _form(request: AnyRequest) -> dict[str, str]:
    form = await request.form()
    return _readable({k: v for k, v in form.items() if isinstance(v, str)})


def _query(request: AnyRequest) -> dict[str, str]:
    return _readable({k: v for k, v in request.query_params.items() if isinstance(v, str)})


_JSON_ENDPOINTS = ("/oidc/token", "/oidc/revoke", "/oidc/userinfo")


def unreadable_input(request: AnyRequest, exc: UnreadableInput) -> Response[Any]:
    """400 for a NUL in a parameter: OAuth JSON on the token-style endpoints, a page elsewhere."""
    log.warning("refused path=%s: parameter %r contains a NUL character", request.url.path, exc.name)
    text = f"The parameter '{exc.name}' contains a character that is not allowed (NUL)."
    if request.url.path in _JSON_ENDPOINTS:
        return _oauth_error(provider.OAuthError("invalid_request", text))
    return pages.message("Cannot continue", text + " Go back and try again.", status=400, problem=True)


def _redirect(url: str, *, cookies: list[Cookie] | None = None) -> Redirect:
    return Redirect(url, status_code=303, headers={**pages.PAGE_HEADERS}, cookies=cookies or [])


async def _current(db_session: AsyncSession, request: AnyRequest) -> tuple[WebSession, Account] | None:
    return await sessions.find_session(db_session, request.cookies.get(sessions.SESSION_COOKIE))


def _session_csrf(request: AnyRequest) -> str:
    return sessions.csrf_token(_settings(request), request.cookies.get(sessions.SESSION_COOKIE, ""))


def _csrf_cookie(settings: Settings, value: str) -> Cookie:
    return Cookie(
        key=sessions.CSRF_COOKIE,
        value=value,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        max_age=3600 * 8,
    )


def client_address(request: AnyRequest) -> str:
    """The client's address as the server saw it: the peer, or what a *configured* proxy forwarded.

    The ASGI server rewrites the client from ``X-Forwarded-For`` only when the peer is listed in
    ``AFFINITY_TRUSTED_PROXIES`` (see ``services.cli``); nothing here reads forwarded headers.
    """
    return request.client.host if request.client else "unknown"


async def _login_page(
    request: AnyRequest,
    db_session: AsyncSession,
    *,
    next_url: str,
    problem: str | None = None,
    notice: str | None = None,
    email: str = "",
    status: int = 200,
) -> Response[str]:
    settings = _settings(request)
    binding = request.cookies.get(sessions.CSRF_COOKIE) or sessions.new_csrf_binding()
    return pages.render(
        "login.html",
        status=status,
        cookies=[_csrf_cookie(settings, binding)],
        title="Sign in",
        providers=await service.sign_in_choices(db_session),
        csrf=sessions.csrf_token(settings, binding),
        next=next_url,
        problem=problem,
        notice=notice,
        email=email,
    )


async def _signed_in(
    request: AnyRequest, db_session: AsyncSession, account_id: uuid.UUID, method: str, next_url: str
) -> Redirect:
    current = await _current(db_session, request)
    token = await sessions.begin_after_sign_in(db_session, _settings(request), current, account_id, method)
    again = current is not None and current[1].id == account_id
    log.info("signed in%s account=%s method=%s", " again" if again else "", account_id, method)
    return _redirect(next_url, cookies=[sessions.session_cookie(_settings(request), token)])


class SignInController(Controller):
    """Sign-in pages, the upstream broker and web sessions (outside /api/v1)."""

    path = "/auth"
    tags = ["sign-in"]
    include_in_schema = True
    exception_handlers = {FormRefused: form_refused, UnreadableInput: unreadable_input}

    @get("/login", opt=_PUBLIC, summary="Sign-in choices (HTML)", media_type=MediaType.HTML)
    async def login_page(
        self, request: AnyRequest, db_session: AsyncSession, next: str | None = None, again: str | None = None
    ) -> Response[str]:
        notice = "The application asks you to sign in again before it continues." if again else None
        return await _login_page(request, db_session, next_url=broker.safe_next(next), notice=notice)

    @post(
        "/login",
        **_form_post(
            "Form expired",
            "This sign-in form has expired or did not come from this site. Reload the sign-in page and try again.",
        ),
        summary="Local sign-in form post",
        status_code=303,
        media_type=MediaType.HTML,
    )
    async def local_login(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        form = await _form(request)
        next_url = broker.safe_next(form.get("next"))
        email, password = form.get("email", "").strip(), form.get("password", "")
        if not email or not password or len(email) > 320 or len(password) > 1024:
            return await _login_page(
                request,
                db_session,
                next_url=next_url,
                email=email[:320],
                status=400,
                problem="Enter your e-mail address and your password.",
            )
        try:
            account = await local.sign_in(db_session, _settings(request), email, password, client_address(request))
        except SignInRefused as exc:
            log.warning("sign-in refused path=%s status=%s reason=%s", request.url.path, exc.status, exc.reason)
            return await _login_page(
                request, db_session, next_url=next_url, email=email, status=exc.status, problem=exc.message
            )
        return await _signed_in(request, db_session, account.id, "local", next_url)

    @get("/login/{slug:str}", opt=_PUBLIC, summary="Start signing in through a network's provider")
    async def start(
        self,
        request: AnyRequest,
        db_session: AsyncSession,
        slug: SlugParam,
        next: str | None = None,
        link: str | None = None,
    ) -> Response[Any]:
        settings = _settings(request)
        browser = request.cookies.get(broker.LOGIN_COOKIE) or sessions.new_csrf_binding()
        link_to = None
        if link:
            current = await _current(db_session, request)
            if current is None:
                return pages.message("Sign in first", "Sign in to your account first, then connect this provider.")
            link_to = current[1].id
        try:
            url = await broker.start_login(
                db_session, settings, slug, browser=browser, next_url=next, link_account_id=link_to
            )
        except SignInRefused as exc:
            return _refused(request, exc)
        cookie = Cookie(
            key=broker.LOGIN_COOKIE,
            value=browser,
            path="/auth",
            httponly=True,
            secure=settings.secure_cookies,
            samesite="lax",
            max_age=int(broker.PENDING_TTL.total_seconds()),
        )
        return Redirect(url, status_code=302, headers={**pages.PAGE_HEADERS}, cookies=[cookie])

    @get("/callback/{slug:str}", opt=_PUBLIC, summary="Return from a network's provider", media_type=MediaType.HTML)
    async def callback(self, request: AnyRequest, db_session: AsyncSession, slug: SlugParam) -> Response[Any]:
        try:
            account, next_url = await broker.finish_login(
                db_session, _settings(request), slug, _query(request), browser=request.cookies.get(broker.LOGIN_COOKIE)
            )
        except SignInRefused as exc:
            return _refused(request, exc)
        return await _signed_in(request, db_session, account.id, f"upstream:{slug}", next_url)

    @post(
        "/logout",
        **_form_post(
            "Could not sign out",
            "This sign-out request did not come from a page of this site. "
            "Use the Sign out button on your account page.",
        ),
        summary="Sign out (ends the session, revokes its tokens)",
        status_code=303,
    )
    async def logout(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        current = await _current(db_session, request)
        if current is not None:
            await sessions.end_session(db_session, current[0].id)
            log.info("signed out account=%s", current[1].id)
        settings = _settings(request)
        return _redirect("/auth/signed-out", cookies=[sessions.clear_cookie(settings, sessions.SESSION_COOKIE)])

    @get("/signed-out", opt=_PUBLIC, summary="Signed-out page", media_type=MediaType.HTML)
    async def signed_out(self) -> Response[str]:
        return pages.message(
            "You are signed out",
            "You are signed out of Affinity Federation on this browser. If you signed in through your district's "
            "provider, you may also want to sign out there.",
            link_text="Sign in again",
        )

    @get("/account", opt=_PUBLIC, summary="Your sign-in status (HTML)", media_type=MediaType.HTML)
    async def account(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        current = await _current(db_session, request)
        if current is None:
            return _redirect("/auth/login?next=/auth/account")
        _, account = current
        return pages.render(
            "account.html",
            title="Your account",
            account=account,
            identities=await service.identities_of(db_session, account.id),
            providers=await service.sign_in_choices(db_session),
            csrf=_session_csrf(request),
        )


def _oauth_error(exc: provider.OAuthError) -> Response[dict[str, str]]:
    headers = dict(_NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="affinity"'
    return Response(exc.body(), status_code=exc.status, media_type=MediaType.JSON, headers=headers)


class ProviderController(Controller):
    """This service as an OpenID Connect provider."""

    path = "/oidc"
    tags = ["openid-connect"]
    exception_handlers = {FormRefused: form_refused, UnreadableInput: unreadable_input}

    @get("/jwks", opt=_PUBLIC, summary="Public keys that sign our id_tokens")
    async def jwks(self, request: AnyRequest, db_session: AsyncSession) -> Response[dict[str, Any]]:
        keys = await published_keys(db_session, _settings(request))
        return Response({"keys": keys}, headers={"Cache-Control": "public, max-age=300"})

    async def _authorize(
        self, request: AnyRequest, db_session: AsyncSession, params: dict[str, str], decision: str | None
    ) -> Response[Any]:
        result = await authorize_use_case.authorize(
            db_session, _settings(request), params, current=await _current(db_session, request), decision=decision
        )
        if isinstance(result, authorize_use_case.GoTo):
            return _redirect(result.url)
        if isinstance(result, authorize_use_case.Refuse):
            return pages.message(result.title, result.message, status=result.status, problem=True, link=None)
        return pages.render(
            "consent.html",
            title=f"Allow {result.client_name}?",
            client_name=result.client_name,
            network_name=result.network_name,
            account_name=result.account_name,
            account_email=result.account_email,
            scopes=result.scopes,
            params=result.params,
            csrf=_session_csrf(request),
        )

    @get("/authorize", opt=_PUBLIC, summary="Authorization endpoint (code + PKCE S256)")
    async def authorize(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        return await self._authorize(request, db_session, _query(request), None)

    @post(
        "/authorize",
        **_form_post("Form expired", "This page expired. Go back to the application and try again."),
        summary="Consent decision",
        status_code=303,
    )
    async def authorize_consent(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        params = await _form(request)
        return await self._authorize(request, db_session, params, params.get("decision", "deny"))

    @post("/token", opt=_PUBLIC, summary="Token endpoint", status_code=200)
    async def token(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        form = await _form(request)
        try:
            body = await provider.token(db_session, _settings(request), form, request.headers.get("authorization"))
        except provider.OAuthError as exc:
            log.warning("token refused error=%s: %s", exc.error, exc.description)
            return _oauth_error(exc)
        return Response(body, media_type=MediaType.JSON, headers=_NO_STORE)

    @post("/revoke", opt=_PUBLIC, summary="Token revocation (RFC 7009)", status_code=200)
    async def revoke(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        form = await _form(request)
        try:
            await provider.revoke(db_session, form, request.headers.get("authorization"))
        except provider.OAuthError as exc:
            return _oauth_error(exc)
        return Response(b"", media_type=MediaType.TEXT, headers=_NO_STORE)

    async def _userinfo(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        found = await provider.access_token_row(db_session, presented.strip()) if scheme.lower() == "bearer" else None
        if found is None:
            return Response(
                {"error": "invalid_token", "error_description": "the access token is unknown, expired or revoked"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"', **_NO_STORE},
            )
        tok, account, _ = found
        return Response(provider.user_claims(account, tok.scope), headers=_NO_STORE)

    @get("/userinfo", opt=_PUBLIC, summary="UserInfo endpoint")
    async def userinfo(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        return await self._userinfo(request, db_session)

    @post("/userinfo", opt=_PUBLIC, summary="UserInfo endpoint (POST)", status_code=200)
    async def userinfo_post(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        return await self._userinfo(request, db_session)

    @get("/logout", opt=_PUBLIC, summary="RP-initiated logout (asks the member to confirm)", media_type=MediaType.HTML)
    async def end_session(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        params = _query(request)
        try:
            target = await provider.logout_target(db_session, _settings(request), params)
        except provider.NotRedirectable as exc:
            log.warning("rp-initiated logout refused: %s", exc.reason)
            return pages.message("Cannot continue", exc.message, status=400, problem=True, link="/auth/account")
        current = await _current(db_session, request)
        if current is None:
            if target.redirect_uri:
                return _redirect(provider.with_state(target.redirect_uri, params.get("state")))
            return _redirect("/auth/signed-out")
        keep: dict[str, str] = {k: params[k] for k in ("post_logout_redirect_uri", "state") if k in params}
        if target.client is not None:
            keep["client_id"] = target.client.client_id
        return pages.render(
            "logout.html",
            title="Sign out?",
            client_name=target.client.name if target.client else None,
            params=keep,
            csrf=_session_csrf(request),
        )

    @post(
        "/logout",
        **_form_post("Could not sign out", "This page expired. Use the Sign out button on your account page."),
        summary="RP-initiated logout (confirmed)",
        status_code=303,
    )
    async def end_session_confirm(self, request: AnyRequest, db_session: AsyncSession) -> Response[Any]:
        form = await _form(request)
        try:
            target = await provider.logout_target(db_session, _settings(request), form)
        except provider.NotRedirectable as exc:
            log.warning("rp-initiated logout refused: %s", exc.reason)
            return pages.message("Cannot continue", exc.message, status=400, problem=True, link="/auth/account")
        current = await _current(db_session, request)
        if current is not None:
            await sessions.end_session(db_session, current[0].id)
        cookies = [sessions.clear_cookie(_settings(request), sessions.SESSION_COOKIE)]
        if target.redirect_uri:
            return _redirect(provider.with_state(target.redirect_uri, form.get("state")), cookies=cookies)
        return _redirect("/auth/signed-out", cookies=cookies)


@get("/.well-known/openid-configuration", opt=_PUBLIC, tags=["openid-connect"], summary="OpenID Connect discovery")
async def openid_configuration(request: AnyRequest) -> Response[dict[str, Any]]:
    """Our provider's metadata."""
    return Response(provider.discovery_document(_settings(request)), headers={"Cache-Control": "public, max-age=300"})


class IdentityApiController(Controller):
    """API: a network's upstream provider and the network's tools registered as OIDC clients."""

    path = "/networks"
    tags = ["identity"]

    @put("/{slug:str}/identity-provider", summary="Connect the network's upstream OIDC provider (network admins)")
    async def set_provider(
        self, request: AnyRequest, db_session: AsyncSession, actor: Actor, slug: SlugParam, data: IdentityProviderSet
    ) -> IdentityProviderOut:
        return await service.set_identity_provider(db_session, _settings(request), actor, slug, data)

    @get("/{slug:str}/identity-provider", summary="The network's connected provider, never its secret (admins)")
    async def get_provider(
        self, request: AnyRequest, db_session: AsyncSession, actor: Actor, slug: SlugParam
    ) -> IdentityProviderInfo:
        return await service.get_identity_provider(db_session, _settings(request), actor, slug)

    @delete(
        "/{slug:str}/identity-provider",
        summary="Disconnect the network's provider; linked identities stay linked (network admins)",
    )
    async def delete_provider(self, db_session: AsyncSession, actor: Actor, slug: SlugParam) -> None:
        await service.disconnect_identity_provider(db_session, actor, slug)

    @get(
        "/{slug:str}/email-domains",
        summary="The network's e-mail domain claims and whether an operator approved each (network admins)",
    )
    async def list_email_domains(self, db_session: AsyncSession, actor: Actor, slug: SlugParam) -> DomainClaimList:
        return await service.list_network_claims(db_session, actor, slug)

    @post("/{slug:str}/clients", summary="Register an OIDC client of this service (network admins)", status_code=201)
    async def create_client(
        self, request: AnyRequest, db_session: AsyncSession, actor: Actor, slug: SlugParam, data: ClientCreate
    ) -> Response[ClientCreated]:
        created = await service.register_client(db_session, _settings(request), actor, slug, data)
        return Response(created, headers=_NO_STORE)

    @get("/{slug:str}/clients", summary="The network's registered OIDC clients, without secrets (network admins)")
    async def list_clients(self, db_session: AsyncSession, actor: Actor, slug: SlugParam) -> ClientList:
        return await service.list_clients(db_session, actor, slug)

    @delete(
        "/{slug:str}/clients/{client_id:str}",
        summary="Revoke a client: its tokens stop working at once (network admins)",
    )
    async def revoke_client(
        self, db_session: AsyncSession, actor: Actor, slug: SlugParam, client_id: ClientIdParam
    ) -> None:
        await service.revoke_client(db_session, actor, slug, client_id)

    @post(
        "/{slug:str}/clients/{client_id:str}/secret",
        summary="Give a client a new secret (shown once; the old one stops working) (network admins)",
        status_code=200,
    )
    async def rotate_secret(
        self, db_session: AsyncSession, actor: Actor, slug: SlugParam, client_id: ClientIdParam
    ) -> Response[ClientSecretRotated]:
        rotated = await service.rotate_client_secret(db_session, actor, slug, client_id)
        return Response(rotated, headers=_NO_STORE)


ClaimStatusQuery = Annotated[
    str | None, Parameter(description="Only claims in this state: pending, approved or rejected", max_length=20)
]


class EmailDomainClaimController(Controller):
    """API for federation operators: networks' e-mail domain claims, approved or rejected here."""

    path = "/email-domain-claims"
    tags = ["identity"]

    @get("/", summary="Every network's e-mail domain claims, oldest first (operators)")
    async def list_claims(
        self, db_session: AsyncSession, actor: Actor, status: ClaimStatusQuery = None
    ) -> DomainClaimList:
        return await service.list_claims(db_session, actor, status)

    @post(
        "/{claim_id:uuid}/approve",
        summary="Approve a claim: verified e-mails in the domain may link to accounts of that network (operators)",
        status_code=200,
    )
    async def approve(self, db_session: AsyncSession, actor: Actor, claim_id: uuid.UUID) -> DomainClaimOut:
        return await service.decide_claim(db_session, actor, claim_id, approve=True)

    @post(
        "/{claim_id:uuid}/reject",
        summary="Reject a claim (or withdraw an approval): the domain links nothing (operators)",
        status_code=200,
    )
    async def reject(self, db_session: AsyncSession, actor: Actor, claim_id: uuid.UUID) -> DomainClaimOut:
        return await service.decide_claim(db_session, actor, claim_id, approve=False)


class MyIdentitiesController(Controller):
    """API: the upstream identities linked to the caller's own account."""

    path = "/me/identities"
    tags = ["identity"]

    @get("/", summary="Your linked sign-in identities")
    async def list_identities(self, db_session: AsyncSession, principal: Principal) -> LinkedIdentityList:
        return await service.list_my_identities(db_session, principal.account_id)

    @delete(
        "/{identity_id:uuid}",
        summary="Unlink one of your identities (refused if it is your last way to sign in)",
    )
    async def unlink_identity(self, db_session: AsyncSession, principal: Principal, identity_id: uuid.UUID) -> None:
        await service.unlink_my_identity(db_session, principal.account_id, identity_id)
