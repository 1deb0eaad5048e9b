"""Chat area: the SQL side of the realtime gateway (store, access) and the HTTP messages endpoints."""
