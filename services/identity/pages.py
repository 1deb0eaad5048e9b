"""Server-rendered pages (Jinja2, autoescaped) and the headers every page carries."""

from __future__ import annotations

from litestar import Response
from litestar.datastructures import Cookie

from services.rendering import PAGE_HEADERS, render

__all__ = ["PAGE_HEADERS", "message", "render"]


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
