"""The embedded PostgreSQL (pgserver) used when no DATABASE_URL is configured.

Only this service may use it: its unix socket is ``0700`` (``unix_socket_permissions``) in the
data folder's ``postgres`` directory (itself ``0700``), no TCP port is opened, and every local
connection must give the superuser's password (SCRAM), which is generated once and kept in
``DATA_DIR/postgres_password`` (mode 600). Folders created before this rule (``trust`` for every
local connection, a world-writable socket) are converted on their next start.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger("affinity.embedded")

DATABASE = "affinity"
SUPERUSER = "postgres"
PASSWORD_FILE = "postgres_password"  # noqa: S105 - a file name, not a password
_MARK = "# affinity: hardened (services/persistence/embedded.py)"
_HBA = f"""{_MARK}
# Every connection must give the password kept in the data folder; nothing is trusted.
local   all   all                 scram-sha-256
host    all   all   127.0.0.1/32  scram-sha-256
host    all   all   ::1/128       scram-sha-256
"""
_CONF = f"""
{_MARK}
unix_socket_permissions = 0700
password_encryption = scram-sha-256
"""


def start_embedded(data_dir: Path) -> tuple[str, Any]:
    """Start (or attach to) the embedded server in ``data_dir/postgres``; return (URL, server).

    The server is stopped when the last process using it exits (pgserver tracks its users),
    so Ctrl-C or SIGTERM on ``affinity serve`` leaves no postgres behind. Data stays on disk
    and is reused by the next start.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        from pgserver.utils import PostmasterInfo

        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = data_dir.resolve() / "postgres"
        password, new_password = _password(data_dir)
        running = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "PG_VERSION").exists() else None
        if not (pgdata / "PG_VERSION").exists():
            _initdb(pgdata, data_dir / PASSWORD_FILE)
        elif running is None or not running.is_running():
            _harden_offline(pgdata, password, force_password=new_password)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    info = server.get_postmaster_info()
    if not _is_hardened(pgdata):
        # A server started by an older version is still running: convert it in place. The
        # password and pg_hba.conf apply at once; the socket's mode at the next restart.
        _psql(server, password, f"ALTER ROLE {SUPERUSER} PASSWORD '{password}';", trust=True)
        _write_config(pgdata)
        _psql(server, password, "SELECT pg_reload_conf();")
    if info.socket_dir is not None and Path(info.socket_dir) != pgdata:
        # pgserver moved the socket out of the data folder (path too long for a unix socket).
        Path(info.socket_dir).chmod(0o700)
    exists = _psql(server, password, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")  # noqa: S608 - constant
    if "1 row" not in exists:
        _psql(server, password, f"CREATE DATABASE {DATABASE};")
        log.info("created embedded database in %s", data_dir)
    return _url(info, password, DATABASE), server


def _password(data_dir: Path) -> tuple[str, bool]:
    """The superuser's password from the data folder, made (mode 600) when missing; (password, new)."""
    path = data_dir / PASSWORD_FILE
    if path.exists():
        path.chmod(0o600)
        return path.read_text().strip(), False
    password = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    _share_with_server(path)
    return password, True


def _server_user() -> str | None:
    """pgserver runs PostgreSQL as the user ``pgserver`` when we are root (PostgreSQL refuses root)."""
    return "pgserver" if os.geteuid() == 0 else None


def _share_with_server(path: Path) -> None:
    user = _server_user()
    if user is not None:
        import pwd

        from pgserver.utils import ensure_user_exists

        ensure_user_exists(user)
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _initdb(pgdata: Path, password_file: Path) -> None:
    """A new cluster that never trusted anyone: SCRAM from the first start."""
    from pgserver._commands import initdb  # type: ignore[attr-defined]  # made at import time

    pgdata.mkdir(mode=0o700, exist_ok=True)
    user = _server_user()
    if user is not None:
        import pwd

        from pgserver.utils import ensure_prefix_permissions

        _share_with_server(pgdata)
        ensure_prefix_permissions(pgdata)
        entry = pwd.getpwnam(user)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    initdb(
        [
            "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256",
            "--encoding=utf8",
            "-U",
            SUPERUSER,
            f"--pwfile={password_file}",
        ],
        pgdata=pgdata,
        user=user,
    )
    _write_config(pgdata)


def _is_hardened(pgdata: Path) -> bool:
    hba = pgdata / "pg_hba.conf"
    return hba.exists() and hba.read_text().startswith(_MARK)


def _write_config(pgdata: Path) -> None:
    (pgdata / "pg_hba.conf").write_text(_HBA)
    conf = pgdata / "postgresql.conf"
    if _MARK not in conf.read_text():
        with conf.open("a") as out:
            out.write(_CONF)


def _harden_offline(pgdata: Path, password: str, *, force_password: bool) -> None:
    """Convert a stopped cluster from before: set the password in single-user mode, then the config."""
    if _is_hardened(pgdata) and not force_password:
        return
    from pgserver._commands import POSTGRES_BIN_PATH

    log.info("securing the embedded PostgreSQL in %s (password auth, private socket)", pgdata)
    subprocess.run(  # noqa: S603 - our own binary, no shell
        [str(POSTGRES_BIN_PATH / "postgres"), "--single", "-D", str(pgdata), "postgres"],
        input=f"ALTER ROLE {SUPERUSER} PASSWORD '{password}';\n".encode(),
        check=True,
        capture_output=True,
        user=_server_user(),
        timeout=60,
    )
    _write_config(pgdata)


def _url(info: Any, password: str, database: str) -> str:
    return f"postgresql://{SUPERUSER}:{quote(password, safe='')}@/{database}?host={info.socket_dir}"


def _psql(server: Any, password: str, command: str, *, trust: bool = False) -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    env = {**os.environ, "PGPASSWORD": password}
    if trust:
        env.pop("PGPASSWORD")
    result = subprocess.run(  # noqa: S603 - our own binary, no shell
        [str(POSTGRES_BIN_PATH / "psql"), server.get_uri(), "-v", "ON_ERROR_STOP=1"],
        input=command.encode(),
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout.decode()
