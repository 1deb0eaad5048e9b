"""The permission matrix: every endpoint of the networks, spaces, policies and identity areas
(and GET /me) with a role that is allowed and the roles that are refused.

The table is checked against the app's own routes, so a new endpoint without a row fails
``test_every_endpoint_has_a_row``. A refusal must be 401/403/404 with the error envelope AND
leave the database exactly as it was (a fingerprint of every table those areas write,
audit events included).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import crypto
from services.persistence.models import (
    FacilitatorTraining,
    Meeting,
    MeetingSeries,
    NetworkEvent,
    Notification,
    PolicyExemption,
    ProposalFacilitator,
    PublicSpace,
    Share,
    SpaceInvitation,
    SpaceJoinRequest,
    SpaceMember,
    SpaceProposal,
    TrustedNetwork,
)
from services.persistence.models.chat import ChatMute
from services.persistence.models.identity import EmailDomainClaim, LinkedIdentity, OidcClient, UpstreamProvider
from tests.factories import (
    add_facilitators,
    add_member,
    add_space_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_template,
    make_token,
)
from tests.services.identity_idp import scripted_idp

API = "/api/v1"
COVERED_PREFIXES = ("/api/v1/me", "/api/v1/networks", "/api/v1/spaces", "/api/v1/policy", "/api/v1/shares")
COVERED_PREFIXES += ("/api/v1/email-domain-claims",)  # identity: operators decide e-mail domain claims
EXCLUDED_PREFIXES = (
    "/api/v1/spaces/{space_id}/messages",  # chat area (services/chat), tested there
    "/api/v1/networks/{slug}/public-directory",  # public by design, nobody to refuse: test_directory.py
    # resource libraries and search: their own matrix in test_resources_permissions.py
    "/api/v1/spaces/{space_id}/resources",
    "/api/v1/networks/{slug}/resources",
    "/api/v1/search",
)
"""Endpoints under the covered prefixes that other areas own and test."""

# Tables the networks, spaces and policies areas write; a refusal must leave all of them unchanged.
WRITTEN_TABLES = (
    "accounts",
    "networks",
    "network_members",
    "spaces",
    "space_members",
    "space_join_requests",
    "policy_templates",
    "policy_template_versions",
    "policy_attachments",
    "space_noncompliance",
    "audit_events",
    "meetings",
    "meeting_series",
    "meeting_series_exceptions",
    "calendar_feeds",
    "policy_exemptions",
    "network_events",
    "occurrence_attendance",
    "meeting_check_ins",
    "occurrence_check_ins",
    "network_staff_figures",
    "shares",  # sharing area
    "share_memberships",
    "trusted_networks",
    "upstream_providers",
    "oidc_clients",
    "oidc_tokens",
    "linked_identities",
    "pending_logins",
    "email_domain_claims",
    "notifications",  # growing-groups areas
    "notification_preferences",
    "mail_outbox",
    "space_invitations",
    "space_proposals",
    "proposal_facilitators",
    "network_directories",
    "public_spaces",
    "facilitator_trainings",
    "facilitator_compensation",
    "chat_mutes",  # chat area
    "chat_read_markers",
)

# Who asks. Roles are relative to the space S of network "home".
OPERATOR = "operator"
ADMIN = "admin"  # admin of the home network
OTHER_ADMIN = "other_admin"  # admin of another network
FACILITATOR = "facilitator"  # facilitator of S (member of the home network)
MEMBER = "member"  # member of S
NET_MEMBER = "net_member"  # member of the home network, not of S
STRANGER = "stranger"  # signed in, no role anywhere
ANON = "anon"  # no credentials
OUTSIDE = "outside_facilitator"  # facilitator of S from outside the home network (no network role)
EVERYONE_SIGNED_IN = (OPERATOR, ADMIN, OTHER_ADMIN, FACILITATOR, MEMBER, NET_MEMBER, STRANGER)


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the route's path format, e.g. /api/v1/spaces/{space_id}
    allowed: str
    status: int
    refused: tuple[str, ...]
    body: dict[str, Any] | None = None
    query: dict[str, str] = field(default_factory=dict)
    use: dict[str, str] = field(default_factory=dict)
    refused_as_missing: frozenset[str] = frozenset()
    """Callers answered 422 exactly as if a referenced id in the body did not exist (e.g. a
    parent space they cannot see: ``parent_not_found``), which reveals nothing and writes nothing."""
    """Path parameter -> the world's key that fills it (e.g. account_id -> target_id)."""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path.removeprefix(API)}"


S = "/api/v1/spaces/{space_id}"
N = "/api/v1/networks/{slug}"
NOT_IN_S = (NET_MEMBER, OTHER_ADMIN, STRANGER, ANON)
MANAGERS_ONLY = (MEMBER, NET_MEMBER, OTHER_ADMIN, STRANGER, ANON)  # refused where admins/facilitators act
ADMINS_ONLY = (FACILITATOR, MEMBER, NET_MEMBER, OTHER_ADMIN, STRANGER, ANON)
NOT_PROPOSER = (ADMIN, FACILITATOR, MEMBER, OTHER_ADMIN, STRANGER, ANON)  # the world's proposal is NET_MEMBER's
NOT_ASKED = (ADMIN, FACILITATOR, NET_MEMBER, OTHER_ADMIN, STRANGER, ANON)  # the proposal names MEMBER only
TRAINING = {"account_id": "{facilitator_id}", "course": "Circle keeping", "completed_on": "2026-02-01"}
PROPOSAL = {"name": "Book circle", "kind": "topic", "purpose": "Read one book a term together."}
MEETING = {"kind": "virtual", "title": "Circle", "starts_at": "2030-01-15T17:00:00Z", "components": ["quote"]}
SERIES = {
    **MEETING,
    "starts_at": "2030-01-15T09:00:00",
    "time_zone": "America/Los_Angeles",
    "rule": "FREQ=MONTHLY;COUNT=3",
}

