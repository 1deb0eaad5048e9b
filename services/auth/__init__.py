"""Authentication: who is calling (principal), personal API tokens, the request guard."""
