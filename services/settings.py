"""The one settings object, read from the environment once at start.

Every setting is documented in docs/configuration.md. Nothing else in the code base reads
``os.environ``: build a :class:`Settings` with :meth:`Settings.from_env` and pass it down.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal, TypeVar

import msgspec

PREFIX = "AFFINITY_"

BrokerKind = Literal["auto", "memory", "postgres", "redis"]
LogFormat = Literal["auto", "json", "console"]

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting has a value the service cannot use; the message says which and how to fix it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Typed, validated configuration of one service process."""

    database_url: str | None = None
    """PostgreSQL URL. None: start the embedded PostgreSQL in ``data_dir``."""
    redis_url: str | None = None
    data_dir: Path = Path(".affinity")
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    """Externally visible base URL (scheme://host[:port]); defaults to http://host:port."""
    secret_key: str = ""
    """Signs sessions and CSRF tokens. Empty: a random key is generated and kept in data_dir."""
    broker: BrokerKind = "auto"
    log_level: str = "INFO"
    log_format: LogFormat = "auto"
    allowed_origins: tuple[str, ...] = ()
    """Origins allowed to open websockets with the session cookie (public_url is always allowed)."""
    db_pool_size: int = 10
    db_connect_timeout: int = 5
    """Seconds to open a database connection (TCP/socket and sign-in) before giving up with a 503."""
    db_pool_timeout: int = 5
    """Seconds a request waits for a free pooled connection before giving up with a 503."""
    db_statement_timeout: int = 15
    """Seconds one SQL statement may run (server-side statement_timeout; the client gives up shortly after)."""
    program_year_start_month: int = 8
    default_time_zone: str = "UTC"
    """IANA time zone a new network gets unless its creator names one."""
    cookie_secure: bool | None = None
    """Mark cookies Secure. None: when public_url is https."""
    environment: Literal["development", "production", "test"] = "development"
    metrics_multiprocess_dir: Path | None = None
    """Folder where worker processes share Prometheus counters (set by `serve --workers N`)."""
    # Chat websocket limits (realtime/gateway.py, docs/realtime.md)
    chat_send_rate: int = 10
    """Websocket sends (and edits, deletions, history pages) per second per account, all its sockets together."""
    chat_send_burst: int = 30
    """Sends an account may make at once before the rate applies."""
    chat_send_queue: int = 1024
    """Frames waiting for one socket before it is closed with 4408 (a client that reads too slowly)."""
    chat_send_pool: int = 4
    """Database connections per process kept open for websocket sends (beside ``db_pool_size``)."""
    # Identity (services/identity)
    session_lifetime_hours: int = 336
    """How long a web session lasts after sign-in (14 days by default)."""
    login_max_failures: int = 5
    """Failed local sign-ins per e-mail address (and per client address x4) before a pause."""
    login_failure_window_minutes: int = 15
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For/-Proto are believed.
    Empty: none; the client address is the peer's, whatever headers say."""
    oidc_access_token_minutes: int = 60
    oidc_refresh_token_days: int = 30
    signing_key_rotate_days: int = 90
    """Age at which our id_token signing key is replaced; the old one stays published for the grace period."""
    signing_key_grace_days: int = 7
    # E-mail and invitations (services/mail, services/invitations)
    smtp_host: str | None = None
    """SMTP server for outgoing mail. None: mail is off (in-app notifications still work)."""
    smtp_port: int = 587
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "Affinity Federation <no-reply@localhost>"
    mail_max_attempts: int = 8
    """Delivery attempts (with growing pauses) before an e-mail is marked failed."""
    mail_poll_seconds: float = 5.0
    """How often the sender looks for due mail."""
    invitation_days: int = 14
    """How long an invitation link stays valid."""
    reminder_hour: int = 9
    """Local hour (network's time zone) from which the day-before meeting reminders go out."""
    # Resource library (services/resources, services/storage)
    upload_max_mib: int = 25
    """Largest file a resource upload may be, in MiB."""
    storage: Literal["local", "s3"] = "local"
    """Where uploaded files live: ``local`` (data_dir/files) or an S3-compatible bucket."""
    s3_bucket: str | None = None
    s3_endpoint: str | None = None
    """S3-compatible endpoint URL (MinIO, Ceph, R2...); None: AWS for ``s3_region``."""
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None

    @property
    def base_url(self) -> str:
        """The URL people and clients use to reach this service, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in {"0.0.0.0", "127.0.0.1", "::"} else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies carry the Secure flag."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.startswith("https://")

    @property
    def effective_broker(self) -> Literal["memory", "postgres", "redis"]:
        """The broker to use: explicit choice, else Redis when REDIS_URL is set, else PostgreSQL."""
        if self.broker != "auto":
            return self.broker
        return "redis" if self.redis_url else "postgres"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from environment variables; raise :class:`SettingsError` on a bad value."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}

        def take(name: str, field: str, parse: Callable[[str], object]) -> None:
            raw = env.get(name)
            if raw is None or raw == "":
                return
            try:
                values[field] = parse(raw)
            except ValueError as exc:
                raise SettingsError(f"{name}={raw!r} is not valid: {exc}") from None

        take("DATABASE_URL", "database_url", _parse_database_url)
        take("REDIS_URL", "redis_url", _parse_redis_url)
        take(PREFIX + "DATA_DIR", "data_dir", Path)
        take(PREFIX + "HOST", "host", str)
        take(PREFIX + "PORT", "port", _int_between(1, 65535))
        take(PREFIX + "PUBLIC_URL", "public_url", _parse_public_url)
        take(PREFIX + "SECRET_KEY", "secret_key", _parse_secret)
        take(PREFIX + "BROKER", "broker", _choice("auto", "memory", "postgres", "redis"))
        take(PREFIX + "LOG_LEVEL", "log_level", _choice("DEBUG", "INFO", "WARNING", "ERROR", upper=True))
        take(PREFIX + "LOG_FORMAT", "log_format", _choice("auto", "json", "console"))
        take(PREFIX + "ALLOWED_ORIGINS", "allowed_origins", _parse_origins)
        take(PREFIX + "DB_POOL_SIZE", "db_pool_size", _int_between(1, 200))
        take(PREFIX + "DB_CONNECT_TIMEOUT", "db_connect_timeout", _int_between(1, 300))
        take(PREFIX + "DB_POOL_TIMEOUT", "db_pool_timeout", _int_between(1, 300))
        take(PREFIX + "DB_STATEMENT_TIMEOUT", "db_statement_timeout", _int_between(1, 3600))
        take(PREFIX + "PROGRAM_YEAR_START_MONTH", "program_year_start_month", _int_between(1, 12))
        take(PREFIX + "DEFAULT_TIME_ZONE", "default_time_zone", _parse_time_zone)
        take(PREFIX + "COOKIE_SECURE", "cookie_secure", _parse_bool)
        take(PREFIX + "ENVIRONMENT", "environment", _choice("development", "production", "test"))
        take("PROMETHEUS_MULTIPROC_DIR", "metrics_multiprocess_dir", Path)
        take(PREFIX + "CHAT_SEND_RATE", "chat_send_rate", _int_between(1, 10_000))
        take(PREFIX + "CHAT_SEND_BURST", "chat_send_burst", _int_between(1, 100_000))
        take(PREFIX + "CHAT_SEND_QUEUE", "chat_send_queue", _int_between(16, 1_000_000))
        take(PREFIX + "CHAT_SEND_POOL", "chat_send_pool", _int_between(1, 100))
        take(PREFIX + "SESSION_LIFETIME_HOURS", "session_lifetime_hours", _int_between(1, 24 * 90))
        take(PREFIX + "LOGIN_MAX_FAILURES", "login_max_failures", _int_between(1, 1000))
        take(PREFIX + "LOGIN_FAILURE_WINDOW_MINUTES", "login_failure_window_minutes", _int_between(1, 24 * 60))
        take(PREFIX + "TRUSTED_PROXIES", "trusted_proxies", _parse_proxies)
        take(PREFIX + "OIDC_ACCESS_TOKEN_MINUTES", "oidc_access_token_minutes", _int_between(1, 24 * 60))
        take(PREFIX + "OIDC_REFRESH_TOKEN_DAYS", "oidc_refresh_token_days", _int_between(1, 365))
        take(PREFIX + "SIGNING_KEY_ROTATE_DAYS", "signing_key_rotate_days", _int_between(1, 3650))
        take(PREFIX + "SIGNING_KEY_GRACE_DAYS", "signing_key_grace_days", _int_between(1, 365))
        take(PREFIX + "SMTP_HOST", "smtp_host", str)
        take(PREFIX + "SMTP_PORT", "smtp_port", _int_between(1, 65535))
        take(PREFIX + "SMTP_SECURITY", "smtp_security", _choice("starttls", "tls", "none"))
        take(PREFIX + "SMTP_USERNAME", "smtp_username", str)
        take(PREFIX + "SMTP_PASSWORD", "smtp_password", str)
        take(PREFIX + "MAIL_FROM", "mail_from", _parse_mail_from)
        take(PREFIX + "MAIL_MAX_ATTEMPTS", "mail_max_attempts", _int_between(1, 50))
        take(PREFIX + "MAIL_POLL_SECONDS", "mail_poll_seconds", _int_between(1, 3600))
        take(PREFIX + "INVITATION_DAYS", "invitation_days", _int_between(1, 365))
        take(PREFIX + "REMINDER_HOUR", "reminder_hour", _int_between(0, 23))
        take(PREFIX + "UPLOAD_MAX_MIB", "upload_max_mib", _int_between(1, 1024))
        take(PREFIX + "STORAGE", "storage", _choice("local", "s3"))
        take(PREFIX + "S3_BUCKET", "s3_bucket", str)
        take(PREFIX + "S3_ENDPOINT", "s3_endpoint", _parse_public_url)
        take(PREFIX + "S3_REGION", "s3_region", str)
        take(PREFIX + "S3_ACCESS_KEY_ID", "s3_access_key_id", str)
        take(PREFIX + "S3_SECRET_ACCESS_KEY", "s3_secret_access_key", str)
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        """Cross-field validation: raise :class:`SettingsError` for combinations that cannot work."""
        if self.storage == "s3" and not self.s3_bucket:
            raise SettingsError("AFFINITY_STORAGE=s3 needs AFFINITY_S3_BUCKET (and usually AFFINITY_S3_ENDPOINT).")
        if self.broker == "redis" and not self.redis_url:
            raise SettingsError("AFFINITY_BROKER=redis needs REDIS_URL (e.g. redis://127.0.0.1:6379/0).")
        if self.environment == "production" and not self.secret_key:
            raise SettingsError(
                "AFFINITY_SECRET_KEY must be set in production (at least 32 characters); "
                "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise SettingsError("Set both AFFINITY_SMTP_USERNAME and AFFINITY_SMTP_PASSWORD, or neither.")
        if self.environment == "production" and not self.database_url:
            raise SettingsError("DATABASE_URL must be set in production; the embedded PostgreSQL is for development.")

    def with_secret(self) -> Settings:
        """Return settings whose secret key is set, generating and keeping one in data_dir if needed.

        A generated key lives in ``data_dir/secret_key`` (mode 600) so sessions survive restarts
        of a development instance; production sets AFFINITY_SECRET_KEY instead.
        """
        if self.secret_key:
            return self
        path = self.data_dir / "secret_key"
        if path.exists():
            key = path.read_text().strip()
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key = secrets.token_urlsafe(48)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(key)
        return msgspec.structs.replace(self, secret_key=key)


def _parse_database_url(raw: str) -> str:
    scheme = raw.split("://", 1)[0]
    if "://" not in raw or scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
        raise ValueError("expected postgresql://user:password@host:port/database")
    return raw


def _parse_redis_url(raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("expected redis://host:port/db or rediss://...")
    return raw


def _parse_public_url(raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ValueError("expected an absolute URL such as https://affinity.example.org")
    return raw.rstrip("/")


def _parse_mail_from(raw: str) -> str:
    if "@" not in raw:
        raise ValueError("expected an address such as 'Kent Affinity <affinity@kent.example.org>'")
    return raw.strip()


def _parse_secret(raw: str) -> str:
    if len(raw) < 32:
        raise ValueError("use at least 32 characters (secrets.token_urlsafe(48) makes a good one)")
    return raw


def _parse_origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if not origin.startswith(("http://", "https://")):
            raise ValueError(f"origin {origin!r} must start with http:// or https://")
    return origins


def _parse_time_zone(raw: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = raw.strip()
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        raise ValueError("expected an IANA time zone such as America/Los_Angeles") from None
    return name


def _parse_proxies(raw: str) -> tuple[str, ...]:
    import ipaddress

    proxies = tuple(p.strip() for p in raw.split(",") if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ValueError(f"{proxy!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)") from None
    return proxies


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("expected a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low} to {high}")
        return value

    return parse


def _choice(*choices: str, upper: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse
