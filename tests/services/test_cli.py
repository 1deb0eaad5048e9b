"""The `affinity` command line, run as a user would run it (subprocesses against the test database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

AFFINITY = str(Path(sys.executable).with_name("affinity"))

COMMANDS = [
    [],
    ["serve"],
    ["db"],
    ["db", "upgrade"],
    ["db", "status"],
    ["demo"],
    ["demo", "load"],
    ["accounts"],
    ["accounts", "create"],
    ["tokens"],
    ["tokens", "create"],
    ["tokens", "revoke"],
    ["report"],
    ["report", "insights"],
]


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AFFINITY, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFFINITY_")}
    env.update(DATABASE_URL=database_url, AFFINITY_DATA_DIR=str(tmp_path / "data"), AFFINITY_LOG_FORMAT="console")
    return env


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "affinity")
def test_every_command_has_help(command: list[str]) -> None:
    result = subprocess.run([AFFINITY, *command, "--help"], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    assert "usage: affinity" in result.stdout
    assert len(result.stdout.splitlines()) >= 3


def test_accounts_tokens_flow_and_errors(cli_env: dict[str, str]) -> None:
    created = run(
        ["accounts", "create", "--email", "Op@Example.org", "--name", "Olive Operator", "--operator"], cli_env
    )
    assert created.returncode == 0, created.stderr
    assert "federation operator" in created.stdout and "affinity tokens create" in created.stdout

    again = run(["accounts", "create", "--email", "op@example.org", "--name", "Again"], cli_env)
    assert again.returncode != 0 and "already exists" in again.stderr

    weak = run(
        ["accounts", "create", "--email", "p@example.org", "--name", "P", "--password-stdin"], cli_env, stdin="short\n"
    )
    assert weak.returncode != 0 and "at least 12" in weak.stderr

    token = run(["tokens", "create", "--email", "op@example.org", "--scope", "read"], cli_env)
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    assert secret.startswith("aff_") and "\n" not in secret
    assert "shown only now" in token.stderr
    token_id = token.stderr.split("Token id ", 1)[1].split(";", 1)[0]

    revoked = run(["tokens", "revoke", token_id], cli_env)
    assert revoked.returncode == 0 and "Revoked" in revoked.stdout

    missing = run(["tokens", "create", "--email", "nobody@example.org"], cli_env)
    assert missing.returncode == 1 and "affinity accounts create" in missing.stderr
    bad_id = run(["tokens", "revoke", "not-an-id"], cli_env)
    assert bad_id.returncode == 1 and "hint:" in bad_id.stderr


def test_bad_setting_is_reported_with_a_hint(cli_env: dict[str, str]) -> None:
    result = run(["db", "status"], {**cli_env, "AFFINITY_PORT": "eighty"})
    assert result.returncode == 2
    assert "AFFINITY_PORT" in result.stderr and "docs/configuration.md" in result.stderr


def test_db_status_and_upgrade(cli_env: dict[str, str]) -> None:
    status = run(["db", "status"], cli_env)
    assert status.returncode == 0 and "Up to date." in status.stdout
    upgrade = run(["db", "upgrade"], cli_env)
    assert upgrade.returncode == 0 and "up to date" in upgrade.stdout


def test_demo_load_is_idempotent(cli_env: dict[str, str]) -> None:
    first = run(["demo", "load"], cli_env)
    assert first.returncode == 0, first.stderr
    second = run(["demo", "load"], cli_env)
    assert second.returncode == 0 and "(0 new records" in second.stdout


def test_demo_is_refused_in_production(cli_env: dict[str, str]) -> None:
    env = {**cli_env, "AFFINITY_ENVIRONMENT": "production", "AFFINITY_SECRET_KEY": "p" * 40}
    result = run(["demo", "load"], env)
    assert result.returncode == 1 and "not loaded in production" in result.stderr


def test_report_insights(cli_env: dict[str, str]) -> None:
    import datetime as dt

    from federation.compliance import program_year

    assert run(["demo", "load"], cli_env).returncode == 0
    label = program_year(dt.datetime.now(dt.UTC).date(), 8).label
    table = run(["report", "insights", "--network", "alas", "--year", label], cli_env)
    assert table.returncode == 0, table.stderr
    assert f"program year {label}" in table.stdout and "Members" in table.stdout
    assert "fewer than 10" in table.stdout
    assert "… computing insights for alas" in table.stderr and "policy requirements resolved" in table.stderr
    csv_out = run(["report", "insights", "--network", "alas", "--year", label, "--csv"], cli_env)
    assert csv_out.returncode == 0 and csv_out.stdout.startswith("metric,year,kind,value")
    values = [line.rsplit(",", 1)[1] for line in csv_out.stdout.splitlines()[1:]]
    assert all(v == "fewer than 10" or int(v) >= 10 for v in values)
    bad = run(["report", "insights", "--network", "alas", "--year", "next year"], cli_env)
    assert bad.returncode == 1 and "2026-27" in bad.stderr
    missing = run(["report", "insights", "--network", "nowhere", "--year", label], cli_env)
    assert missing.returncode == 1 and "nowhere" in missing.stderr
