"""Who may do what where: staff roles, each scoped to a unit, checked by every office service.

A role's unit is ``"*"`` (the whole country), a 2-digit province or a 5-digit commune code; an
operation's unit is a commune (``operations.Operation.unit``). What each role may do:

- clerk: search nationwide; read a person, and propose operations, inside its unit;
- supervisor: the same, and approve or reject proposals inside its unit;
- auditor: search and read everywhere; changes nothing (it sees every proposal);
- admin: manages staff inside its unit and nothing in the registry.

Rules about *whom* (one's own record, one's household, one's own proposal) are the service's:
they need the person, not the unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from idsvc import db
from idsvc.errors import Forbidden
from idsvc.identity.models import Account
from idsvc.registry.models import Commune

ACTIONS = ("search", "read", "propose", "approve", "manage_staff")

#: role -> the actions it grants inside its unit.
GRANTS: dict[str, frozenset[str]] = {
    "clerk": frozenset({"search", "read", "propose"}),
    "supervisor": frozenset({"search", "read", "propose", "approve"}),
    "auditor": frozenset({"search", "read"}),
    "admin": frozenset({"manage_staff"}),
}
#: Actions a role grants whatever its unit: searching shows minimal fields only, and an auditor's
#: reading is its whole job.
NATIONWIDE: dict[str, frozenset[str]] = {
    "clerk": frozenset({"search"}),
    "supervisor": frozenset({"search"}),
    "auditor": frozenset({"search", "read"}),
    "admin": frozenset(),
}

_ACTION_LABELS = {
    "search": ("tìm kiếm", "search"), "read": ("xem hồ sơ", "read records"),
    "propose": ("đề xuất thay đổi", "propose changes"), "approve": ("phê duyệt", "approve changes"),
    "manage_staff": ("quản lý cán bộ", "manage staff"),
}


@dataclass(frozen=True)
class Staff:
    """A staff member as the office services see them: their account, their own record and
    household (which they may not change), and their roles as (role, unit code)."""

    account_id: int
    citizen_id: int
    household_id: int | None
    roles: tuple[tuple[str, str], ...]

    @property
    def actor(self) -> str:
        """The audit trail's name for them."""
        return f"account:{self.account_id}"

    def has_role(self, role: str) -> bool:
        return any(r == role for r, _ in self.roles)


def staff_of_account(account_id: int) -> Staff:
    """The staff member of an account.

    :raises Forbidden: no such account, or it is not active, not level 2 or holds no staff role.
    """
    account = db.session().get(Account, account_id)
    if account is None or account.status != "active" or account.level != 2 or not account.roles:
        raise Forbidden("This account is not an active level-2 staff account / "
                        "Tài khoản không phải tài khoản cán bộ mức 2 đang hoạt động.")
    return Staff(account_id=account.id, citizen_id=account.citizen_id, household_id=account.citizen.household_id,
                 roles=tuple(sorted((r.role, r.unit_code) for r in account.roles)))


def staff_of_actor(actor: str) -> Staff:
    """The staff member named by an actor ``"account:<id>"`` (an API token's).

    :raises Forbidden: the actor is no account, or :func:`staff_of_account` refuses it.
    """
    kind, _, ident = actor.partition(":")
    if kind != "account" or not ident.isascii() or not ident.isdigit():
        raise Forbidden("Only staff accounts act in the registry office / "
                        "Chỉ tài khoản cán bộ được thao tác nghiệp vụ hộ tịch.")
    return staff_of_account(int(ident))


#: Commune code -> its province, as looked up. Units are reference data whose codes are never
#: reused, so an answer read once stays true; a search page asks it for fifty people of fifty
#: communes, which were fifty queries. An unknown code is not kept (a later ``units sync`` may add it).
_PROVINCES: dict[str, str] = {}


def province_of(commune_code: str) -> str | None:
    """The 2025 province of a commune, or None for an unknown code."""
    province = _PROVINCES.get(commune_code)
    if province is None:
        commune = db.session().get(Commune, commune_code)
        if commune is None:
            return None
        province = _PROVINCES[commune_code] = commune.province_code
    return province


def covers(unit_code: str, commune_code: str | None) -> bool:
    """Whether a role's unit includes the commune (None: a unit no narrower role covers)."""
    if unit_code == "*":
        return True
    if commune_code is None:
        return False
    if len(unit_code) == 2:
        return province_of(commune_code) == unit_code
    return unit_code == commune_code


def can(staff: Staff, action: str, commune_code: str | None) -> bool:
    """Whether ``staff`` may do ``action`` on something of ``commune_code`` (a person's permanent
    commune, an operation's unit)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return any(action in NATIONWIDE.get(role, frozenset())
               or (action in GRANTS.get(role, frozenset()) and covers(unit, commune_code))
               for role, unit in staff.roles)


def granting(staff: Staff, action: str, commune_code: str | None) -> dict[str, str]:
    """The role and unit under which ``staff`` may do ``action`` there (``{"role", "unit"}``, the
    narrowest unit first), for the audit trail: the person whose record was read sees which office
    read it, never who. Empty when no role grants it."""
    for role, unit in sorted(staff.roles, key=lambda r: -len(r[1])):
        if (action in GRANTS.get(role, frozenset()) and covers(unit, commune_code)) \
                or action in NATIONWIDE.get(role, frozenset()):
            return {"role": role, "unit": unit}
    return {}


def granting_somewhere(staff: Staff, action: str) -> dict[str, str]:
    """:func:`granting` in whichever unit of the staff member's roles grants ``action`` (a move
    into one of their units)."""
    for role, unit in sorted(staff.roles, key=lambda r: -len(r[1])):
        if action in GRANTS.get(role, frozenset()):
            return {"role": role, "unit": unit}
    return {}


def require(staff: Staff, action: str, commune_code: str | None) -> None:
    """:func:`can`, or refuse.

    :raises Forbidden: naming the action and the unit, in both languages.
    """
    if can(staff, action, commune_code):
        return
    vi, en = _ACTION_LABELS[action]
    unit = commune_code or "—"
    raise Forbidden(f"Your roles do not allow you to {en} for unit {unit} / "
                    f"Vai trò của bạn không được {vi} đối với đơn vị {unit}.", unit=unit, action=action)
