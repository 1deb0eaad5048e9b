"""HTTP handlers for policy templates, attachments and the parameter catalogue."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, Router, delete, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from services.policies import service
from services.policies.schemas import (
    AttachBody,
    AttachmentOut,
    DryRunOut,
    ParameterList,
    TemplateChangeOut,
    TemplateCreate,
    TemplateList,
    TemplateOut,
    TemplateUpdate,
)

SlugParam = Annotated[str, Parameter(description="The network's slug", max_length=80)]
DryRun = Annotated[bool, Parameter(description="Report the effect without changing anything")]


class TemplateController(Controller):
    """A network's policy templates: its basic structure."""

    path = "/networks/{slug:str}/templates"
    tags = ["policy"]

    @post("/", summary="Create a policy template, version 1 (network admins)", status_code=201)
    async def create(
        self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, data: TemplateCreate
    ) -> TemplateOut:
        return await service.create_template(db_session, actor, slug, data)

    @get("/", summary="List the network's templates")
    async def list_templates(self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam) -> TemplateList:
        return await service.list_templates(db_session, actor, slug)

    @get("/{template_id:uuid}", summary="Read a template with its versions")
    async def read(
        self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, template_id: uuid.UUID
    ) -> TemplateOut:
        return await service.read_template(db_session, actor, slug, template_id)

    @put(
        "/{template_id:uuid}",
        summary="New version; ?dry_run=true lists every space it would put out of bounds",
        description="Applying a version that breaks spaces is refused (409 breaks_spaces) unless the body has "
        '"mark_noncompliant": {"deadline": "YYYY-MM-DD"}; settings are never rewritten.',
    )
    async def new_version(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        slug: SlugParam,
        template_id: uuid.UUID,
        data: TemplateUpdate,
        dry_run: DryRun = False,
    ) -> DryRunOut | TemplateChangeOut:
        return await service.change_template(db_session, actor, slug, template_id, data, dry_run=dry_run)

    @put("/{template_id:uuid}/attach", summary="Attach the template to the whole network")
    async def attach(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        slug: SlugParam,
        template_id: uuid.UUID,
        data: AttachBody | None = None,
        dry_run: DryRun = False,
    ) -> Response[AttachmentOut]:
        out = await service.attach_to_network(
            db_session, actor, slug, template_id, choice=data.mark_noncompliant if data else None, dry_run=dry_run
        )
        return Response(out, status_code=201 if out.created else 200)

    @delete("/{template_id:uuid}/attach", summary="Detach the template from the network")
    async def detach(self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, template_id: uuid.UUID) -> None:
        await service.detach_from_network(db_session, actor, slug, template_id)


class SpaceTemplateController(Controller):
    """Templates attached to one space (and so to its subtree)."""

    path = "/spaces/{space_id:uuid}/templates"
    tags = ["policy"]

    @put("/{template_id:uuid}", summary="Attach a template to a space and its subtree (network admins)")
    async def attach(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        space_id: uuid.UUID,
        template_id: uuid.UUID,
        data: AttachBody | None = None,
        dry_run: DryRun = False,
    ) -> Response[AttachmentOut]:
        out = await service.attach_to_space(
            db_session, actor, space_id, template_id, choice=data.mark_noncompliant if data else None, dry_run=dry_run
        )
        return Response(out, status_code=201 if out.created else 200)

    @delete("/{template_id:uuid}", summary="Detach a template from a space")
    async def detach(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, template_id: uuid.UUID
    ) -> None:
        await service.detach_from_space(db_session, actor, space_id, template_id)


@get("/policy/parameters", summary="The catalogue of policy parameters", tags=["policy"])
async def parameters() -> ParameterList:
    """Every parameter a template or a space's settings may name, with type and default."""
    return ParameterList(items=service.parameter_catalogue())


policies_router = Router(
    path="/", route_handlers=[TemplateController, SpaceTemplateController, parameters], tags=["policy"]
)
"""Every policy route, registered with one line in ``services.app._api_routes``."""
