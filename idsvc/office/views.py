"""The clerk console (``/office``): server-rendered pages for registry staff.

Search, a person's record with its history, a household, one form per operation (built from the
operation's field descriptions, :mod:`idsvc.office.forms`), the approval queue with its diff, and
one's own proposals. Staff log in with the ordinary login at level 2 (password and code); what
each may see and do is the office services' to decide (:mod:`idsvc.office.authority`), and a
refusal is a page in the console's language. The pages run no script: every check is the
server's, with the browser's own format hints.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idsvc import unit_of_work
from idsvc.errors import Conflict
from idsvc.errors import DomainError
from idsvc.errors import NotFound
from idsvc.errors import ValidationFailed
from idsvc.identity import sessions
from idsvc.office import authority
from idsvc.office import console
from idsvc.office import forms
from idsvc.office import operations
from idsvc.office import people
from idsvc.office import service
from idsvc.office.authority import Staff
from idsvc.office.models import STATUSES
from idsvc.registry import reference
from idsvc.registry.models import CitizenRevision
from idsvc.registry.search import Query

bp = Blueprint("office", __name__, url_prefix="/office")

#: Search criteria of the search form, in its order.
CRITERIA = ("name", "born", "commune", "household", "number")
#: Rows of one page of search results or of a queue.
PAGE_SIZE = 50


def _page_title(status: int) -> str:
    return {403: _("Not allowed"), 404: _("Page not found"), 409: _("Conflict with the current data"),
            422: _("The data is not valid")}.get(status) or _("Invalid request")


@bp.errorhandler(DomainError)
def _refused(exc: DomainError) -> ResponseReturnValue:
    """A refusal of the office's services as a page (the API answers problem+json), with the way
    back to what it was about."""
    args = request.view_args or {}
    if "proposal_id" in args:
        back = url_for("office.proposal", proposal_id=args["proposal_id"])
    elif "number" in args and request.endpoint in ("office.person_operation", "office.household_operation"):
        back = url_for("office.person" if request.endpoint == "office.person_operation" else "office.household",
                       number=args["number"])
    else:
        back = url_for("office.search")
    return render_template("office/refused.html", title=_page_title(exc.status), message=exc.detail,
                           code=exc.code, back=back, section=None), exc.status


def staff_page(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """A console page: logged in at level 2, by an account holding a staff role (else 403); the
    view receives the :class:`Staff` first."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        login = sessions.current_login()
        assert login is not None  # login_required
        return view(authority.staff_of_account(login.account_id), *args, **kwargs)

    return sessions.login_required(level=2)(wrapped)


def _render(template: str, staff: Staff, section: str | None = None, *, http_status: int = 200,
            **context: Any) -> ResponseReturnValue:
    roles = " · ".join(_role_text(role, unit) for role, unit in staff.roles)
    return render_template(template, staff=staff, staff_roles=roles, section=section,
                           may_decide=staff.has_role("supervisor") or staff.has_role("auditor"),
                           label=forms.label, label_of=forms.label_of, field_label=forms.field_label,
                           shown=forms.shown,
                           operation_label=_operation_label, page_size=PAGE_SIZE, sexes=reference.SEXES,
                           statuses=reference.STATUSES, relationships=reference.RELATIONSHIPS,
                           relative_kinds=reference.RELATIVE_KINDS, **context), http_status


def _operation_label(name: str) -> str:
    operation = operations.OPERATIONS.get(name)
    return forms.label_of(operation) if operation is not None else name


def _role_text(role: str, unit: str) -> str:
    name = {"clerk": _("Clerk"), "supervisor": _("Supervisor"), "auditor": _("Auditor"),
            "admin": _("Staff administrator")}.get(role, role)
    return _("%(role)s, whole country", role=name) if unit == "*" else _("%(role)s, unit %(unit)s", role=name,
                                                                             unit=unit)


# --- finding people ---------------------------------------------------------------------------

