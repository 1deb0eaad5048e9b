"""The network directory: public (opt-in, no member data) and signed-in (descriptions, filters, join modes)."""
