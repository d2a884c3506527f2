"""Development seed: demo e-ID accounts of the named demo citizens (README lists them).

Their passwords and TOTP seeds are public development values; ``idsvc seed`` refuses to run in
production.
"""

from __future__ import annotations

from collections.abc import Callable

from idsvc import crypto
from idsvc import db
from idsvc.db import utcnow
from idsvc.errors import NotFound
from idsvc.identity import passwords
from idsvc.identity import service
from idsvc.identity.models import Account
from idsvc.registry import service as registry
from idsvc.registry.models import Citizen

#: (ID number, password, TOTP seed or None, staff role or None)
DEMO_ACCOUNTS = (
    ("001080012345", "an-demo-password-2026", None, None),
    ("001185004321", "binh-demo-password-2026", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", None),
    ("079172000666", "phuong-demo-password-2026", "KRUGS4ZANFZSAYJAORSXG5BAONSWKZDB", ("admin", "*")),
)
#: Has a pending account; its activation code is printed by ``idsvc seed``.
DEMO_PENDING = "232301000777"


def run(*, echo: Callable[[str], None]) -> dict[str, str]:
    """Create the demo accounts that are missing; returns new activation codes by ID number."""
    codes: dict[str, str] = {}
    with db.transaction():
        for number, password, totp_seed, role in DEMO_ACCOUNTS:
            ensure_account(number, password, totp_seed, (role,) if role else (), echo=echo)
        citizen = _citizen(DEMO_PENDING)
        if citizen is not None and service.account_for_citizen(citizen) is None:
            account = service.create_account(citizen, actor="system:seed")
            codes[DEMO_PENDING] = service.issue_activation_code(account, actor="system:seed")
            echo(f"demo account {DEMO_PENDING} awaits activation, code {codes[DEMO_PENDING]}")
    return codes


def ensure_account(number: str, password: str, totp_seed: str | None, roles: tuple[tuple[str, str], ...], *,
                   echo: Callable[[str], None]) -> Account | None:
    """The active demo account of the demo citizen holding ``number`` (level 2 with a TOTP seed,
    with these staff roles), created if missing; None when the citizen is not in the registry."""
    citizen = _citizen(number)
    if citizen is None or service.account_for_citizen(citizen) is not None:
        return None
    account = service.create_account(citizen, actor="system:seed")
    account.password_hash = passwords.hash_password(password)
    account.password_changed_at, account.status = utcnow(), "active"
    if totp_seed:
        account.level = 2
        account.totp_secret = crypto.encrypt("totp", totp_seed.encode())
        account.totp_enrolled_at = utcnow()
    for role, unit in roles:
        service.grant_role(account, role, unit, actor="system:seed")
    held = ", ".join(f"{role} of {unit}" for role, unit in roles)
    echo(f"demo account {number} (level {account.level}{', ' + held if held else ''})")
    return account


def _citizen(number: str) -> Citizen | None:
    try:
        return registry.get_citizen_by_number(number)
    except NotFound:  # a missing demo person just means no demo account
        return None
