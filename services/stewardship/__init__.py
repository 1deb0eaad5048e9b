"""Network admins' housekeeping: remove a person from a network; archive and restore a space."""