@bp.get("/")
@unit_of_work.read_write  # touches the login session's idle time
@staff_page
def search(staff: Staff) -> ResponseReturnValue:
    values = {key: request.args.get(key, "").strip()[:100] for key in CRITERIA}
    found = None
    error = None
    if any(values.values()):
        try:
            found = people.search(staff, Query(**{k: v or None for k, v in values.items()}), _after(), PAGE_SIZE)
        except ValidationFailed as refused:
            error = refused.detail
    return _render("office/search.html", staff, "search", http_status=422 if error else 200, values=values,
                   found=found, error=error, receives=people.may_receive_arrivals(staff))


@bp.get("/people/<number>")
@unit_of_work.read_write  # every read of a record is audited
@staff_page
def person(staff: Staff, number: str) -> ResponseReturnValue:
    view = people.read(staff, number)
    return _render("office/person.html", staff, "search", view=view,
                   operations=_operations_of(("person", "pair")),
                   may_propose=authority.can(staff, "propose", view.citizen.permanent_commune_code),
                   names=_names(view.history))


@bp.get("/households/<number>")
@unit_of_work.read_write  # the members' records are read: audited
@staff_page
def household(staff: Staff, number: str) -> ResponseReturnValue:
    view = console.read_household(staff, number)
    return _render("office/household.html", staff, "search", view=view, operations=_operations_of(("household",)),
                   may_propose=authority.can(staff, "propose", view.household.commune_code))


def _names(history: list[CitizenRevision]) -> dict[str, str]:
    """The names of the staff in a history (who made each change, who approved it)."""
    return console.actor_names(a for entry in history for a in (entry.actor, entry.approved_by))


def _operations_of(subjects: tuple[str, ...]) -> list[Any]:
    return [op for op in operations.OPERATIONS.values() if op.subject in subjects]


def _operation(name: str, subjects: tuple[str, ...]) -> Any:
    """:raises NotFound: no operation of that name works on these subjects."""
    operation = operations.OPERATIONS.get(name)
    if operation is None or operation.subject not in subjects:
        raise NotFound(_("There is no such operation."))
    return operation


# --- proposing --------------------------------------------------------------------------------

@bp.route("/people/<number>/<operation>", methods=["GET", "POST"])
@unit_of_work.read_write
@staff_page
def person_operation(staff: Staff, number: str, operation: str) -> ResponseReturnValue:
    op = _operation(operation, ("person", "pair"))
    # A move belongs to its destination: a clerk records an arrival from elsewhere without the record.
    view = people.arrival(staff, number) if op.name == "move" else people.read(staff, number)
    return _operation_page(staff, op, subject=number, view=view, version=view.citizen.version,
                           record=view.citizen)


@bp.route("/households/<number>/<operation>", methods=["GET", "POST"])
@unit_of_work.read_write
@staff_page
def household_operation(staff: Staff, number: str, operation: str) -> ResponseReturnValue:
    op = _operation(operation, ("household",))
    view = console.read_household(staff, number)
    return _operation_page(staff, op, subject=number, view=view, version=None, record=None)


@bp.route("/births/new", methods=["GET", "POST"])
@unit_of_work.read_write
@staff_page
def birth(staff: Staff) -> ResponseReturnValue:
    return _operation_page(staff, _operation("birth", ("new",)), subject=None, view=None, version=None,
                           record=None, section="birth")


