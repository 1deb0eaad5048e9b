"""The house is one-way: every import in services/ points to an area on a lower floor (or its
own area), federation/ imports nothing of ours, realtime/ only federation/. The floors are the
ones docs/development.md ("Architecture") describes; the imports that run up are listed below,
each with why. Reads the source with ``ast`` (function-local imports count too)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Areas of services/, lowest floor first. An area may import itself and anything listed before it.
FLOORS = [
    "settings",
    "errors",
    "inputs",
    "logs",
    "gc_tuning",
    "readiness",
    "rendering",
    "persistence",
    "storage",
    "metrics",
    "audit",
    "auth",
    "ops",
    "accounts",
    "networks",
    "identity",
    "mail",
    "notifications",
    "policies",
    "sharing",
    "spaces",
    "targeting",
    "meetings",
    "chat",  # with meetings, as docs/development.md draws it: the calendar feed asks who is in the room
    "calendar",
    "facilitation",
    "stewardship",
    "directory",
    "proposals",
    "invitations",
    "resources",
    "search",
    "insights",
    "compliance",
    "web",
    "demo",
    "app",
    "cli",
    "asgi",
]

# (file, area it imports from a higher floor): why.
UPWARD = {
    ("services/sharing/service.py", "spaces"): "sharing a space acts on it: the caller's rights on the space "
    "(spaces/access.py) and its subtree (spaces/repository.py). The sharing read model (repository.py, "
    "guests.py) stays below spaces, which asks it who reaches a space through an agreement.",
}

# Allowed while work in flight removes them (not required to exist): delete each when it is gone.
LEAVING: dict[tuple[str, str], str] = {}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{n.name}" for n in node.names)
        elif isinstance(node, ast.Import):
            found.update(n.name for n in node.names)
    return found


def _area(path: Path) -> str:
    rel = path.relative_to(ROOT / "services")
    return rel.parts[0].removesuffix(".py")


def _sources(folder: str) -> list[Path]:
    return [p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts]


def test_every_area_has_a_floor() -> None:
    areas = {_area(p) for p in _sources("services")} - {"__init__"}
    assert areas <= set(FLOORS), f"give these areas a floor in FLOORS and in docs: {sorted(areas - set(FLOORS))}"


def test_services_imports_point_down() -> None:
    rank = {a: i for i, a in enumerate(FLOORS)}
    upward: set[tuple[str, str]] = set()
    for path in _sources("services"):
        area = _area(path)
        if area == "__init__":
            continue
        for module in _imports(path):
            parts = module.split(".")
            if parts[0] != "services" or len(parts) < 2 or parts[1] not in rank:
                continue
            if rank[parts[1]] > rank[area]:
                upward.add((str(path.relative_to(ROOT)), parts[1]))
    allowed = set(UPWARD) | set(LEAVING)
    assert upward <= allowed, f"imports that run up a floor: {sorted(upward - allowed)}"
    assert set(UPWARD) <= upward, f"listed but gone (remove from UPWARD and docs): {sorted(set(UPWARD) - upward)}"


def test_the_domain_and_the_gateway_import_nothing_above_them() -> None:
    for folder, allowed in (("federation", {"federation"}), ("realtime", {"federation", "realtime"})):
        for path in _sources(folder):
            ours = {m.split(".")[0] for m in _imports(path)} & {"services", "realtime", "federation"}
            assert ours <= allowed, f"{path.relative_to(ROOT)} imports {sorted(ours - allowed)}"
