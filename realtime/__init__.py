"""Real-time chat: websocket gateway, protocol, connection registry, brokers."""
