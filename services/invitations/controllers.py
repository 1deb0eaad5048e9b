"""HTTP handlers of the invitations area: the API (invite, list, withdraw; your own invitations)
and the pages an invitation link opens (no sign-in needed to read them)."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.params import Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from federation.invitations import LinkProblem
from federation.permissions import Actor
from services.accounts.passwords import hash_password, password_problem
from services.auth.csrf import form_post_ok
from services.errors import AppError
from services.identity import sessions
from services.invitations import service
from services.invitations.schemas import (
    AcceptedOut,
    EmailInvitationCreate,
    EmailInvitationList,
    EmailInvitationOut,
    MyInvitationList,
)
from services.persistence.models import Account
from services.rendering import PAGE_HEADERS, render
from services.settings import Settings

log = logging.getLogger("affinity.invitations")
AnyRequest = Request[Any, Any, Any]
TokenParam = Annotated[str, Parameter(description="The token from the invitation link", max_length=300)]


class SpaceInvitationController(Controller):
    """Invitations by e-mail to a space (its facilitators and the network's admins)."""

    path = "/spaces/{space_id:uuid}/email-invitations"
    tags = ["invitations"]

    @post("/", summary="Invite someone by e-mail address, with or without an account", status_code=201)
    async def create(
        self,
        request: AnyRequest,
        db_session: AsyncSession,
        actor: Actor,
        space_id: uuid.UUID,
        data: EmailInvitationCreate,
    ) -> EmailInvitationOut:
        settings: Settings = request.app.state.settings
        return await service.invite_by_email(db_session, settings, actor, space_id, data)

    @get("/", summary="The space's invitations by e-mail, with delivery state (never the link)")
    async def list_invitations(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID
    ) -> EmailInvitationList:
        return await service.list_for_space(db_session, actor, space_id)

    @delete("/{invitation_id:uuid}", summary="Withdraw a pending invitation (its link stops working)", status_code=204)
    async def revoke(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> None:
        await service.revoke(db_session, actor, space_id, invitation_id)


class MyInvitationsController(Controller):
    """The caller's own pending invitations (matched by their verified e-mail address)."""

    path = "/me/invitations"
    tags = ["invitations"]

    @get("/", summary="Your pending invitations")
    async def list_mine(self, db_session: AsyncSession, actor: Actor) -> MyInvitationList:
        return await service.mine(db_session, actor.account_id)

    @post("/{invitation_id:uuid}/accept", summary="Accept one of your invitations and join the space", status_code=200)
    async def accept(self, db_session: AsyncSession, actor: Actor, invitation_id: uuid.UUID) -> AcceptedOut:
        return await service.accept_mine(db_session, actor, invitation_id)

    @post("/{invitation_id:uuid}/decline", summary="Turn down one of your invitations", status_code=204)
    async def decline(self, db_session: AsyncSession, actor: Actor, invitation_id: uuid.UUID) -> None:
        await service.decline_mine(db_session, actor, invitation_id)


# --- pages ------------------------------------------------------------------------------------

_PUBLIC = {"public": True}

_WHAT_TO_DO = {
    LinkProblem.UNKNOWN: (
        404,
        "Invitation not found",
        "This link does not match any invitation. Copy the whole link from the e-mail; if it still "
        "does not work, ask the person who invited you to send a new invitation.",
    ),
    LinkProblem.EXPIRED: (
        410,
        "This invitation has expired",
        "Invitation links work for a limited time. Ask the person who invited you (or the space's "
        "facilitators) to send a new one.",
    ),
    LinkProblem.USED: (
        410,
        "This invitation has already been used",
        "Each link works once. If you accepted it, sign in and find the space under “My spaces”.",
    ),
    LinkProblem.REVOKED: (
        410,
        "This invitation was withdrawn",
        "The invitation was withdrawn or turned down. Ask the space's facilitators if you would like a new one.",
    ),
    LinkProblem.SPACE_GONE: (
        410,
        "This space no longer exists",
        "The space you were invited to has been removed. Your network's home page lists the spaces that exist now.",
    ),
    LinkProblem.OTHER_ADDRESS: (
        409,
        "This invitation is for another address",
        "You are signed in with a different e-mail address than the one invited. Sign out "
        "and open the link again to accept it with the invited address, or ask for an "
        "invitation to your own address.",
    ),
}


def _problem_page(problem: LinkProblem, *, email: str | None = None) -> Response[str]:
    status, title, text = _WHAT_TO_DO[problem]
    if problem is LinkProblem.OTHER_ADDRESS and email:
        text = f"This invitation was sent to {email}. " + text
    return render(
        "message.html",
        status=status,
        title=title,
        message=text,
        problem=True,
        link="/",
        link_text="Go to the home page",
        signed_in=None,
    )


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


RESUME_COOKIE = "affinity_invitation"
"""Holds the link's token in the browser while the invitee signs in elsewhere (the network's
provider, or the sign-in page), so ``/invitations/continue`` brings them back to this invitation
without the token passing through the sign-in's stored state (the database keeps only hashes)."""
RESUME_PATH = "/invitations/continue"
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _resume_cookie(settings: Settings, token: str, *, max_age: int = 3600) -> Cookie:
    return Cookie(
        key=RESUME_COOKIE,
        value=token,
        path="/invitations",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        max_age=max_age,
    )


async def _signed_in(request: AnyRequest, db_session: AsyncSession) -> tuple[str, Account] | None:
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    found = await sessions.find_session(db_session, cookie)
    return (cookie or "", found[1]) if found else None


class InvitationPages(Controller):
    """What an invitation link opens: read it (GET never uses it), then accept (POST)."""

    path = "/invitations"
    tags = ["invitations"]
    include_in_schema = False

    @get("/continue", opt=_PUBLIC, media_type=MediaType.HTML, status_code=303)
    async def resume(self, request: AnyRequest) -> Redirect:
        """Back from signing in: to the invitation this browser was looking at, else home."""
        settings: Settings = request.app.state.settings
        token = request.cookies.get(RESUME_COOKIE, "")
        if not token or len(token) > 200 or not _TOKEN_CHARS.issuperset(token):
            return Redirect("/", status_code=303, headers=PAGE_HEADERS)
        return Redirect(
            f"/invitations/{token}",
            status_code=303,
            headers=PAGE_HEADERS,
            cookies=[_resume_cookie(settings, "", max_age=0)],
        )

    @get("/{token:str}", opt=_PUBLIC, media_type=MediaType.HTML)
    async def show(self, request: AnyRequest, db_session: AsyncSession, token: TokenParam) -> Response[str]:
        settings: Settings = request.app.state.settings
        current = await _signed_in(request, db_session)
        view = await service.inspect_link(db_session, token, current[1] if current else None)
        if view.problem is not None:
            return _problem_page(view.problem, email=view.invitation.email if view.invitation else None)
        inv = view.invitation
        assert inv is not None
        binding = current[0] if current else (request.cookies.get(sessions.CSRF_COOKIE) or sessions.new_csrf_binding())
        cookies = [] if current else [_csrf_cookie(settings, binding), _resume_cookie(settings, token)]
        return render(
            "invitation.html",
            cookies=cookies,
            title=f"Join {inv.space_name}",
            invitation=inv,
            network_name=view.network_name,
            inviter=view.inviter,
            provider_slug=view.provider_slug,
            has_account=view.has_account,
            resume=RESUME_PATH,
            account=current[1] if current else None,
            csrf=sessions.csrf_token(settings, binding),
            token=token,
            signed_in=current is not None,
            csrf_token=sessions.csrf_token(settings, binding) if current else "",
        )

    @post("/{token:str}/accept", opt=_PUBLIC, media_type=MediaType.HTML, status_code=303)
    async def accept(self, request: AnyRequest, db_session: AsyncSession, token: TokenParam) -> Response[Any]:
        settings: Settings = request.app.state.settings
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        current = await _signed_in(request, db_session)
        if not form_post_ok(settings, request.headers, request.cookies, form.get("csrf_token")):
            return render(
                "message.html",
                status=403,
                title="Form expired",
                problem=True,
                link=f"/invitations/{token}",
                link_text="Open the invitation again",
                message="This form has expired or did not come from this site. Open the invitation "
                "again and accept from there.",
            )
        try:
            if current is not None:
                done = await service.accept_link(db_session, token, current[1])
                log.info("invitation accepted account=%s space=%s", current[1].id, done.space_id)
                return Redirect(
                    f"/spaces/{done.space_id}",
                    status_code=303,
                    headers=PAGE_HEADERS,
                    cookies=[_resume_cookie(settings, "", max_age=0)],
                )
            name = form.get("display_name", "").strip()
            password = form.get("password", "")
            problem = None
            if not 1 <= len(name) <= 200:
                problem = "Enter your name (up to 200 characters)."
            elif (why := password_problem(password)) is not None:
                problem = f"Choose another password: {why}."
            elif password != form.get("password_again", ""):
                problem = "The two passwords differ; type the same password twice."
            if problem is not None:
                view = await service.inspect_link(db_session, token, None)
                if view.problem is not None:
                    return _problem_page(view.problem)
                assert view.invitation is not None
                return render(
                    "invitation.html",
                    status=422,
                    title=f"Join {view.invitation.space_name}",
                    invitation=view.invitation,
                    network_name=view.network_name,
                    inviter=view.inviter,
                    provider_slug=view.provider_slug,
                    has_account=view.has_account,
                    resume=RESUME_PATH,
                    account=None,
                    csrf=form.get("csrf_token", ""),
                    token=token,
                    problem=problem,
                    display_name=name,
                    signed_in=False,
                )
            account, done = await service.accept_as_new_person(
                db_session, token, display_name=name, password_hash=hash_password(password)
            )
            new = await sessions.create_session(db_session, settings, account.id, "invitation")
            log.info("invitation accepted by a new account=%s space=%s", account.id, done.space_id)
            return Redirect(
                f"/spaces/{done.space_id}",
                status_code=303,
                headers=PAGE_HEADERS,
                cookies=[sessions.session_cookie(settings, new.token), _resume_cookie(settings, "", max_age=0)],
            )
        except service.LinkRefused as exc:
            await db_session.rollback()
            return _problem_page(exc.problem)
        except AppError as exc:
            await db_session.rollback()
            return render(
                "message.html",
                status=exc.status,
                title="You could not join",
                message=exc.message,
                problem=True,
                link="/",
                link_text="Go to the home page",
            )
