"""Development seed: the demo registry staff (README lists them).

They live in Hà Nội outside the demo households they work on (fixtures/demo_citizens.csv), each
with a level-2 account (password and TOTP). Public development values: ``idsvc seed`` refuses to
run in production.
"""

from __future__ import annotations

from collections.abc import Callable

from idsvc import db
from idsvc.identity import seed as identity_seed

#: (ID number, password, TOTP seed, staff roles as (role, unit))
DEMO_STAFF = (
    # Clerk of Phường Hoàn Kiếm (00070), where the demo household DEMO-00070-0001 lives.
    ("001190008801", "lan-clerk-demo-password-2026", "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U", (("clerk", "00070"),)),
    # Supervisors of Hà Nội (province 01): two, so that one's proposal has someone to approve it.
    ("001078008802", "minh-supervisor-demo-password-2026", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
     (("supervisor", "01"),)),
    ("001183008803", "trang-supervisor-demo-password-2026", "ONSWG4TFORZWK3DFMN2GK43UONSWG4TF",
     (("supervisor", "01"),)),
    # Auditor of the whole country: reads everything, changes nothing.
    ("001075008804", "tam-auditor-demo-password-2026", "KRSXG5CBOVSGS5DPOJZWK3DFMN2HI2LO", (("auditor", "*"),)),
)


def run(*, echo: Callable[[str], None]) -> None:
    """Create the demo staff accounts that are missing."""
    with db.transaction():
        for number, password, totp_seed, roles in DEMO_STAFF:
            identity_seed.ensure_account(number, password, totp_seed, roles, echo=echo)
