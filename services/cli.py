"""The ``affinity`` command line: serve, migrate, demo data, accounts and tokens."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.errors import AppError
from services.persistence.engine import create_engine, create_sessionmaker
from services.settings import Settings, SettingsError

T = TypeVar("T")


class CliError(Exception):
    """A failure to report on stderr with a hint, exiting non-zero."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def _say(message: str) -> None:
    print(message, flush=True)


def _progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The database to use: DATABASE_URL, or the embedded PostgreSQL in the data folder."""
    if settings.database_url:
        yield settings.database_url
        return
    from services.persistence.embedded import start_embedded

    _progress(f"starting the embedded PostgreSQL in {settings.data_dir.resolve()}")
    try:
        url, _server = start_embedded(settings.data_dir)
    except Exception as exc:
        raise CliError(
            f"Could not start the embedded PostgreSQL: {exc}",
            "Set DATABASE_URL to use an existing PostgreSQL, or check the data folder's permissions.",
        ) from exc
    yield url


@contextlib.asynccontextmanager
async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url, pool_size=2)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _migrate(engine: AsyncEngine) -> None:
    from services.persistence import migrate

    before = await migrate.current_revisions(engine)
    pending = migrate.pending_revisions(before)
    if pending:
        _progress(f"applying {len(pending)} migration(s)")
    await migrate.upgrade(engine)


async def _in_transaction(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async with _engine(url) as engine:
        await _migrate(engine)
        async with create_sessionmaker(engine)() as session, session.begin():
            return await work(session)


# --- commands -------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    """Migrate, then serve HTTP and websockets until Ctrl-C / SIGTERM."""
    import uvicorn

    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    if args.workers > 1 and settings.broker == "memory":
        raise CliError(
            "The in-process broker cannot connect several workers.",
            "Unset AFFINITY_BROKER (PostgreSQL is used) or set it to postgres or redis.",
        )
    settings = msgspec.structs.replace(settings, **overrides).with_secret()
    if args.demo:
        _refuse_demo_in_production(settings)
    with database_url(settings) as url:
        settings = msgspec.structs.replace(settings, database_url=url)

        async def prepare() -> None:
            async with _engine(url) as engine:
                await _migrate(engine)
                if args.demo:
                    from services.demo import load_demo

                    async with create_sessionmaker(engine)() as session, session.begin():
                        summary = await load_demo(session, progress=_progress)
                    _progress(summary)

        asyncio.run(prepare())
        # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal with the previous
        # handler. Make that handler a clean exit, so atexit stops the embedded PostgreSQL.
        signal.signal(signal.SIGTERM, _exit_cleanly)
        _say(f"Affinity Federation is running: open {settings.base_url}/ (API docs: {settings.base_url}/schema)")
        _say("Press Ctrl-C to stop.")
        if args.workers > 1:
            # Worker processes build their own settings from the environment; hand them the
            # database (possibly the embedded one just started) and the secret this way.
            os.environ["DATABASE_URL"] = url
            os.environ["AFFINITY_SECRET_KEY"] = settings.secret_key
            os.environ["AFFINITY_DATA_DIR"] = str(settings.data_dir)
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_fresh_metrics_dir(settings))
            uvicorn.run("services.asgi:app_factory", factory=True, workers=args.workers, **_server_options(settings))
        else:
            from services.app import create_app

            uvicorn.run(create_app(settings), **_server_options(settings))


WS_PROTOCOL = "realtime.transport:FrameSinkProtocol"
"""uvicorn's ``ws`` option for every way of serving (docs/performance.md has the comparison)."""


def _server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options for every way of serving (measured in bench/ws_fanout.py, docs/performance.md)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        # Our access log (services/metrics.py) logs route templates; uvicorn's would log raw paths
        # and query strings, which carry secrets (calendar feeds, invitation and unsubscribe links).
        "access_log": False,
        # X-Forwarded-For/-Proto are believed only from the configured proxies (default: none, not
        # even loopback), so nobody can choose the address the sign-in limit counts against.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies),
        "timeout_graceful_shutdown": 10,
        "backlog": 4096,
        # uvicorn's sans-I/O websockets implementation plus a frame sink, so a chat room's frame
        # is written to each socket without per-socket encoding (realtime/transport.py); no
        # per-message compression: it costs ~50 KiB per idle socket and CPU on every frame, and
        # chat frames are small.
        "ws": WS_PROTOCOL,
        "ws_per_message_deflate": False,
        "ws_max_size": 65536,
    }


def _fresh_metrics_dir(settings: Settings) -> Path:
    """An empty folder for the workers' shared Prometheus values (old runs' files removed)."""
    folder = settings.metrics_multiprocess_dir or (settings.data_dir / "metrics")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    return folder


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def cmd_db_upgrade(_: argparse.Namespace, settings: Settings) -> None:
    """Apply every pending migration."""
    from services.persistence import migrate

    async def run(url: str) -> None:
        async with _engine(url) as engine:
            pending = migrate.pending_revisions(await migrate.current_revisions(engine))
            for line in pending:
                _progress(f"applying {line}")
            await migrate.upgrade(engine)
            _say(f"Database is up to date ({len(pending)} migration(s) applied).")

    with database_url(settings) as url:
        asyncio.run(run(url))


