"""Invitations by e-mail address: reach people with or without an account, through a single-use link."""
