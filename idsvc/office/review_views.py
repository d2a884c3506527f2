"""The review queue of the console (``/office/reviews``): uncertain matches of the eligibility matcher.

A row of a checked list that several people fit waits here until a clerk decides who it is, or
that it is none of them (:mod:`idsvc.eligibility.reviews`); the next check of the list uses the
decision. Clerks and supervisors see the items whose best candidate lives in their unit and decide
them; auditors see every item and decide none; other accounts are refused. Nobody decides an item
about themselves or their household. Pages only: no script, every control reachable with the keyboard.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from idsvc import unit_of_work
from idsvc.eligibility import reviews
from idsvc.errors import DomainError
from idsvc.errors import Forbidden
from idsvc.errors import ValidationFailed
from idsvc.errors import problem
from idsvc.errors import wants_page
from idsvc.identity import sessions
from idsvc.office import authority
from idsvc.office.authority import Staff

bp = Blueprint("office_review", __name__, url_prefix="/office/reviews")

#: Items on one page of the queue.
PAGE_SIZE = 50

#: The fields compared, in the order shown: (name in the evidence, label, the matcher's field or None).
FIELDS = (("full_name", _l("Full name"), "name"), ("date_of_birth", _l("Date of birth"), "dob"),
          ("sex", _l("Sex"), None), ("commune_code", _l("Commune"), "commune"), ("id_number", _l("ID number"), "id"))

#: The matcher's levels (:mod:`idsvc.eligibility.matching`) in words.
LEVELS = {
    "exact": _l("the same"), "exact-folded": _l("the same but for accents"),
    "order-swapped": _l("the same, in another order"), "middle-name-differs": _l("a middle name differs"),
    "typo": _l("one letter off"), "order-swapped, middle-name-differs": _l("another order, a middle name differs"),
    "order-swapped, typo": _l("another order, one letter off"), "disagree": _l("different"),
    "year-month agrees": _l("the same year and month"), "year-only agrees": _l("the same year"),
    "close": _l("nearly the same"), "same": _l("the same"), "pre-2025 code, merged": _l("its pre-2025 commune"),
    "pre-2025 code, split": _l("one of its pre-2025 communes"), "same province": _l("the same province"),
    "differ": _l("different"), "one digit off": _l("one digit off"),
}


@bp.errorhandler(DomainError)
def _refused(exc: DomainError) -> ResponseReturnValue:
    """A refusal as a page in the console's language (an API client gets problem+json)."""
    if not wants_page():
        return problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)
    titles = {403: _("Not allowed"), 404: _("Page not found"), 409: _("Conflict with the current data")}
    return render_template("office/refused.html", title=titles.get(exc.status) or _("Invalid request"),
                           message=exc.detail, code=exc.code, back=url_for(".queue"), section=None), exc.status


def _staff() -> Staff:
    login = sessions.current_login()
    assert login is not None  # login_required
    return authority.staff_of_account(login.account_id)


def _units(staff: Staff) -> list[str] | None:
    """The units whose items ``staff`` sees: None for all of them (an auditor, a national role).

    :raises Forbidden: no role that reads records (an administrator of staff only).
    """
    if authority.can(staff, "read", None):
        return None
    units = [unit for role, unit in staff.roles if "read" in authority.GRANTS.get(role, frozenset())]
    if not units:
        raise Forbidden("Your roles do not allow you to review matches / "
                        "Vai trò của bạn không được xem xét các trường hợp đối chiếu.")
    return units


def _about_oneself(staff: Staff, item: reviews.Item) -> bool:
    """Whether a candidate is the staff member or lives in their household (as for proposals)."""
    return staff.citizen_id in item.resolution.candidates or (
        staff.household_id is not None and staff.household_id in reviews.households_of(item))


def _may_decide(staff: Staff, item: reviews.Item) -> bool:
    """Deciding is proposing a fact about a person: inside the unit, never about oneself or one's
    household."""
    return authority.can(staff, "propose", item.commune_code) and not _about_oneself(staff, item)


@bp.get("/")
@unit_of_work.read_write  # reads the login session, and touches its idle time
@sessions.login_required(level=2)
def queue() -> ResponseReturnValue:
    """The open items in the staff member's units, a page at a time."""
    staff = _staff()
    items, following = reviews.open_items(units=_units(staff), cursor=request.args.get("cursor"), limit=PAGE_SIZE)
    return _render("office/reviews.html", staff, items=items, following=following,
                   decided=request.args.get("decided"))


@bp.get("/<int:batch_id>-<int:line>")
@unit_of_work.read_write  # showing the candidates is a read of their records: audited
@sessions.login_required(level=2)
def item(batch_id: int, line: int) -> ResponseReturnValue:
    """One item: the row beside each candidate, and the decision form (or the decision taken)."""
    staff = _staff()
    found = reviews.get_item(batch_id, line)
    authority.require(staff, "read", found.commune_code)
    return _item_page(staff, found)


def _item_page(staff: Staff, found: reviews.Item, *, error: str | None = None,
               status: int = 200) -> ResponseReturnValue:
    decision = reviews.decision_of(found)
    shown = reviews.evidence(found, actor=staff.actor)
    return _render("office/review_item.html", staff, status, item=found, evidence=shown, decision=decision,
                   may_confirm=decision is None and _may_decide(staff, found), error=error, fields=FIELDS,
                   levels=LEVELS)


def _render(template: str, staff: Staff, status: int = 200, **context: Any) -> ResponseReturnValue:
    """A page in the console's layout (its menu: the approval queue for those who approve or audit)."""
    return render_template(template, staff=staff, section="reviews",
                           may_decide=staff.has_role("supervisor") or staff.has_role("auditor"), **context), status


def _choice(value: str | None) -> int | None:
    """The form's ``candidate``: a citizen id, or ``none``."""
    if value == "none":
        return None
    if value and value.isascii() and value.isdigit():
        return int(value)
    raise ValidationFailed("Choose one of the candidates, or none of them / "
                           "Hãy chọn một trong những người được đề xuất, hoặc không ai",
                           errors={"candidate": "required"})


@bp.post("/<int:batch_id>-<int:line>")
@unit_of_work.read_write
@sessions.login_required(level=2)
def decide(batch_id: int, line: int) -> ResponseReturnValue:
    """Record the decision on an item; back to the queue, which says so."""
    staff = _staff()
    found = reviews.get_item(batch_id, line)
    authority.require(staff, "propose", found.commune_code)
    if _about_oneself(staff, found):
        raise Forbidden("You may not decide a match about yourself or your household / "
                        "Bạn không được quyết định trường hợp liên quan đến chính mình hoặc hộ gia đình mình.")
    try:
        reviews.decide_item(found, _choice(request.form.get("candidate")), actor=staff.actor)
    except ValidationFailed:
        return _item_page(staff, found, error=_("Choose one of the people, or none of them."), status=422)
    return redirect(url_for(".queue", decided=found.key), 303)