def cmd_db_status(_: argparse.Namespace, settings: Settings) -> None:
    """Show the current revision and what is pending."""
    from services.persistence import migrate

    async def run(url: str) -> None:
        async with _engine(url) as engine:
            current = await migrate.current_revisions(engine)
        pending = migrate.pending_revisions(current)
        _say(f"current: {', '.join(current) or '(empty database)'}")
        _say(f"head:    {', '.join(migrate.head_revisions())}")
        if pending:
            _say(f"pending ({len(pending)}):")
            for line in pending:
                _say(f"  {line}")
            _say("Run `affinity db upgrade` to apply them.")
        else:
            _say("Up to date.")

    with database_url(settings) as url:
        asyncio.run(run(url))


def _refuse_demo_in_production(settings: Settings) -> None:
    if settings.environment == "production":
        raise CliError(
            "The demo data set (with its published password) is not loaded in production.",
            "Unset AFFINITY_ENVIRONMENT=production on a development or staging instance to try it.",
        )


def cmd_demo_load(_: argparse.Namespace, settings: Settings) -> None:
    """Load the demo data set (idempotent)."""
    from services.demo import load_demo

    _refuse_demo_in_production(settings)
    with database_url(settings) as url:
        summary = asyncio.run(_in_transaction(url, lambda s: load_demo(s, progress=_progress)))
    _say(summary)
    _say("Next: `affinity serve` and sign in, or create a token with `affinity tokens create --email ...`.")


def cmd_accounts_create(args: argparse.Namespace, settings: Settings) -> None:
    """Create an account."""
    from services.accounts.service import create_account

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise CliError(
                "No password was read from standard input.",
                'Pipe it in: echo "$PW" | affinity accounts create ... --password-stdin',
            )

    async def work(session: AsyncSession) -> Any:
        return await create_account(
            session, email=args.email, name=args.name, password=password, operator=args.operator, email_verified=True
        )

    with database_url(settings) as url:
        account = asyncio.run(_in_transaction(url, work))
    role = "federation operator" if account.is_operator else "account"
    _say(f"Created {role} {account.email} (id {account.id}).")
    _say(f"Next: affinity tokens create --email {account.email}")


def cmd_tokens_create(args: argparse.Namespace, settings: Settings) -> None:
    """Create a personal API token and print it once."""
    from services.accounts.service import require_by_email
    from services.auth.tokens import issue_token

    async def work(session: AsyncSession) -> Any:
        account = await require_by_email(session, args.email)
        return await issue_token(
            session,
            account,
            name=args.name or "",
            scopes=args.scope,
            expires_in_days=None if args.expires_in == 0 else args.expires_in,
        )

    with database_url(settings) as url:
        issued = asyncio.run(_in_transaction(url, work))
    print(issued.token, flush=True)
    expiry = issued.expires_at.date().isoformat() if issued.expires_at else "never"
    print(
        f"Token id {issued.id}; scopes {', '.join(issued.scopes)}; expires {expiry}. "
        "It is shown only now: store it safely.\n"
        f"Use it: curl -H 'Authorization: Bearer <token>' {settings.base_url}/api/v1/me\n"
        f"Revoke it: affinity tokens revoke {issued.id}",
        file=sys.stderr,
        flush=True,
    )


def cmd_tokens_revoke(args: argparse.Namespace, settings: Settings) -> None:
    """Revoke a personal API token by id."""
    from services.auth.tokens import revoke_token

    try:
        token_id = uuid.UUID(args.token_id)
    except ValueError:
        raise CliError(
            f"'{args.token_id}' is not a token id.", "Token ids look like 3f0c…-…; `tokens create` printed it."
        ) from None
    with database_url(settings) as url:
        asyncio.run(_in_transaction(url, lambda s: revoke_token(s, token_id)))
    _say(f"Revoked token {token_id}. Requests using it now get 401.")


def cmd_report_insights(args: argparse.Namespace, settings: Settings) -> None:
    """Print a network's insights for one program year (suppressed exactly as in the API)."""
    import datetime as dt

    from services.insights.service import compute, parse_year, to_csv
    from services.networks.service import require_network

    start_month = settings.program_year_start_month
    try:
        year = parse_year(args.year, start_month)
    except AppError as exc:
        raise CliError(exc.message, "Name a program year such as 2026-27.") from None

    async def work(session: AsyncSession) -> Any:
        network = await require_network(session, args.network)
        _progress(f"computing insights for {network.slug}, program year {year.label}")
        return await compute(
            session, network, [year], start_month=start_month, now=dt.datetime.now(dt.UTC), progress=_progress
        )

    with database_url(settings) as url:
        out = asyncio.run(_in_transaction(url, work))
    if args.csv:
        sys.stdout.write(to_csv(out))
        sys.stdout.flush()
        return
    _say(f"Insights for {out.network}, program year {year.label} (figures below 10 read 'fewer than 10')")
    header = ["", *out.kinds, "all"]
    _say("  ".join(f"{h:>14}" if i else f"{h:<34}" for i, h in enumerate(header)))
    for metric in out.metrics:
        row = metric.rows[0]
        cells = [row.by_kind[k].display for k in out.kinds] + [row.total.display]
        _say("  ".join([f"{metric.label:<34}", *(f"{c:>14}" for c in cells)]))
    for staff in out.staff:
        _say(f"Staff: {staff.staff_total.display}; retained: {staff.staff_retained.display}")


