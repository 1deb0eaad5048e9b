"""The authorization endpoint as one use case: given the request and the browser's session, what next.

:func:`authorize` decides and returns a small result: send the browser somewhere (:class:`GoTo`),
ask the member to consent (:class:`AskConsent`) or show a page saying why not (:class:`Refuse`).
The controller only turns that result into a response. The consent form's CSRF token is
checked by the one form guard (:mod:`services.auth.csrf`) before this runs.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import provider, repository
from services.persistence.models import Account
from services.persistence.models.identity import WebSession
from services.settings import Settings

log = logging.getLogger("affinity.identity")

SCOPE_TEXT = {
    "openid": "who you are (an identifier for your account)",
    "profile": "your display name",
    "email": "your e-mail address",
    "read": "read access to Affinity Federation on your behalf",
    "write": "changes in Affinity Federation on your behalf",
}


@dataclass(frozen=True)
class GoTo:
    """Redirect the browser (303) to ``url``: the client with a code or an error, or the sign-in page."""

    url: str


@dataclass(frozen=True)
class AskConsent:
    """Show the consent page for this request."""

    client_name: str
    network_name: str
    account_name: str
    account_email: str
    scopes: list[str]
    params: dict[str, str]


@dataclass(frozen=True)
class Refuse:
    """Show a plain page: the request cannot be answered by redirecting to the client."""

    title: str
    message: str
    status: int = 400


AuthorizeResult = GoTo | AskConsent | Refuse


def _sign_in_page(next_url: str, *, again: bool = False) -> GoTo:
    query = {"next": next_url, **({"again": "1"} if again else {})}
    return GoTo("/auth/login?" + urlencode(query))


async def authorize(
    session: AsyncSession,
    settings: Settings,
    params: dict[str, str],
    *,
    current: tuple[WebSession, Account] | None,
    decision: str | None,
    now: dt.datetime | None = None,
) -> AuthorizeResult:
    """Decide an authorization request (``decision`` is None for GET, 'allow'/other for the consent post)."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        req = await provider.check_authorize(session, params)
    except provider.NotRedirectable as exc:
        log.warning("authorize refused: %s", exc.reason)
        return Refuse("Cannot continue", exc.message)
    except provider.OAuthError as exc:
        log.warning("authorize error client=%s error=%s: %s", params.get("client_id"), exc.error, exc.description)
        out = {"error": exc.error, "error_description": exc.description}
        if params.get("state"):
            out["state"] = params["state"]
        return GoTo(provider.redirect_with(settings, params["redirect_uri"], out))

    state = {"state": req.state} if req.state is not None else {}

    def back_with(error: str, **extra: str) -> GoTo:
        return GoTo(provider.redirect_with(settings, req.redirect_uri, {"error": error, **extra, **state}))

    silent = "none" in req.prompts  # prompt is a space-separated list (OIDC Core §3.1.2.1)
    if current is None:
        if silent:
            return back_with("login_required")
        return _sign_in_page("/oidc/authorize?" + urlencode(req.params()))
    web, account = current
    if decision is None and provider.needs_sign_in_again(settings, req, web, now):
        if silent:
            return back_with("login_required")
        again = "/oidc/authorize?" + urlencode(provider.sign_in_again_params(settings, req, now))
        return _sign_in_page(again, again=True)
    if decision is not None:
        if decision != "allow":
            return back_with("access_denied", error_description="the member declined")
        await provider.record_consent(session, account.id, req.client, req.scope)
    elif "consent" in req.prompts or not await provider.has_consent(session, account.id, req.client, req.scope):
        if silent:
            return back_with("consent_required")
        return AskConsent(
            client_name=req.client.name,
            network_name=await repository.network_name(session, req.client.network_id),
            account_name=account.display_name,
            account_email=account.email,
            scopes=[SCOPE_TEXT.get(s, s) for s in req.scope.split()],
            params=req.params(),
        )
    return GoTo(await provider.issue_code(session, settings, req, web, now=now))