def _operation_page(staff: Staff, op: Any, *, subject: str | None, view: Any, version: int | None,
                    record: Any, section: str = "search") -> ResponseReturnValue:
    """The form of ``op`` on ``subject``; posted, its proposal (a conflict page when the record
    changed since the form was opened)."""
    if request.method == "GET":
        form = forms.blank(op, version=version, record=record, values=request.args)
        return _render("office/operation.html", staff, section, op=op, form=form, view=view)
    form, submission = forms.read(op, request.form, record=record)
    status = 422
    if submission is not None:
        try:
            proposal = service.propose(staff, op.name, submission.payload, subject=subject,
                                       reason=submission.reason, document=submission.document,
                                       expected_version=submission.expected_version)
        except service.StaleVersion as stale:
            # The form again, on the current version: sending it now is a decision taken knowing
            # what changed meanwhile.
            form.version = stale.current_version
            since = [entry for entry in view.history if entry.version > (submission.expected_version or 0)]
            return _render("office/conflict.html", staff, section, http_status=409, op=op, form=form, view=view,
                           since=since, message=stale.detail, expected_version=submission.expected_version,
                           names=_names(since))
        except ValidationFailed as refused:
            form.refuse(refused.extra.get("errors") or {"_form": refused.detail})
        except Conflict as refused:  # the registry's rules refuse it as the record is (already deceased ...)
            form.errors["_form"] = refused.detail
            status = 409
        else:
            return redirect(url_for("office.proposal", proposal_id=proposal.id, done=1))
    return _render("office/operation.html", staff, section, http_status=status, op=op, form=form, view=view)


# --- proposals --------------------------------------------------------------------------------

@bp.get("/proposals")
@unit_of_work.read_write
@staff_page
def queue(staff: Staff) -> ResponseReturnValue:
    asked = request.args.get("status", "pending")
    status = asked if asked in STATUSES else "pending"
    found = service.proposals(staff, status=status, after=_after(), limit=PAGE_SIZE)
    return _render("office/proposals.html", staff, "queue", found=found, status=status, mine=False,
                   concerned=console.concerned(found))


@bp.get("/proposals/mine")
@unit_of_work.read_write
@staff_page
def mine(staff: Staff) -> ResponseReturnValue:
    found = service.proposals(staff, status=None, mine=True, after=_after(), limit=PAGE_SIZE)
    return _render("office/proposals.html", staff, "mine", found=found, status=None, mine=True,
                   concerned=console.concerned(found))


def _after() -> int | None:
    after = request.args.get("after", "")
    return int(after) if after.isascii() and after.isdigit() and len(after) < 19 else None


@bp.get("/proposals/<int:proposal_id>")
@unit_of_work.read_write
@staff_page
def proposal(staff: Staff, proposal_id: int) -> ResponseReturnValue:
    return _proposal_page(staff, proposal_id)


def _proposal_page(staff: Staff, proposal_id: int, http_status: int = 200, **context: Any) -> ResponseReturnValue:
    found = service.get_proposal(staff, proposal_id)
    return _render("office/proposal.html", staff, "queue", http_status=http_status, proposal=found,
                   diff=service.diff(found), operation=operations.OPERATIONS[found.operation],
                   done=request.args.get("done"),
                   concerned=console.concerned([found])[found.id],
                   names=console.actor_names(f"account:{i}" for i in (found.proposed_by_account_id,
                                                                       found.decided_by_account_id) if i),
                   may_approve=authority.can(staff, "approve", found.unit_code), **context)


@bp.post("/proposals/<int:proposal_id>/approve")
@unit_of_work.read_write
@staff_page
def approve(staff: Staff, proposal_id: int) -> ResponseReturnValue:
    service.approve(staff, proposal_id)
    return redirect(url_for("office.proposal", proposal_id=proposal_id, done=1))


@bp.post("/proposals/<int:proposal_id>/reject")
@unit_of_work.read_write
@staff_page
def reject(staff: Staff, proposal_id: int) -> ResponseReturnValue:
    note = request.form.get("note", "").strip()
    if not note:
        return _proposal_page(staff, proposal_id, 422,
                              note_error=_("Say why it is rejected: the note is sent to whoever proposed it."))
    service.reject(staff, proposal_id, note)
    return redirect(url_for("office.proposal", proposal_id=proposal_id, done=1))


@bp.post("/proposals/<int:proposal_id>/withdraw")
@unit_of_work.read_write
@staff_page
def withdraw(staff: Staff, proposal_id: int) -> ResponseReturnValue:
    service.withdraw(staff, proposal_id)
    return redirect(url_for("office.proposal", proposal_id=proposal_id, done=1))
