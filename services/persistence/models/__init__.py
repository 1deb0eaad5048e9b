"""All ORM models, imported so that ``Base.metadata`` knows every table."""

from services.persistence.models.accounts import Account, ApiToken
from services.persistence.models.audit import AuditEvent
from services.persistence.models.chat import ChatRoom, Message
from services.persistence.models.meetings import Meeting
from services.persistence.models.networks import Network, NetworkMember
from services.persistence.models.resources import Resource, ResourceBlob
from services.persistence.models.sharing import Share, ShareMembership, TrustedNetwork
from services.persistence.models.spaces import (
    PolicyAttachment,
    PolicyTemplate,
    PolicyTemplateVersion,
    Space,
    SpaceJoinRequest,
    SpaceMember,
    SpaceNoncompliance,
)

__all__ = [
    "Account",
    "ApiToken",
    "AuditEvent",
    "ChatRoom",
    "Meeting",
    "Message",
    "Network",
    "NetworkMember",
    "PolicyAttachment",
    "PolicyTemplate",
    "PolicyTemplateVersion",
    "Resource",
    "ResourceBlob",
    "Share",
    "ShareMembership",
    "Space",
    "SpaceJoinRequest",
    "SpaceMember",
    "SpaceNoncompliance",
    "TrustedNetwork",
]
