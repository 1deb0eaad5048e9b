"""Notification kinds and what a member's choice for a kind means. Pure."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """Kinds of notification a member can choose a channel for."""

    INVITATION = "invitation"  # you are invited to a space
    JOIN_REQUEST = "join_request"  # (facilitators) someone asks to join your space
    REQUEST_DECIDED = "request_decided"  # your join request was approved or declined
    PROPOSAL_DECIDED = "proposal_decided"  # your proposed group was approved, declined or questioned
    PROPOSAL_SUBMITTED = "proposal_submitted"  # (network admins) a member proposed a group
    FACILITATION_REQUEST = "facilitation_request"  # a proposal names you as a facilitator
    SHARE_OFFERED = "share_offered"  # (network admins) another network offers to share a space
    MEETING_REMINDER = "meeting_reminder"  # a meeting of your space is tomorrow


MAIL_FAILED = "mail_failed"
"""In-app only, not configurable: an e-mail you caused could not be delivered."""


class Channel(StrEnum):
    """How a member wants one kind delivered."""

    EMAIL = "email"  # e-mail, and the in-app list
    IN_APP = "in_app"  # the in-app list only
    OFF = "off"  # nothing


DEFAULT_CHANNEL = Channel.EMAIL


def deliveries(channel: Channel) -> tuple[bool, bool]:
    """(in-app, e-mail) for a channel."""
    return channel is not Channel.OFF, channel is Channel.EMAIL


def after_unsubscribe(channel: Channel) -> Channel:
    """The one-click unsubscribe stops e-mail for the kind but keeps the in-app list (unless off)."""
    return Channel.OFF if channel is Channel.OFF else Channel.IN_APP
