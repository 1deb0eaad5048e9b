"""All ORM models, imported so that ``Base.metadata`` knows every table."""

from services.persistence.models.accounts import Account, ApiToken
from services.persistence.models.audit import AuditEvent
from services.persistence.models.chat import ChatRoom, Message
from services.persistence.models.meetings import CalendarFeed, Meeting, MeetingSeries, MeetingSeriesException
from services.persistence.models.networks import Network, NetworkMember
from services.persistence.models.program_year import (
    NetworkEvent,
    OccurrenceAttendance,
    PolicyExemption,
    StaffFigure,
)
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
    "CalendarFeed",
    "ChatRoom",
    "Meeting",
    "MeetingSeries",
    "MeetingSeriesException",
    "Message",
    "Network",
    "NetworkEvent",
    "NetworkMember",
    "OccurrenceAttendance",
    "PolicyAttachment",
    "PolicyExemption",
    "PolicyTemplate",
    "PolicyTemplateVersion",
    "Share",
    "ShareMembership",
    "Space",
    "SpaceJoinRequest",
    "SpaceMember",
    "SpaceNoncompliance",
    "StaffFigure",
    "TrustedNetwork",
]
