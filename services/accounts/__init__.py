"""HTTP area and use cases for accounts (people) and their personal tokens."""