MATRIX: tuple[Row, ...] = (
    Row("GET", "/api/v1/me", STRANGER, 200, (ANON,)),
    Row("PATCH", "/api/v1/me", STRANGER, 200, (ANON,), {"pronouns": "they/them"}),
    # networks
    Row("GET", "/api/v1/networks", STRANGER, 200, (ANON,)),
    Row(
        "POST",
        "/api/v1/networks",
        OPERATOR,
        201,
        (ADMIN, OTHER_ADMIN, FACILITATOR, MEMBER, NET_MEMBER, STRANGER, ANON),
        {"slug": "new-net", "name": "New", "kind": "school"},
    ),
    Row("GET", N, STRANGER, 200, (ANON,)),
    Row("GET", N + "/members", ADMIN, 200, ADMINS_ONLY),  # the roster: network admins and facilitators
    Row("POST", N + "/members", ADMIN, 201, ADMINS_ONLY, {"email": "newcomer@example.org"}),
    Row(
        "PUT",
        N + "/members/{account_id}",
        ADMIN,
        201,
        ADMINS_ONLY,
        {"role": "member"},
        use={"account_id": "stranger_id"},
    ),
    # spaces of a network
    Row("GET", N + "/spaces", NET_MEMBER, 200, (OTHER_ADMIN, STRANGER, ANON)),
    Row("POST", N + "/spaces", ADMIN, 201, ADMINS_ONLY, {"name": "Root", "kind": "topic", "join_mode": "open"}),
    Row(
        "POST",
        N + "/spaces",
        FACILITATOR,
        201,
        (MEMBER, NET_MEMBER, OTHER_ADMIN, STRANGER, ANON),
        {"name": "Sub", "kind": "identity", "parent_id": "{space_id}", "join_mode": "open"},
        refused_as_missing=frozenset({OTHER_ADMIN, STRANGER}),
    ),
    # one space
    Row("GET", S, NET_MEMBER, 200, (OTHER_ADMIN, STRANGER, ANON)),
    Row("GET", S, MEMBER, 200, (NET_MEMBER, OTHER_ADMIN, STRANGER, ANON), use={"space_id": "hidden_id"}),
    Row("PATCH", S, FACILITATOR, 200, MANAGERS_ONLY, {"settings": {"meetings.virtual_per_year": 5}}),
    Row("PATCH", S, ADMIN, 200, MANAGERS_ONLY, {"name": "Renamed by an admin"}),
    Row("GET", S + "/hierarchy", MEMBER, 200, (OTHER_ADMIN, STRANGER, ANON)),
    Row("GET", S + "/policy", MEMBER, 200, (OTHER_ADMIN, STRANGER, ANON)),
    Row(
        "PUT",
        S + "/facilitators/{account_id}",
        FACILITATOR,
        201,
        MANAGERS_ONLY,
        {"trained": True},
        use={"account_id": "target_id"},
    ),
    Row("DELETE", S + "/facilitators/{account_id}", ADMIN, 204, MANAGERS_ONLY, use={"account_id": "fac2_id"}),
    Row("POST", S + "/join", NET_MEMBER, 200, (OTHER_ADMIN, STRANGER, ANON), {"message": "hello"}),
    Row("POST", S + "/leave", MEMBER, 200, (OTHER_ADMIN, STRANGER, ANON)),
    Row("GET", S + "/members", MEMBER, 200, (OPERATOR, ADMIN, NET_MEMBER, OTHER_ADMIN, STRANGER, ANON)),
    Row("DELETE", S + "/members/{account_id}", FACILITATOR, 200, MANAGERS_ONLY, use={"account_id": "member2_id"}),
    Row("PUT", S + "/bans/{account_id}", FACILITATOR, 200, MANAGERS_ONLY, use={"account_id": "target_id"}),
    Row("DELETE", S + "/bans/{account_id}", ADMIN, 204, MANAGERS_ONLY, use={"account_id": "banned_id"}),
    Row("GET", S + "/requests", FACILITATOR, 200, (OPERATOR, ADMIN, MEMBER, NET_MEMBER, OTHER_ADMIN, STRANGER, ANON)),
    Row(
        "GET", S + "/requests/{request_id}", FACILITATOR, 200, (ADMIN, MEMBER, NET_MEMBER, OTHER_ADMIN, STRANGER, ANON)
    ),
    Row("POST", S + "/requests/{request_id}/approve", FACILITATOR, 200, (ADMIN, *MANAGERS_ONLY)),
    Row("POST", S + "/requests/{request_id}/decline", FACILITATOR, 200, (ADMIN, *MANAGERS_ONLY)),
    Row("POST", S + "/invitations", FACILITATOR, 201, MANAGERS_ONLY, {"account_id": "{target_id}"}),
    Row("POST", S + "/invitations", ADMIN, 201, MANAGERS_ONLY, {"account_id": "{target_id}"}),
    # chat: mutes (facilitators only, not admins: chat is for the people in the room), read markers
    Row("GET", S + "/mutes", FACILITATOR, 200, (OPERATOR, ADMIN, *MANAGERS_ONLY)),
    Row(
        "PUT",
        S + "/mutes/{account_id}",
        FACILITATOR,
        201,
        (OPERATOR, ADMIN, *MANAGERS_ONLY),
        use={"account_id": "member_id"},
    ),
    Row(
        "DELETE",
        S + "/mutes/{account_id}",
        FACILITATOR,
        204,
        (OPERATOR, ADMIN, *MANAGERS_ONLY),
        use={"account_id": "member2_id"},
    ),
    Row("PUT", S + "/read", MEMBER, 200, (OPERATOR, ADMIN, NET_MEMBER, OTHER_ADMIN, STRANGER, ANON), {"seq": 0}),
    # policy templates
    Row("POST", N + "/templates", ADMIN, 201, ADMINS_ONLY, {"name": "New rule", "constraints": {}}),
    Row("GET", N + "/templates", NET_MEMBER, 200, (OTHER_ADMIN, STRANGER, ANON)),
    Row("GET", N + "/templates/{template_id}", NET_MEMBER, 200, (OTHER_ADMIN, STRANGER, ANON)),
    Row(
        "PUT",
        N + "/templates/{template_id}",
        ADMIN,
        200,
        ADMINS_ONLY,
        {"constraints": {"meetings.in_person_per_year": {"max": 50}}},
    ),
    Row(
        "PUT",
        N + "/templates/{template_id}",
        ADMIN,
        200,
        ADMINS_ONLY,
        {"constraints": {"meetings.in_person_per_year": {"max": 40}}},
        {"dry_run": "true"},
    ),
    Row("PUT", N + "/templates/{template_id}/attach", ADMIN, 201, ADMINS_ONLY),
    Row(
        "DELETE", N + "/templates/{template_id}/attach", ADMIN, 204, ADMINS_ONLY, use={"template_id": "net_template_id"}
    ),
    Row("PUT", S + "/templates/{template_id}", ADMIN, 201, ADMINS_ONLY),
    Row("DELETE", S + "/templates/{template_id}", ADMIN, 204, ADMINS_ONLY, use={"template_id": "space_template_id"}),
    Row("GET", N + "/compliance", ADMIN, 200, ADMINS_ONLY),
    # meetings of a space (services/meetings)
    Row("POST", S + "/meetings", FACILITATOR, 201, MANAGERS_ONLY, MEETING),
    Row("POST", S + "/meetings", ADMIN, 201, MANAGERS_ONLY, MEETING),
    Row("GET", S + "/meetings", MEMBER, 200, (NET_MEMBER, OTHER_ADMIN, STRANGER, ANON)),
    Row("GET", S + "/meetings", ADMIN, 200, (NET_MEMBER, OTHER_ADMIN, STRANGER, ANON)),
    Row("PATCH", S + "/meetings/{meeting_id}", FACILITATOR, 200, MANAGERS_ONLY, {"title": "Moved"}),
    Row("DELETE", S + "/meetings/{meeting_id}", ADMIN, 200, MANAGERS_ONLY),
    Row("PUT", N + "/time-zone", ADMIN, 200, ADMINS_ONLY, {"time_zone": "America/Chicago"}),
    Row("GET", S + "/calendar.ics", MEMBER, 200, NOT_IN_S),
    Row(
        "PUT",
        N + "/templates/{template_id}/target",
        ADMIN,
        200,
        ADMINS_ONLY,
        {"leaf_only": True},
        use={"template_id": "net_template_id"},
    ),
    Row("GET", N + "/exemptions", ADMIN, 200, ADMINS_ONLY),
    Row("GET", N + "/insights", ADMIN, 200, ADMINS_ONLY),
    Row("GET", N + "/insights/export.csv", ADMIN, 200, ADMINS_ONLY),
    Row("GET", N + "/insights/charts/{chart}", ADMIN, 200, ADMINS_ONLY),
    Row(
        "PUT",
        N + "/insights/staff",
        ADMIN,
        200,
        ADMINS_ONLY,
        {"year": "2026-27", "staff_total": 120, "staff_retained": 100},
    ),
    Row(
        "POST",
        N + "/events",
        ADMIN,
        201,
        ADMINS_ONLY,
        {
            "title": "Institute",
            "kind": "convening",
            "starts_at": "2030-07-10T09:00:00Z",
            "ends_at": "2030-07-11T17:00:00Z",
        },
    ),
    Row("GET", N + "/events", NET_MEMBER, 200, (OTHER_ADMIN, STRANGER, ANON)),
    Row("DELETE", N + "/events/{event_id}", ADMIN, 200, ADMINS_ONLY),
    Row(
        "PUT",
        S + "/meetings/{meeting_id}/attendance",
        FACILITATOR,
        200,
        MANAGERS_ONLY,
        {"count": 2},
        use={"meeting_id": "past_meeting_id"},
    ),
    Row(
        "PUT",
        S + "/series/{series_id}/attendance",
        FACILITATOR,
        200,
        MANAGERS_ONLY,
        {"original_start": "2025-01-15T17:00:00Z", "count": 2},
        use={"series_id": "past_series_id"},
    ),
    Row(
        "POST",
        S + "/meetings/{meeting_id}/check-in",
        MEMBER,
        201,
        (ADMIN, OPERATOR, NET_MEMBER, OTHER_ADMIN, STRANGER, ANON),
        use={"meeting_id": "open_meeting_id"},
    ),
    Row(
        "POST",
        S + "/series/{series_id}/check-in",
        MEMBER,
        201,
        (ADMIN, OPERATOR, NET_MEMBER, OTHER_ADMIN, STRANGER, ANON),
        {"original_start": "{open_start}"},
        use={"series_id": "open_series_id"},
    ),
    Row("GET", S + "/check-ins", MEMBER, 200, NOT_IN_S),
    Row("POST", N + "/exemptions", ADMIN, 201, ADMINS_ONLY, {"space_id": "{hidden_id}", "reason": "An umbrella"}),
    Row("DELETE", N + "/exemptions/{exemption_id}", ADMIN, 204, ADMINS_ONLY),
    Row("GET", S + "/calendar.ics", FACILITATOR, 200, (ADMIN, OPERATOR, NET_MEMBER, OTHER_ADMIN, STRANGER, ANON)),
    Row("GET", "/api/v1/me/calendar-feed", MEMBER, 200, (ANON,)),
    Row("POST", "/api/v1/me/calendar-feed", MEMBER, 201, (ANON,)),
    Row("DELETE", "/api/v1/me/calendar-feed", MEMBER, 204, (ANON,)),
    Row("POST", S + "/series", FACILITATOR, 201, MANAGERS_ONLY, SERIES),
    Row("GET", S + "/series", MEMBER, 200, NOT_IN_S),
    Row("GET", S + "/series/{series_id}", MEMBER, 200, NOT_IN_S),
    Row("PATCH", S + "/series/{series_id}", FACILITATOR, 200, MANAGERS_ONLY, {"title": "Moved"}),
    Row("DELETE", S + "/series/{series_id}", ADMIN, 200, MANAGERS_ONLY),
    Row(
        "PUT",
        S + "/series/{series_id}/exceptions",
        FACILITATOR,
        200,
        MANAGERS_ONLY,
        {"original_start": "2030-02-15T17:00:00Z", "action": "skip"},
    ),
    Row("GET", "/api/v1/policy/parameters", STRANGER, 200, (ANON,)),
    # sharing agreements (services/sharing): S offered to "other" (pending); "home" trusts "third"
    Row("POST", S + "/shares", ADMIN, 201, ADMINS_ONLY, {"guest_network": "third"}),
    Row("GET", N + "/shares", ADMIN, 200, ADMINS_ONLY),
    Row(
        "POST",
        N + "/shares/{share_id}/accept",
        OTHER_ADMIN,
        200,
        (ADMIN, FACILITATOR, MEMBER, NET_MEMBER, STRANGER, ANON),
        {"constraints": {"chat.retention_days": {"max": 90}}},
        use={"slug": "other_slug"},
    ),
    Row(
        "POST",
        N + "/shares/{share_id}/decline",
        OTHER_ADMIN,
        200,
        (ADMIN, FACILITATOR, MEMBER, NET_MEMBER, STRANGER, ANON),
        use={"slug": "other_slug"},
    ),
    Row("DELETE", "/api/v1/shares/{share_id}", ADMIN, 200, (FACILITATOR, MEMBER, NET_MEMBER, STRANGER, ANON)),
    Row("DELETE", "/api/v1/shares/{share_id}", OTHER_ADMIN, 200, (FACILITATOR, MEMBER, NET_MEMBER, STRANGER, ANON)),
    Row("GET", N + "/trusted-networks", ADMIN, 200, ADMINS_ONLY),
    Row("PUT", N + "/trusted-networks/{host_slug}", ADMIN, 201, ADMINS_ONLY, use={"host_slug": "other_slug"}),
    Row("DELETE", N + "/trusted-networks/{host_slug}", ADMIN, 204, ADMINS_ONLY, use={"host_slug": "third_slug"}),
    # identity: the network's provider and clients, the caller's linked identities (services/identity)
    Row(
        "PUT",
        N + "/identity-provider",
        ADMIN,
        200,
        ADMINS_ONLY,
        {"issuer": "{issuer}", "client_id": "aff", "client_secret": "s3cret", "email_domains": ["home.example"]},
    ),
    Row("GET", N + "/identity-provider", ADMIN, 200, ADMINS_ONLY),
    Row("DELETE", N + "/identity-provider", ADMIN, 204, ADMINS_ONLY),
    Row(
        "POST", N + "/clients", ADMIN, 201, ADMINS_ONLY, {"name": "Tool", "redirect_uris": ["https://tool.example/cb"]}
    ),
    Row("GET", N + "/clients", ADMIN, 200, ADMINS_ONLY),
    Row("GET", N + "/email-domains", ADMIN, 200, ADMINS_ONLY),
    Row("GET", "/api/v1/email-domain-claims", OPERATOR, 200, (ADMIN, OTHER_ADMIN, MEMBER, STRANGER, ANON)),
    Row("POST", "/api/v1/email-domain-claims/{claim_id}/approve", OPERATOR, 200, (ADMIN, OTHER_ADMIN, STRANGER, ANON)),
    Row("POST", "/api/v1/email-domain-claims/{claim_id}/reject", OPERATOR, 200, (ADMIN, OTHER_ADMIN, STRANGER, ANON)),
    Row("DELETE", N + "/clients/{client_id}", ADMIN, 204, ADMINS_ONLY),
    Row("POST", N + "/clients/{client_id}/secret", ADMIN, 200, ADMINS_ONLY),
    Row("GET", "/api/v1/me/identities", MEMBER, 200, (ANON,)),
    # notifications (services/notifications)
    Row("GET", "/api/v1/me/notifications", STRANGER, 200, (ANON,)),
    Row("POST", "/api/v1/me/notifications/{notification_id}/read", MEMBER, 204, (ADMIN, STRANGER, ANON)),
    Row("GET", "/api/v1/me/notification-preferences", STRANGER, 200, (ANON,)),
    Row("PUT", "/api/v1/me/notification-preferences/{kind}", STRANGER, 200, (ANON,), {"channel": "in_app"}),
    # invitations by e-mail (services/invitations)
    Row("POST", S + "/email-invitations", FACILITATOR, 201, MANAGERS_ONLY, {"email": "fresh@example.org"}),
    Row("POST", S + "/email-invitations", ADMIN, 201, MANAGERS_ONLY, {"email": "fresh@example.org"}),
    Row("GET", S + "/email-invitations", FACILITATOR, 200, MANAGERS_ONLY),
    Row("DELETE", S + "/email-invitations/{invitation_id}", FACILITATOR, 204, MANAGERS_ONLY),
    Row("GET", "/api/v1/me/invitations", STRANGER, 200, (ANON,)),
    Row("POST", "/api/v1/me/invitations/{invitation_id}/accept", NET_MEMBER, 200, (ADMIN, FACILITATOR, STRANGER, ANON)),
    Row("POST", "/api/v1/me/invitations/{invitation_id}/decline", NET_MEMBER, 204, (ADMIN, MEMBER, STRANGER, ANON)),
    # directory (services/directory)
    Row("GET", N + "/directory", NET_MEMBER, 200, (OTHER_ADMIN, STRANGER, ANON)),
    Row("GET", N + "/directory-settings", ADMIN, 200, ADMINS_ONLY),
    Row("PUT", N + "/directory-settings", ADMIN, 200, ADMINS_ONLY, {"public": True}),
    Row("PUT", S + "/public-listing", ADMIN, 204, ADMINS_ONLY, {"how_to_join": "Ask at orientation."}),
    Row("DELETE", S + "/public-listing", ADMIN, 204, ADMINS_ONLY),
    # stewardship (services/stewardship)
    Row("DELETE", N + "/members/{account_id}", ADMIN, 200, ADMINS_ONLY, use={"account_id": "member2_id"}),
    Row("PUT", S + "/archive", ADMIN, 200, ADMINS_ONLY),
    Row("DELETE", S + "/archive", ADMIN, 200, ADMINS_ONLY, use={"space_id": "archived_id"}),
    # facilitators (services/facilitation); an outside facilitator sees S, never the network's roster
    Row("GET", N + "/members", ADMIN, 200, (OUTSIDE,)),
    Row("GET", N + "/spaces", NET_MEMBER, 200, (OUTSIDE,)),
    Row("GET", S + "/members", OUTSIDE, 200, (NET_MEMBER, STRANGER, ANON)),
    Row("GET", S + "/policy", OUTSIDE, 200, (STRANGER, ANON)),
    Row("GET", N + "/facilitators", ADMIN, 200, (OUTSIDE, *ADMINS_ONLY)),
    Row("POST", N + "/trainings", ADMIN, 201, (OUTSIDE, *ADMINS_ONLY), TRAINING),
    Row("DELETE", N + "/trainings/{training_id}", ADMIN, 204, (OUTSIDE, *ADMINS_ONLY)),
    Row(
        "PUT",
        N + "/compensation/{account_id}",
        ADMIN,
        204,
        (OUTSIDE, *ADMINS_ONLY),
        {"compensated": True},
        use={"account_id": "facilitator_id"},
    ),
    Row(
        "PUT",
        S + "/outside-facilitators/{account_id}",
        ADMIN,
        200,
        (OUTSIDE, *ADMINS_ONLY),
        use={"account_id": "target_id"},
    ),
    # proposals (services/proposals); the world's proposal is NET_MEMBER's, waiting for their answer
    Row("POST", N + "/proposals", NET_MEMBER, 201, (OTHER_ADMIN, STRANGER, ANON), PROPOSAL),
    Row("GET", N + "/proposals", NET_MEMBER, 200, (OTHER_ADMIN, STRANGER, ANON)),
    Row("GET", N + "/proposals/{proposal_id}", ADMIN, 200, (FACILITATOR, MEMBER, OTHER_ADMIN, STRANGER, ANON)),
    Row("GET", N + "/proposals/{proposal_id}", NET_MEMBER, 200, (FACILITATOR, MEMBER, OTHER_ADMIN, STRANGER, ANON)),
    Row("POST", N + "/proposals/{proposal_id}/question", ADMIN, 200, ADMINS_ONLY, {"question": "When?"}),
    Row("POST", N + "/proposals/{proposal_id}/answer", NET_MEMBER, 200, NOT_PROPOSER, {"answer": "Monthly."}),
    Row("POST", N + "/proposals/{proposal_id}/approve", ADMIN, 200, ADMINS_ONLY),
    Row("POST", N + "/proposals/{proposal_id}/decline", ADMIN, 200, ADMINS_ONLY, {"reason": "Not now."}),
    Row("POST", N + "/proposals/{proposal_id}/withdraw", NET_MEMBER, 200, NOT_PROPOSER),
    # the world's proposal names MEMBER as a facilitator: only MEMBER answers (not the proposer)
    Row("GET", "/api/v1/me/facilitation-requests", MEMBER, 200, (ANON,)),
    Row("POST", "/api/v1/me/facilitation-requests/{proposal_id}/accept", MEMBER, 200, NOT_ASKED),
    Row("POST", "/api/v1/me/facilitation-requests/{proposal_id}/decline", MEMBER, 200, NOT_ASKED),
    Row(
        "DELETE",
        "/api/v1/me/identities/{identity_id}",
        MEMBER,
        204,
        (OPERATOR, ADMIN, OTHER_ADMIN, FACILITATOR, NET_MEMBER, STRANGER, ANON),  # not theirs: 404
    ),
)


