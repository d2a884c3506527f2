"""``idsvc registry propose|approve|reject|withdraw|proposals``: the office's work from a shell,
for offices that script it. Attached to the ``registry`` group by :mod:`idsvc.cli` (the registry
does not know the office).

``--as`` names the staff member by their ID number: the command acts with that person's roles,
under the same rules as the console and the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any
from typing import TypeVar

import click
from flask.cli import with_appcontext

from idsvc.clitools import in_transaction
from idsvc.errors import DomainError
from idsvc.identity import service as identity
from idsvc.office import authority
from idsvc.office import operations
from idsvc.office import service
from idsvc.office.authority import Staff
from idsvc.office.models import STATUSES
from idsvc.office.models import Proposal
from idsvc.registry import service as registry
from idsvc.registry.changes import Document

T = TypeVar("T")

as_option = click.option("--as", "as_number", required=True, metavar="STAFF_ID_NUMBER",
                         help="The ID number of the staff member acting (their roles apply).")


def attach(group: click.Group) -> None:
    """Add the office's commands to the ``registry`` group."""
    for command in (propose, approve, reject, withdraw, list_proposals, list_operations):
        group.add_command(command)


def _staff(number: str) -> Staff:
    account = identity.account_for_citizen(registry.get_citizen_by_number(number.strip()))
    if account is None:
        raise click.ClickException(f"no account for {number} / không có tài khoản")
    return authority.staff_of_account(account.id)


def _run(as_number: str, action: Callable[[Staff], T]) -> T:
    def run() -> T:
        return action(_staff(as_number))

    try:
        return in_transaction(run)
    except click.ClickException as exc:
        cause = exc.__cause__
        errors = cause.extra.get("errors") if isinstance(cause, DomainError) else None
        if errors:
            lines = "\n".join(f"  {field}: {why}" for field, why in errors.items())
            raise click.ClickException(f"{exc.message}\n{lines}") from cause
        raise


def _show(proposal: Proposal) -> str:
    line = (f"#{proposal.id} {proposal.operation} {proposal.status} unit {proposal.unit_code} "
            f"by account:{proposal.proposed_by_account_id} {proposal.proposed_at:%Y-%m-%d %H:%M}: {proposal.reason}")
    if proposal.decision_note:
        line += f" — note: {proposal.decision_note}"
    return line


def _pairs(values: tuple[str, ...]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for item in values:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise click.UsageError(f"--set takes field=value, not {item!r}")
        payload[field.strip()] = value
    return payload


@click.command("propose")
@click.argument("operation", type=click.Choice(sorted(operations.OPERATIONS)))
@click.argument("subject", required=False)
@as_option
@click.option("--reason", required=True, help="Legal basis or request / Lý do (căn cứ pháp lý, yêu cầu).")
@click.option("--document-number", help="Number of the document the change rests on.")
@click.option("--document-date", type=click.DateTime(["%Y-%m-%d"]), help="Its date, YYYY-MM-DD.")
@click.option("--set", "values", multiple=True, metavar="FIELD=VALUE",
              help="A field of the operation (repeat; `idsvc registry operations` lists them).")
@click.option("--expect-version", type=int, help="The record version you saw: refused if it changed since.")
@with_appcontext
def propose(operation: str, subject: str | None, as_number: str, reason: str, document_number: str | None,
            document_date: Any, values: tuple[str, ...], expect_version: int | None) -> None:
    """Propose OPERATION on SUBJECT (an ID number, a household number; none for a birth) /
    Đề xuất một thao tác. An immediate operation applies at once; the others wait for a supervisor."""
    if (document_number is None) != (document_date is None):
        raise click.UsageError("--document-number and --document-date go together")
    document = Document(document_number, document_date.date()) if document_number and document_date else None
    payload = _pairs(values)
    proposal = _run(as_number, lambda staff: service.propose(
        staff, operation, payload, subject=subject, reason=reason, document=document,
        expected_version=expect_version))
    click.echo(_show(proposal))
    if proposal.result:
        click.echo(json.dumps(proposal.result, ensure_ascii=False, default=_json_default))


@click.command("approve")
@click.argument("proposal_id", type=int)
@as_option
@with_appcontext
def approve(proposal_id: int, as_number: str) -> None:
    """Approve and apply proposal PROPOSAL_ID / Phê duyệt đề xuất."""
    proposal = _run(as_number, lambda staff: service.approve(staff, proposal_id))
    click.echo(_show(proposal))
    if proposal.result:
        click.echo(json.dumps(proposal.result, ensure_ascii=False, default=_json_default))


@click.command("reject")
@click.argument("proposal_id", type=int)
@as_option
@click.option("--note", required=True, help="Why / Lý do từ chối.")
@with_appcontext
def reject(proposal_id: int, as_number: str, note: str) -> None:
    """Reject proposal PROPOSAL_ID, saying why / Từ chối đề xuất."""
    click.echo(_show(_run(as_number, lambda staff: service.reject(staff, proposal_id, note))))


@click.command("withdraw")
@click.argument("proposal_id", type=int)
@as_option
@with_appcontext
def withdraw(proposal_id: int, as_number: str) -> None:
    """Withdraw your own pending proposal PROPOSAL_ID / Rút đề xuất."""
    click.echo(_show(_run(as_number, lambda staff: service.withdraw(staff, proposal_id))))


@click.command("proposals")
@as_option
@click.option("--status", type=click.Choice([*STATUSES, "all"]), default="pending", show_default=True)
@click.option("--mine", is_flag=True, help="Only your own proposals.")
@click.option("--after", type=int, help="Show those after this id (the line 'more: --after N').")
@click.option("--limit", type=click.IntRange(1, service.MAX_PAGE), default=50, show_default=True)
@with_appcontext
def list_proposals(as_number: str, status: str, mine: bool, after: int | None, limit: int) -> None:
    """List the proposals of your units (or your own) / Danh sách đề xuất."""
    found = _run(as_number, lambda staff: service.proposals(
        staff, status=None if status == "all" else status, mine=mine, after=after, limit=limit))
    for proposal in found:
        click.echo(_show(proposal))
    if not found:
        click.echo("no proposals / không có đề xuất")
    elif len(found) == limit:
        click.echo(f"more: --after {found[-1].id}")


@click.command("operations")
def list_operations() -> None:
    """List the operations and their fields (for --set) / Các thao tác và trường dữ liệu."""
    for op in operations.OPERATIONS.values():
        review = " (always reviewed / luôn phải phê duyệt)" if op.mandatory_review else ""
        click.echo(f"{op.name} [{op.subject}] {op.label_en} / {op.label_vi}{review}")
        for f in op.fields:
            choices = f" ({'|'.join(v for v, _, _ in f.choices)})" if f.choices else ""
            click.echo(f"    {f.name}{'*' if f.required else ''}  {f.kind}{choices}  {f.label_en} / {f.label_vi}")


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)
