"""Full-text search over the chat messages and resources a caller may read (issue 11)."""
