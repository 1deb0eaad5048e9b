"""Server-rendered pages (Jinja2, autoescaped) and the headers every page carries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Response
from litestar.datastructures import Cookie

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,
)

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",  # no-referrer would make browsers send "Origin: null" on our own forms
    "X-Content-Type-Options": "nosniff",
}


def render(template: str, *, status: int = 200, cookies: list[Cookie] | None = None, **context: Any) -> Response[str]:
    """An HTML page."""
    html = _env.get_template(template).render(**context)
    return Response(html, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS, cookies=cookies or [])


def message(
    title: str,
    text: str,
    *,
    status: int = 200,
    problem: bool = False,
    link: str | None = "/auth/login",
    link_text: str = "Go to the sign-in page",
    cookies: list[Cookie] | None = None,
) -> Response[str]:
    """A plain page saying what happened and what to do."""
    return render(
        "message.html",
        status=status,
        cookies=cookies,
        title=title,
        message=text,
        problem=problem,
        link=link,
        link_text=link_text,
    )
