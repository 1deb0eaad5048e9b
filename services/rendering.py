"""Rendering server-side pages: one Jinja2 environment, one base layout, the headers every page carries.

A low floor: both the web area (services/web) and the identity area's sign-in pages render
through it, so neither has to import the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Response
from litestar.datastructures import Cookie

_SERVICES = Path(__file__).resolve().parent

_env = Environment(
    # Web pages first, then the identity area's pages; both extend web/templates/base.html.
    loader=FileSystemLoader(
        [
            _SERVICES / "web" / "templates",
            _SERVICES / "identity" / "templates",
            *(_SERVICES / area / "templates" for area in ("notifications", "invitations", "directory", "proposals")),
        ]
    ),
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,
)

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    # Only our own stylesheet, scripts and websocket; no inline script, no framing.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",  # no-referrer would make browsers send "Origin: null" on our own forms
    "X-Content-Type-Options": "nosniff",
}


def render(template: str, *, status: int = 200, cookies: list[Cookie] | None = None, **context: Any) -> Response[str]:
    """An HTML page from ``template`` (autoescaped) with the security headers."""
    html = _env.get_template(template).render(**context)
    return Response(html, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS, cookies=cookies or [])
