"""Signals identity sends to the subdomains above it, which it never imports.

They are sent with the app as sender, and a subdomain connects its receivers for one app in
``create_app`` (its ``receivers.init_app``). A receiver runs inside identity's call, in the same
session: what it writes commits or rolls back with identity's change.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: The account's login sessions were ended (logout everywhere, password change or reset, disabled
#: account, death). Keyword argument: ``account``. A receiver revokes what was issued from those
#: sessions and returns how many tokens it revoked, which the audit event counts.
sessions_revoked = _signals.signal("identity.sessions-revoked")

#: The account was disabled (death, merged record, an administrator). Keyword arguments:
#: ``account``, ``reason``. A receiver ends what the person granted others (consents) and returns
#: how many it ended. (Sessions and tokens end through :data:`sessions_revoked` first.)
account_disabled = _signals.signal("identity.account-disabled")

#: The login page is about to be shown on the way to ``next_url``. Keyword argument: ``next_url``
#: (already a safe local path). A receiver returns the name of the party asking for the login (the
#: agency whose authorization request it returns to), or None; the page names the first one given.
login_asked = _signals.signal("identity.login-asked")