# --- parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every command and sub-command has --help)."""
    parser = argparse.ArgumentParser(
        prog="affinity",
        description="Affinity Federation: affinity spaces for education networks.",
        epilog="Configuration comes from the environment (AFFINITY_*, DATABASE_URL, REDIS_URL); "
        "see docs/configuration.md. Without DATABASE_URL an embedded PostgreSQL runs in AFFINITY_DATA_DIR.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser(
        "serve",
        help="migrate the database, then serve HTTP and websockets",
        description="Migrate the database, then serve the API, web pages and websockets.",
    )
    serve.add_argument("--host", help="address to listen on (default: AFFINITY_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: AFFINITY_PORT or 8000)")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (default 1; >1 uses the PostgreSQL or Redis broker)"
    )
    serve.add_argument("--demo", action="store_true", help="load the demo networks and spaces first (idempotent)")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database migrations", description="Apply or inspect database migrations.")
    db_sub = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND", required=True)
    db_sub.add_parser("upgrade", help="apply pending migrations", description="Apply pending migrations.").set_defaults(
        func=cmd_db_upgrade
    )
    db_sub.add_parser(
        "status",
        help="show current and pending migrations",
        description="Show the current revision and pending migrations.",
    ).set_defaults(func=cmd_db_status)

    demo = sub.add_parser("demo", help="demo data", description="Demo data for trying the service.")
    demo_sub = demo.add_subparsers(dest="demo_command", metavar="SUBCOMMAND", required=True)
    demo_sub.add_parser(
        "load",
        help="load the demo data set (idempotent)",
        description="Load demo networks, accounts and spaces. Safe to run twice.",
    ).set_defaults(func=cmd_demo_load)

    accounts = sub.add_parser("accounts", help="manage accounts", description="Manage accounts.")
    acc_sub = accounts.add_subparsers(dest="accounts_command", metavar="SUBCOMMAND", required=True)
    create = acc_sub.add_parser("create", help="create an account", description="Create an account.")
    create.add_argument("--email", required=True, help="e-mail address (unique)")
    create.add_argument("--name", required=True, help="display name")
    create.add_argument(
        "--password-stdin", action="store_true", help="read a password (12+ characters) from standard input"
    )
    create.add_argument("--operator", action="store_true", help="make the account a federation operator")
    create.set_defaults(func=cmd_accounts_create)

    tokens = sub.add_parser("tokens", help="personal API tokens", description="Create and revoke personal API tokens.")
    tok_sub = tokens.add_subparsers(dest="tokens_command", metavar="SUBCOMMAND", required=True)
    tcreate = tok_sub.add_parser(
        "create",
        help="print a new token (shown once)",
        description="Create a personal API token; it is printed once and stored hashed.",
    )
    tcreate.add_argument("--email", required=True, help="the account the token acts for")
    tcreate.add_argument(
        "--scope",
        action="append",
        choices=["read", "write"],
        help="limit the token (repeatable; default: read and write)",
    )
    tcreate.add_argument(
        "--expires-in", type=int, default=90, metavar="DAYS", help="days until it expires (default 90; 0 = never)"
    )
    tcreate.add_argument("--name", help="a label to recognise the token by")
    tcreate.set_defaults(func=cmd_tokens_create)
    trevoke = tok_sub.add_parser("revoke", help="revoke a token", description="Revoke a personal API token.")
    trevoke.add_argument("token_id", metavar="TOKEN_ID", help="the id printed by `tokens create`")
    trevoke.set_defaults(func=cmd_tokens_revoke)
    report = sub.add_parser("report", help="reports", description="Reports for network admins.")
    report_sub = report.add_subparsers(dest="report_command", metavar="SUBCOMMAND", required=True)
    insights = report_sub.add_parser(
        "insights",
        help="a network's insights for one program year",
        description="Engagement figures per space kind for one program year: members, new and kept members, "
        "active spaces, meetings held and required, attendance, chat messages. Figures below 10 read "
        "'fewer than 10' (with complementary suppression), exactly as in the API and the web page. "
        "Progress goes to standard error.",
    )
    insights.add_argument("--network", required=True, metavar="SLUG", help="the network's slug, e.g. kent-sd")
    insights.add_argument("--year", required=True, metavar="YEAR", help="the program year, e.g. 2026-27")
    insights.add_argument("--csv", action="store_true", help="print CSV (metric,year,kind,value) instead of a table")
    insights.set_defaults(func=cmd_report_insights)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``affinity`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        args.func(args, settings)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("hint: see docs/configuration.md for every setting.", file=sys.stderr)
        return 2
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(
            "hint: is the database reachable? Check DATABASE_URL, or unset it to use the embedded one.", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
