"""HTTP area: networks and their members' roles."""
