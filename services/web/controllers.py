"""The web UI's pages: server-rendered shells that the page scripts fill from the JSON API."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response, get
from litestar.response import Redirect

from services.auth.principal import Principal
from services.identity import sessions
from services.settings import Settings
from services.web.pages import render

_PAGE = {"public": True}  # pages decide themselves: sign-in redirect rather than a JSON 401


def _principal(request: Request[Any, Any, Any]) -> Principal | None:
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None


def _shell(request: Request[Any, Any, Any], template: str, **context: Any) -> Response[Any]:
    if _principal(request) is None:
        return Redirect(f"/auth/login?next={quote(request.url.path)}", status_code=303)
    settings: Settings = request.app.state.settings
    csrf = sessions.csrf_token(settings, request.cookies.get(sessions.SESSION_COOKIE, ""))
    return render(template, signed_in=True, csrf_token=csrf, **context)


@get("/", opt=_PAGE, include_in_schema=False, media_type=MediaType.HTML)
async def home_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Signed in: your networks and spaces. Signed out: what this is and how to sign in."""
    if _principal(request) is None:
        return render("landing.html", signed_in=False)
    return _shell(request, "home.html", title="Your networks and spaces")


@get("/networks/{slug:str}", opt=_PAGE, include_in_schema=False, media_type=MediaType.HTML)
async def network_page(request: Request[Any, Any, Any], slug: str) -> Response[Any]:
    """A network: its spaces, and for admins its templates, compliance and a form for new spaces."""
    return _shell(request, "network.html", slug=slug)


@get("/spaces/{space_id:uuid}", opt=_PAGE, include_in_schema=False, media_type=MediaType.HTML)
async def space_page(request: Request[Any, Any, Any], space_id: uuid.UUID) -> Response[Any]:
    """A space: what it is, how it runs, who belongs (for members), requests, and its chat."""
    return _shell(request, "space.html", space_id=str(space_id))


@get("/networks/{slug:str}/insights", opt=_PAGE, include_in_schema=False, media_type=MediaType.HTML)
async def insights_page(request: Request[Any, Any, Any], slug: str) -> Response[Any]:
    """A network's insights for its admins: figures, charts, CSV, staff figures."""
    return _shell(request, "insights.html", slug=slug)


@get("/networks/{slug:str}/library", opt=_PAGE, include_in_schema=False, media_type=MediaType.HTML)
async def network_library_page(request: Request[Any, Any, Any], slug: str) -> Response[Any]:
    """A network's resource library; open to signed-out visitors, who see its public resources."""
    if _principal(request) is None:
        return render("library.html", signed_in=False, slug=slug)
    return _shell(request, "library.html", slug=slug)


web_pages = [home_page, network_page, space_page, insights_page, network_library_page]
