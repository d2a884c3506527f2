"""The demo agency: a small relying party for ``make run`` (``idsvc demo-agency``).

It is what an agency's web site does to offer "log in with national ID": Authlib's Flask client
with the seeded ``demo-agency`` client (code flow, PKCE S256, state, nonce, ``acr_values``),
ID token verified against the provider's JWKS, userinfo, and RP-initiated logout. It talks to
the provider over HTTP only and imports none of its code, as a real agency would. Development
only: the command refuses to run in production.
"""
