"""Handing one message to an SMTP server (aiosmtplib), and telling permanent from passing failures."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from services.settings import Settings

SMTP_TIMEOUT = 30.0
"""Seconds for one SMTP conversation before it counts as a passing failure."""


class DeliveryError(Exception):
    """Delivery failed; ``permanent`` when retrying cannot help (the server said 5xx)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    """Something that delivers a message or raises :class:`DeliveryError`."""

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message``."""


@dataclass(frozen=True)
class SmtpTransport:
    """SMTP with the service's settings: STARTTLS, TLS or plain, optional authentication."""

    host: str
    port: int
    security: str
    username: str | None = None
    password: str | None = None
    timeout: float = SMTP_TIMEOUT

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTransport:
        """The transport the settings describe (``smtp_host`` must be set)."""
        assert settings.smtp_host is not None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message``; map every failure to :class:`DeliveryError`."""
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.security == "tls",
                start_tls=True if self.security == "starttls" else False,  # noqa: SIM210 - None would mean "if offered"
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise DeliveryError(f"recipient refused: {exc}", permanent=all(c >= 500 for c in codes)) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.code}: {exc.message}", permanent=exc.code >= 500) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False) from None