def _api_routes(app: Litestar) -> set[tuple[str, str]]:
    out = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path_format.startswith(API + "/"):
            out |= {(m, route.path_format) for m in route.methods - {"OPTIONS", "HEAD"}}
    return out


def test_every_endpoint_has_a_row(app: Litestar) -> None:
    routes = _api_routes(app)
    unclassified = {
        (m, p) for m, p in routes if not p.startswith(COVERED_PREFIXES) and not p.startswith(EXCLUDED_PREFIXES)
    }
    assert not unclassified, f"endpoints of no known area (cover them here or exclude them by prefix): {unclassified}"
    covered = {(m, p) for m, p in routes if p.startswith(COVERED_PREFIXES) and not p.startswith(EXCLUDED_PREFIXES)}
    rows = {(r.method, r.path) for r in MATRIX}
    assert covered - rows == set(), f"endpoints without a row in MATRIX: {sorted(covered - rows)}"
    assert rows - covered == set(), f"rows for endpoints that no longer exist: {sorted(rows - covered)}"
    for row in MATRIX:
        assert row.allowed not in row.refused, row.id
        assert row.refused, f"{row.id}: name at least one refused role"


async def fingerprint(session: AsyncSession) -> dict[str, str]:
    """Row count and a digest of every row of each written table."""
    out = {}
    for table in WRITTEN_TABLES:
        row = (
            await session.execute(
                text(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t")
            )
        ).one()
        out[table] = f"{row[0]}:{row[1]}"
    return out


@pytest.fixture(scope="module")
def upstream_issuer() -> Iterator[str]:
    """A real OIDC provider on loopback, so connecting one (discovery, JWKS) can succeed."""
    with scripted_idp() as idp:
        yield idp.issuer


@pytest.fixture
async def world(db_session: AsyncSession, upstream_issuer: str) -> dict[str, str]:
    """Network "home" with an identity space S (listed, join by request, two facilitators, two
    members, a pending request, a banned account), a sub-space, an unlisted invite-only space
    with one member; network "other" with its own admin; templates unattached, attached to the
    network and attached to S."""
    home = await make_network(db_session, slug="home", kind="district")
    other = await make_network(db_session, slug="other", kind="district")
    who: dict[str, Any] = {}
    for name in (OPERATOR, ADMIN, OTHER_ADMIN, FACILITATOR, MEMBER, NET_MEMBER, STRANGER):
        who[name] = await make_account(db_session, operator=name == OPERATOR, name=name)
    extra = {n: await make_account(db_session, name=n) for n in ("fac2", "member2", "target", "banned", "requester")}
    await add_member(db_session, home, who[ADMIN], "admin")
    await add_member(db_session, other, who[OTHER_ADMIN], "admin")
    for name in (FACILITATOR, MEMBER, NET_MEMBER):
        await add_member(db_session, home, who[name], "member")
    for account in extra.values():
        await add_member(db_session, home, account, "member")
    # An account in no network, for the admin to add by e-mail.
    await make_account(db_session, name="newcomer", email="newcomer@example.org")
    space = await make_space(
        db_session,
        home,
        name="Latina principals",
        kind="identity",
        join_mode="request",
        settings={"membership.join_mode": "request", "meetings.virtual_per_year": 3},
    )
    await make_space(db_session, home, name="Latina new principals", parent=space, join_mode="parent_members")
    hidden = await make_space(db_session, home, name="Hidden", join_mode="invite", visibility="unlisted")
    await add_facilitators(db_session, space, who[FACILITATOR], extra["fac2"])
    outside = await make_account(db_session, name=OUTSIDE)
    db_session.add(
        SpaceMember(
            space_id=space.id,
            account_id=outside.id,
            role="facilitator",
            status="active",
            own_standing=True,
            outside=True,
        )
    )
    await add_space_member(db_session, space, who[MEMBER])
    await add_space_member(db_session, space, extra["member2"])
    await add_space_member(db_session, space, extra["banned"], status="banned")
    db_session.add(ChatMute(space_id=space.id, account_id=extra["member2"].id))
    await add_space_member(db_session, hidden, who[MEMBER])
    request = SpaceJoinRequest(
        id=uuid.uuid4(), space_id=space.id, account_id=extra["requester"].id, kind="request", status="pending"
    )
    db_session.add(request)
    template = await make_template(db_session, home, {"meetings.in_person_per_year": {"min": 0}}, name="Gatherings")
    net_template = await make_template(
        db_session, home, {"meetings.virtual_per_year": {"max": 52}}, name="At most weekly", attach_to=home
    )
    space_template = await make_template(
        db_session, home, {"chat.posting": {"allowed": ["members", "facilitators"]}}, name="Posting", attach_to=space
    )
    meeting = Meeting(
        id=uuid.uuid4(),
        space_id=space.id,
        kind="in_person",
        title="Gathering",
        starts_at=dt.datetime(2030, 3, 1, 18, tzinfo=dt.UTC),
        duration_minutes=120,
        components=["story"],
    )
    db_session.add(meeting)
    series = MeetingSeries(
        id=uuid.uuid4(),
        space_id=space.id,
        kind="virtual",
        title="Monthly",
        start_local=dt.datetime(2030, 1, 15, 9),
        time_zone="America/Los_Angeles",
        rule="FREQ=MONTHLY;COUNT=3",
        duration_minutes=60,
        components=["quote"],
        first_start=dt.datetime(2030, 1, 15, 17, tzinfo=dt.UTC),
        last_start=dt.datetime(2030, 3, 15, 16, tzinfo=dt.UTC),
    )
    db_session.add(series)
    await db_session.flush()
    exemption = PolicyExemption(
        id=uuid.uuid4(), network_id=home.id, space_id=space.id, template_id=None, reason="Holds groups only"
    )
    db_session.add(exemption)
    event = NetworkEvent(
        id=uuid.uuid4(),
        network_id=home.id,
        title="Convening",
        kind="convening",
        starts_at=dt.datetime(2030, 3, 1, 9, tzinfo=dt.UTC),
        ends_at=dt.datetime(2030, 3, 2, 17, tzinfo=dt.UTC),
    )
    past_meeting = Meeting(
        id=uuid.uuid4(),
        space_id=space.id,
        kind="virtual",
        title="Last year",
        starts_at=dt.datetime(2025, 3, 1, 18, tzinfo=dt.UTC),
        duration_minutes=60,
        components=["quote"],
    )
    past_series = MeetingSeries(
        id=uuid.uuid4(),
        space_id=space.id,
        kind="virtual",
        title="Last year's monthly",
        start_local=dt.datetime(2025, 1, 15, 9),
        time_zone="America/Los_Angeles",
        rule="FREQ=MONTHLY;COUNT=2",
        duration_minutes=60,
        components=["quote"],
        first_start=dt.datetime(2025, 1, 15, 17, tzinfo=dt.UTC),
        last_start=dt.datetime(2025, 2, 15, 17, tzinfo=dt.UTC),
    )
    # Open for self check-in now (it opens 15 minutes before the start).
    open_start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    open_meeting = Meeting(
        id=uuid.uuid4(),
        space_id=space.id,
        kind="virtual",
        title="Now",
        starts_at=open_start,
        duration_minutes=60,
        components=["quote"],
    )
    open_series = MeetingSeries(
        id=uuid.uuid4(),
        space_id=space.id,
        kind="virtual",
        title="Daily, now",
        start_local=open_start.replace(tzinfo=None),
        time_zone="UTC",
        rule="FREQ=DAILY;COUNT=1",
        duration_minutes=60,
        components=["quote"],
        first_start=open_start,
        last_start=open_start,
    )
    db_session.add_all([event, past_meeting, past_series, open_meeting, open_series])
    third = await make_network(db_session, slug="third", kind="district")
    share = Share(
        id=uuid.uuid4(),
        space_id=space.id,
        host_network_id=home.id,
        guest_network_id=other.id,
        created_at=dt.datetime.now(dt.UTC),
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=14),
    )
    db_session.add(share)
    db_session.add(TrustedNetwork(network_id=home.id, trusted_network_id=third.id))
    issuer = upstream_issuer
    db_session.add(
        UpstreamProvider(
            id=uuid.uuid4(),
            network_id=home.id,
            issuer=issuer,
            client_id="aff",
            client_secret_enc=b"sealed",
            authorization_endpoint=issuer + "/authorize",
            token_endpoint=issuer + "/token",
            jwks_uri=issuer + "/jwks",
            id_token_algs=["RS256"],
        )
    )
    claim = EmailDomainClaim(id=uuid.uuid4(), network_id=home.id, domain="home.example", status="pending")
    db_session.add(claim)
    oidc_client = OidcClient(
        id=uuid.uuid4(),
        network_id=home.id,
        name="Home LMS",
        client_id="afc_home_lms",
        secret_hash=crypto.digest("afs_secret"),
        redirect_uris=["https://lms.home.example/cb"],
    )
    db_session.add(oidc_client)
    notification = Notification(id=uuid.uuid4(), account_id=who[MEMBER].id, kind="invitation", title="Hello")
    db_session.add(notification)
    invitation = SpaceInvitation(
        id=uuid.uuid4(),
        space_id=space.id,
        space_name=space.name,
        network_id=home.id,
        email=who[NET_MEMBER].email,
        token_hash=b"not-a-real-token-hash",
        message="",
        for_new_person=False,
        status="pending",
        invited_by=who[FACILITATOR].id,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=14),
    )
    db_session.add(invitation)
    proposal = SpaceProposal(
        id=uuid.uuid4(),
        network_id=home.id,
        proposed_by=who[NET_MEMBER].id,
        name="Proposed circle",
        kind="topic",
        purpose="Meet and read.",
        status="question",
        question="How often?",
        facilitator_ids=[who[MEMBER].id],
        proposer_facilitates=True,
    )
    db_session.add(proposal)
    await db_session.flush()
    db_session.add(ProposalFacilitator(proposal_id=proposal.id, account_id=who[MEMBER].id, answer="pending"))
    db_session.add(PublicSpace(space_id=space.id, network_id=home.id, how_to_join=""))
    training = FacilitatorTraining(
        id=uuid.uuid4(),
        network_id=home.id,
        account_id=who[FACILITATOR].id,
        course="Circle keeping",
        completed_on=dt.date(2026, 1, 10),
    )
    db_session.add(training)
    archived = await make_space(db_session, home, name="Archived circle")
    archived.archived_at = dt.datetime.now(dt.UTC)
    identities = [
        LinkedIdentity(id=uuid.uuid4(), account_id=who[MEMBER].id, issuer=issuer, subject=f"member-{n}")
        for n in range(2)  # two, so unlinking one leaves a way to sign in
    ]
    db_session.add_all(identities)
    await db_session.flush()
    out = {
        "issuer": issuer,
        "client_id": oidc_client.client_id,
        "identity_id": str(identities[0].id),
        "claim_id": str(claim.id),
        "slug": home.slug,
        "other_slug": other.slug,
        "third_slug": third.slug,
        "share_id": str(share.id),
        "meeting_id": str(meeting.id),
        "notification_id": str(notification.id),
        "invitation_id": str(invitation.id),
        "proposal_id": str(proposal.id),
        "archived_id": str(archived.id),
        "training_id": str(training.id),
        "kind": "invitation",
        "series_id": str(series.id),
        "exemption_id": str(exemption.id),
        "chart": "trend-members.svg",
        "event_id": str(event.id),
        "past_meeting_id": str(past_meeting.id),
        "past_series_id": str(past_series.id),
        "open_meeting_id": str(open_meeting.id),
        "open_series_id": str(open_series.id),
        "open_start": open_start.isoformat(),
        "space_id": str(space.id),
        "hidden_id": str(hidden.id),
        "request_id": str(request.id),
        "template_id": str(template.id),
        "net_template_id": str(net_template.id),
        "space_template_id": str(space_template.id),
        **{f"{n}_id": str(a.id) for n, a in [*extra.items(), *who.items()]},
    }
    for name, account in who.items():
        out[f"token:{name}"] = await make_token(db_session, account)
    out[f"token:{OUTSIDE}"] = await make_token(db_session, outside)
    await db_session.commit()
    return out


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("row", MATRIX, ids=[r.id + (" ?" + "&".join(r.query) if r.query else "") for r in MATRIX])
async def test_matrix(client, world, db_session: AsyncSession, row: Row) -> None:
    url = row.path.format(**{**world, **{k: world[v] for k, v in row.use.items()}})
    body = _fill(row.body, world) if row.body is not None else None

    async def call(who: str) -> Any:
        headers = {} if who == ANON else bearer(world[f"token:{who}"])
        kwargs: dict[str, Any] = {"headers": headers, "params": row.query}
        if body is not None:
            kwargs["json"] = body
        return await client.request(row.method, url, **kwargs)

    before = await fingerprint(db_session)
    for who in row.refused:
        r = await call(who)
        expected = {401} if who == ANON else {422} if who in row.refused_as_missing else {403, 404}
        assert r.status_code in expected, f"{row.id} as {who}: {r.status_code} {r.text}"
        assert r.json()["error"]["code"], r.text
        await db_session.rollback()  # a fresh snapshot for the next read
        assert await fingerprint(db_session) == before, f"{row.id} as {who} was refused but wrote something"
    r = await call(row.allowed)
    assert r.status_code == row.status, f"{row.id} as {row.allowed}: {r.status_code} {r.text}"


async def test_identity_space_member_list_is_the_same_404_as_a_missing_space(client, world, db_session) -> None:
    """Non-members learn nothing from the member list of an identity space, not even that it exists."""
    missing = str(uuid.uuid4())
    for who in (NET_MEMBER, ADMIN, OPERATOR, OTHER_ADMIN, STRANGER):
        headers = bearer(world[f"token:{who}"])
        real = await client.get(f"/api/v1/spaces/{world['space_id']}/members", headers=headers)
        fake = await client.get(f"/api/v1/spaces/{missing}/members", headers=headers)
        assert real.status_code == fake.status_code == 404, (who, real.text)
        assert real.json()["error"]["code"] == fake.json()["error"]["code"] == "space_not_found"
        assert real.json()["error"]["message"].replace(world["space_id"], missing) == fake.json()["error"]["message"]
        assert real.json()["error"]["details"] == fake.json()["error"]["details"]
    # A member sees it: facilitator, fac2, member, member2, the outside facilitator (not the banned account).
    r = await client.get(f"/api/v1/spaces/{world['space_id']}/members", headers=bearer(world[f"token:{MEMBER}"]))
    assert r.status_code == 200 and len(r.json()["items"]) == 5
