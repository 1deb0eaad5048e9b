"""All ORM models, imported so that ``Base.metadata`` knows every table."""

from services.persistence.models.accounts import Account, ApiToken
from services.persistence.models.audit import AuditEvent
from services.persistence.models.chat import ChatRoom, Message
from services.persistence.models.growing import (
    FacilitatorCompensation,
    FacilitatorTraining,
    MailOutbox,
    MailSuppression,
    MeetingReminder,
    NetworkDirectory,
    Notification,
    NotificationPreference,
    OccurrenceReminder,
    ProposalFacilitator,
    PublicSpace,
    SpaceInvitation,
    SpaceProposal,
)
from services.persistence.models.meetings import CalendarFeed, Meeting, MeetingSeries, MeetingSeriesException
from services.persistence.models.networks import Network, NetworkMember
from services.persistence.models.program_year import (
    MeetingCheckIn,
    NetworkEvent,
    OccurrenceAttendance,
    OccurrenceCheckIn,
    PolicyExemption,
    StaffFigure,
)
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
    "CalendarFeed",
    "ChatRoom",
    "FacilitatorCompensation",
    "FacilitatorTraining",
    "MailOutbox",
    "MailSuppression",
    "Meeting",
    "MeetingCheckIn",
    "MeetingReminder",
    "MeetingSeries",
    "MeetingSeriesException",
    "Message",
    "Network",
    "NetworkDirectory",
    "NetworkEvent",
    "NetworkMember",
    "Notification",
    "NotificationPreference",
    "OccurrenceAttendance",
    "OccurrenceCheckIn",
    "OccurrenceReminder",
    "PolicyAttachment",
    "PolicyExemption",
    "PolicyTemplate",
    "PolicyTemplateVersion",
    "ProposalFacilitator",
    "PublicSpace",
    "Resource",
    "ResourceBlob",
    "Share",
    "ShareMembership",
    "Space",
    "SpaceInvitation",
    "SpaceJoinRequest",
    "SpaceMember",
    "SpaceNoncompliance",
    "SpaceProposal",
    "StaffFigure",
    "TrustedNetwork",
]
