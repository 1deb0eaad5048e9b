"""The identity area keeps the house style (issue 10 item 3): SQL only in its repository (and the
two modules that need their own connection or lock), one form guard, no reach up into the web area."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

IDENTITY = Path(__file__).resolve().parents[2] / "services" / "identity"
OWN_SQL = {"repository.py", "keys.py", "cleanup.py"}
"""keys.py rotates under an advisory lock; cleanup.py deletes in batches on its own connection."""
SQL_CALLS = {"execute", "scalar", "scalars", "get", "stream", "stream_scalars"}


def _modules() -> list[Path]:
    return sorted(p for p in IDENTITY.glob("*.py") if p.name not in OWN_SQL)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_no_sql_outside_the_repository(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sqlalchemy"):
            allowed = node.module in {"sqlalchemy.ext.asyncio", "sqlalchemy.exc"}
            assert allowed, f"{path.name}:{node.lineno} imports {node.module} (SQL belongs in repository.py)"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_CALLS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "session"
        ):
            raise AssertionError(f"{path.name}:{node.lineno} runs session.{node.func.attr}(...) outside repository.py")


def test_identity_does_not_import_the_web_area() -> None:
    for path in IDENTITY.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("services.web"), f"{path.name} imports {node.module}"


def test_every_form_post_has_the_one_guard() -> None:
    from litestar.routes import HTTPRoute

    from services.app import create_app
    from services.auth.csrf import form_guard
    from services.settings import Settings

    app = create_app(Settings(database_url="postgresql://unused/x", secret_key="x" * 40, environment="test"))
    form_posts = {"/auth/login", "/auth/logout", "/oidc/authorize", "/oidc/logout"}
    for route in app.routes:
        if isinstance(route, HTTPRoute) and route.path in form_posts:
            for handler in route.route_handlers:
                if "POST" in handler.http_methods:
                    assert form_guard in (handler.guards or []), route.path
