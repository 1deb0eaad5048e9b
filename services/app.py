"""The composition root: ``create_app(settings)`` wires settings, database, auth, areas and routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Response, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.accounts.controllers import read_me, update_me
from services.accounts.service import RoomReadable
from services.auth.guards import provide_actor, provide_principal, require_principal
from services.auth.resolve import AuthenticationMiddleware, Authenticator, BearerResolver, CookieResolver
from services.auth.tokens import resolve_personal_token
from services.calendar.controllers import calendar_router, member_feed
from services.chat import access as chat_access
from services.chat.controllers import ChatMemberController, MessageController, serve_websocket, websocket_gateway
from services.chat.runtime import start_chat
from services.compliance.controllers import compliance_router
from services.directory.controllers import DirectoryController, PublicDirectoryPages
from services.errors import OutageMiddleware, exception_handlers
from services.facilitation.controllers import FacilitationController
from services.gc_tuning import tune_for_server
from services.identity.cleanup import start_cleanup
from services.identity.controllers import (
    EmailDomainClaimController,
    IdentityApiController,
    MyIdentitiesController,
    ProviderController,
    SignInController,
    openid_configuration,
)
from services.identity.provider import resolve_access_token
from services.identity.sessions import resolve_session_cookie
from services.inputs import InputGuardMiddleware
from services.insights.controllers import insights_router
from services.invitations.controllers import InvitationPages, MyInvitationsController, SpaceInvitationController
from services.logs import configure_logging
from services.mail.outbox import WAKE_KEY
from services.mail.sender import start_mail
from services.meetings.controllers import meetings_router
from services.meetings.reminders import start_reminders
from services.metrics import Metrics, RequestContextMiddleware
from services.networks.controllers import NetworkController
from services.notifications.controllers import MyNotificationsController, UnsubscribeController
from services.ops.controllers import health, metrics, ready
from services.persistence.engine import create_engine, create_sessionmaker
from services.persistence.session import add_session_info, provide_db_session
from services.policies.controllers import policies_router
from services.policies.service import SpaceVisibility
from services.proposals.controllers import FacilitationRequestController, ProposalController
from services.readiness import ReadinessCheck
from services.resources.controllers import resources_router
from services.search.controllers import search
from services.settings import Settings
from services.sharing.controllers import sharing_router
from services.spaces.access import visible_ids
from services.spaces.controllers import spaces_router
from services.stewardship.controllers import StewardshipController
from services.targeting.controllers import targeting_router
from services.web.controllers import web_pages

API_PREFIX = "/api/v1"

SHUTDOWN_STEP_SECONDS = 10.0
"""How long each background job may take to stop before shutdown goes on without it."""

log = logging.getLogger("affinity.app")


async def _stop_within(name: str, stopping: Coroutine[Any, Any, None], seconds: float) -> None:
    """Run one job's stop, but never let it hold shutdown: a job that does not stop in time is
    logged and left behind (the process is ending), so a restart never hangs on one stuck job."""
    task = asyncio.ensure_future(stopping)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        log.warning("shutdown: the %s did not stop within %.0f s; going on without it", name, seconds)
    elif not task.cancelled() and task.exception() is not None:
        log.error("shutdown: stopping the %s failed", name, exc_info=task.exception())


_HERE = Path(__file__).parent


def _api_routes() -> list[ControllerRouterHandler]:
    """Controllers under /api/v1. Each area adds one line here."""
    return [
        read_me,
        update_me,
        NetworkController,
        spaces_router,
        policies_router,
        sharing_router,
        MessageController,
        ChatMemberController,
        IdentityApiController,
        EmailDomainClaimController,
        MyIdentitiesController,
        meetings_router,
        calendar_router,
        targeting_router,
        insights_router,
        resources_router,
        search,
        compliance_router,
        MyNotificationsController,
        SpaceInvitationController,
        MyInvitationsController,
        ProposalController,
        FacilitationRequestController,
        DirectoryController,
        StewardshipController,
        FacilitationController,
    ]


def _bearer_resolvers() -> Sequence[BearerResolver]:
    """How a bearer token becomes a principal, tried in order."""
    return [resolve_personal_token, resolve_access_token]


def _cookie_resolvers() -> Sequence[CookieResolver]:
    """How the web session cookie becomes a principal."""
    return [resolve_session_cookie]


def _space_visibility() -> SpaceVisibility:
    return visible_ids


def _room_readable() -> RoomReadable:
    return chat_access.readable


async def _no_store(response: Response[Any]) -> Response[Any]:
    """``Cache-Control: no-store`` on an API answer that did not choose its own caching."""
    if not any(name.lower() == "cache-control" for name in response.headers):
        response.headers["Cache-Control"] = "no-store"
    return response


class AffinityApp(Litestar):
    """Litestar, except that the chat websocket skips the HTTP stack.

    Every frame a socket sends would otherwise pass through Litestar's per-``send`` wrappers
    (the exception middleware's ``capture_response_started``, the app's ``_wrap_send``): ~7 %
    of the server's time in a 1,000-socket room (docs/performance.md). None of the middleware
    does anything for ``/ws``: the gateway authenticates the handshake itself, answers its own
    errors as close codes, and request ids and access logs are for HTTP. ``/ws`` is still a
    Litestar route (:func:`services.chat.controllers.websocket_gateway`) for HTTP requests to it
    and for any server that calls the app another way.
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and scope["path"] == scope.get("root_path", "") + "/ws":
            await serve_websocket(self.state, scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings, *, engine: AsyncEngine | None = None) -> Litestar:
    """Build the ASGI application for ``settings``.

    ``settings.database_url`` must be set (the CLI starts the embedded PostgreSQL first when it
    is not). ``engine`` lets a caller share an engine (tests); otherwise one is created at start.
    """
    if not settings.database_url:
        raise ValueError("create_app needs settings.database_url; `affinity serve` starts the embedded database first")
    settings = settings.with_secret()
    configure_logging(settings.log_level, settings.log_format)
    owns_engine = engine is None

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        state = app.state
        state.engine = engine or create_engine(
            settings.database_url or "",
            pool_size=settings.db_pool_size,
            connect_timeout=settings.db_connect_timeout,
            pool_timeout=settings.db_pool_timeout,
            statement_timeout=settings.db_statement_timeout,
        )
        state.sessionmaker = create_sessionmaker(state.engine)
        state.authenticator = Authenticator(
            sessionmaker=state.sessionmaker,
            read_bind=state.engine.execution_options(isolation_level="AUTOCOMMIT"),
            bearer=_bearer_resolvers(),
            cookie=_cookie_resolvers(),
            cookie_names=frozenset({"affinity_session"}),
        )

        async def database_probe() -> None:
            async with state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        state.readiness_checks = [ReadinessCheck("database", database_probe)]
        state.chat = await start_chat(state, settings)
        tune_for_server()
        state.identity_cleanup = start_cleanup(state, settings)
        state.mail = start_mail(state, settings, getattr(state, "mail_transport", None))
        # Mail queued by a request leaves on commit (keeps the chat re-check hook start_chat added).
        add_session_info(state.sessionmaker, WAKE_KEY, state.mail.wake)
        state.reminders = start_reminders(state)
        try:
            yield
        finally:
            for name, stop in (
                ("meeting reminders", state.reminders.stop),
                ("mail sender", state.mail.stop),
                ("identity clean-up", state.identity_cleanup.stop),
                ("chat", state.chat.stop),
            ):
                await _stop_within(name, stop(), SHUTDOWN_STEP_SECONDS)
            if owns_engine:
                await state.engine.dispose()

    api = Router(
        path=API_PREFIX,
        route_handlers=_api_routes(),
        guards=[require_principal],
        # Every API answer is per caller (filtered by what that caller may see: member lists, chat,
        # hidden spaces), so none may be stored by a browser or a proxy and shown to someone else
        # on a shared device. One layer for every route, so a new route cannot forget it; a route
        # that is truly shareable may set its own Cache-Control.
        after_request=_no_store,
        dependencies={
            "principal": Provide(provide_principal),
            "actor": Provide(provide_actor),
            # The spaces area's visibility rule, handed to lower areas that list spaces (policies).
            "space_visibility": Provide(_space_visibility, sync_to_thread=False),
            # The chat area's "in the room" rule, handed to /me (accounts stands below chat).
            "room_readable": Provide(_room_readable, sync_to_thread=False),
        },
    )
    return AffinityApp(
        route_handlers=[
            health,
            ready,
            metrics,
            api,
            websocket_gateway,
            SignInController,
            ProviderController,
            openid_configuration,
            UnsubscribeController,
            InvitationPages,
            PublicDirectoryPages,
            member_feed,
            *web_pages,
            create_static_files_router(
                path="/static", directories=[_HERE / "web" / "static"], opt={"public": True}, include_in_schema=False
            ),
        ],
        lifespan=[lifespan],
        state=State({"settings": settings, "metrics": Metrics(settings.metrics_multiprocess_dir)}),
        dependencies={"db_session": Provide(provide_db_session)},
        exception_handlers=exception_handlers,
        # The input guard runs before authentication so a refused request never touches the database.
        middleware=[RequestContextMiddleware, OutageMiddleware, InputGuardMiddleware, AuthenticationMiddleware],
        openapi_config=OpenAPIConfig(
            title="Affinity Federation API",
            version="1",
            description="Affinity spaces for education networks. Errors always use the envelope "
            '{"error": {"code", "message", "details"}}.',
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        # Level 1: a page of 50 chat messages (24 KB of JSON) shrinks to 4.8 KB instead of 4.4 KB at
        # Litestar's default level 9, for 40 % of the CPU (docs/performance.md, "Chat history paging").
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024, gzip_compress_level=1),
        request_max_body_size=1_048_576,
        logging_config=None,
        debug=False,
    )
