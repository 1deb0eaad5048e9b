"""Names of the browser cookies that carry a sign-in (shared by the auth guards and the identity area)."""

from __future__ import annotations

SESSION_COOKIE = "affinity_session"
"""The web session: 256 random bits; the database keeps only their hash."""
CSRF_COOKIE = "affinity_csrf"
"""Before sign-in: a random value the sign-in form's CSRF token is bound to."""
