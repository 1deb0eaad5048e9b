"""Notifications: the in-app list, per-kind preferences (e-mail, in-app, off), unsubscribe."""
