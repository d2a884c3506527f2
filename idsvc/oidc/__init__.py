"""OpenID Connect provider: signing keys, clients, grants, tokens and the protocol endpoints."""
