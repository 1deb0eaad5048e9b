"""Page rendering for the web area; it lives on a lower floor (services/rendering.py) so identity shares it."""

from services.rendering import PAGE_HEADERS, render

__all__ = ["PAGE_HEADERS", "render"]
