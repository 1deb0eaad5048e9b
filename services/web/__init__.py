"""The web UI: server-rendered page shells, shared layout and static assets (CSS, JS)."""
