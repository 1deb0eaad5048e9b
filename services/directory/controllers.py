"""HTTP handlers of the directory area: the public page, short link, QR code and JSON (no sign-in);
the admins' settings; the signed-in directory."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, MediaType, Request, Response, delete, get, put
from litestar.params import Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.directory import service
from services.directory.schemas import (
    DirectoryList,
    DirectorySettings,
    DirectorySwitch,
    PublicDirectory,
    PublicListing,
)
from services.errors import NotFound
from services.rendering import render
from services.settings import Settings

Slug = Annotated[str, Parameter(max_length=80)]
KindFilter = Annotated[Literal["identity", "role", "topic", "cohort"] | None, Parameter(description="Only this kind")]
Query = Annotated[
    str | None, Parameter(max_length=200, description="Words that must all appear in name or description")
]
_PUBLIC = {"public": True}


def _settings(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


class DirectoryController(Controller):
    """The directory under /api/v1: public JSON, admins' settings, the signed-in view."""

    path = "/"
    tags = ["directory"]

    @get(
        "/networks/{slug:str}/public-directory",
        opt=_PUBLIC,
        summary="A network's public directory (no sign-in; never member data); 404 unless the network opted in",
    )
    async def public(self, request: Request[Any, Any, Any], db_session: AsyncSession, slug: Slug) -> PublicDirectory:
        return await service.public_directory(db_session, _settings(request), slug)

    @get(
        "/networks/{slug:str}/directory",
        summary="The directory for members: descriptions, kind filter, search, join modes",
    )
    async def signed_in(
        self, db_session: AsyncSession, actor: Actor, slug: Slug, kind: KindFilter = None, q: Query = None
    ) -> DirectoryList:
        return await service.signed_in_directory(db_session, actor, slug, kind=kind, query=q)

    @get("/networks/{slug:str}/directory-settings", summary="The public directory's state and links (network admins)")
    async def read_settings(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, actor: Actor, slug: Slug
    ) -> DirectorySettings:
        return await service.read_settings(db_session, _settings(request), actor, slug)

    @put("/networks/{slug:str}/directory-settings", summary="Turn the public directory on or off (network admins)")
    async def switch(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, actor: Actor, slug: Slug, data: DirectorySwitch
    ) -> DirectorySettings:
        return await service.switch(db_session, _settings(request), actor, slug, data)

    @put(
        "/spaces/{space_id:uuid}/public-listing",
        summary="Show a space in the public directory (network admins)",
        status_code=204,
    )
    async def list_space(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: PublicListing
    ) -> None:
        await service.list_publicly(db_session, actor, space_id, data)

    @delete(
        "/spaces/{space_id:uuid}/public-listing", summary="Take a space out of the public directory", status_code=204
    )
    async def unlist_space(self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> None:
        await service.unlist_publicly(db_session, actor, space_id)


class PublicDirectoryPages(Controller):
    """The public directory page, its short link and QR code (no sign-in)."""

    path = "/"
    include_in_schema = False

    @get("/directory/{slug:str}", opt=_PUBLIC, media_type=MediaType.HTML)
    async def page(self, request: Request[Any, Any, Any], db_session: AsyncSession, slug: Slug) -> Response[str]:
        try:
            found = await service.public_directory(db_session, _settings(request), slug)
        except NotFound:
            return render(
                "message.html",
                status=404,
                title="No public directory here",
                message="This network has no public directory. If you work there, sign in to see its groups.",
                link="/auth/login?next=/",
                link_text="Sign in",
            )
        return render("directory.html", title=f"Groups at {found.name}", directory=found, signed_in=None)

    @get("/d/{code:str}", opt=_PUBLIC)
    async def short_link(
        self, db_session: AsyncSession, code: Annotated[str, Parameter(max_length=16)]
    ) -> Response[Any]:
        slug = await service.slug_for_code(db_session, code)
        if slug is None:
            return render(
                "message.html",
                status=404,
                title="Link not found",
                message="This short link does not point to a directory. Check the address.",
                link="/",
                link_text="Go to the home page",
            )
        return Redirect(f"/directory/{slug}", status_code=302)

    @get("/directory/{slug:str}/qr.svg", opt=_PUBLIC, media_type="image/svg+xml")
    async def qr(self, request: Request[Any, Any, Any], db_session: AsyncSession, slug: Slug) -> Response[bytes]:
        found = await service.public_directory(db_session, _settings(request), slug)
        return Response(
            service.qr_svg(found.short_url),
            media_type="image/svg+xml",
            headers={
                "Cache-Control": "public, max-age=3600",
                "X-Content-Type-Options": "nosniff",
                "Content-Disposition": f'inline; filename="{slug}-directory.svg"',
            },
        )
