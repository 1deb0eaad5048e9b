"""ASGI entry point for uvicorn worker processes: settings from the environment."""

from __future__ import annotations

from litestar import Litestar

from services.app import create_app
from services.settings import Settings


def app_factory() -> Litestar:
    """Build the app from the environment (the CLI has already set DATABASE_URL for workers)."""
    return create_app(Settings.from_env())
