"""Insights for network admins: engagement figures per program year and space kind, with
small-cell suppression, charts (server-side SVG) and a CSV export."""
