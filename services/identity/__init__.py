"""Identity: sign in once across networks.

Upstream OIDC brokering (each network's own provider), local accounts, web sessions with CSRF
protection, and this service as an OpenID Connect provider for the networks' tools.
See docs/identity.md.
"""
