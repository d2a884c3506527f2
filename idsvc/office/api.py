"""The registry office's JSON API for staff (``/api/v1/registry/…``).

Every endpoint needs a bearer token of scope ``registry.staff``: a level-2 login of a staff
member through a trusted client of ours; the token's account is then checked against its roles
and units on every call (``authority``), so a role revoked this morning stops working now.

- ``GET /persons``: search (``name`` without accents, ``name_words`` — some words of the name in
  their order —, ``born``, ``commune`` — pre-2025 codes too —, ``household``, ``number``), minimal
  fields, pages linked by ``next``.
- ``GET /persons/<number>``: the record with its household, relatives and history; ``ETag`` is the
  record's version. Every read is audited.
- ``POST /persons/<number>/proposals``: an operation on that person, made against the version the
  client saw: ``If-Match`` with the ETag is required (428 without it; 412 with the current version
  when the record changed meanwhile). ``POST /households/<number>/proposals`` and ``POST /births``
  work the same way without a person's version.
- ``GET /proposals``, ``GET /proposals/<id>`` (with the diff), ``POST /proposals/<id>/approve``,
  ``…/reject`` (a note is required), ``…/withdraw``; ``GET /operations`` describes every operation's
  fields.

Errors are problem documents (RFC 9457) with messages in English and Vietnamese.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint
from flask import Response
from flask import jsonify
from flask import request
from marshmallow import Schema
from marshmallow import ValidationError

from idsvc import api
from idsvc import unit_of_work
from idsvc.errors import NotFound
from idsvc.errors import PreconditionFailed
from idsvc.errors import PreconditionRequired
from idsvc.errors import ValidationFailed
from idsvc.office import authority
from idsvc.office import operations
from idsvc.office import people
from idsvc.office import schemas
from idsvc.office import service
from idsvc.office.authority import Staff
from idsvc.office.models import Proposal
from idsvc.oidc.claims import STAFF_SCOPE
from idsvc.registry.search import Query

bp = Blueprint("office_api", __name__, url_prefix="/api/v1/registry")

#: The largest id a path may name (a BIGINT): a longer number is a 404, never a database error.
MAX_ID = 2**63 - 1

_FOUND = schemas.PersonSummarySchema()
_PERSON = schemas.PersonViewSchema()
_PROPOSAL = schemas.ProposalSchema()
_PERSON_SUBJECTS = ("person", "pair")


def _staff() -> Staff:
    """The staff member behind the request's token (roles read now, not when the token was issued)."""
    return authority.staff_of_actor(api.actor())


def _args(schema: Schema) -> dict[str, Any]:
    """The query string loaded through ``schema``; an unknown or bad parameter is a 422 naming it."""
    try:
        return schema.load(request.args.to_dict())
    except ValidationError as exc:
        raise ValidationFailed("Some query parameters are not valid; see 'errors' / "
                               "Một số tham số truy vấn không hợp lệ; xem 'errors'.",
                               errors=exc.normalized_messages()) from None


def _person_number(number: str) -> str:
    """The ID number of a path, if it can be one (12 digits); anything else is nobody's number.

    :raises NotFound: saying what a number looks like.
    """
    if not (len(number) == 12 and number.isascii() and number.isdigit()):
        raise NotFound("No person has this number: an ID number has 12 digits / Không có công dân mang số này: "
                       "số định danh gồm 12 chữ số.")
    return number


def _household_number(number: str) -> str:
    """:raises NotFound: not a household number (printable, at most 20 characters)."""
    if not (0 < len(number) <= 20 and number.isprintable()):
        raise NotFound("No household has this number / Không có hộ mang số này.")
    return number


def etag(version: int) -> str:
    """The entity tag of a record's version (a strong tag: ``"7"``)."""
    return f'"{version}"'


def _expected_version(number: str) -> int:
    """The version named by ``If-Match``.

    :raises PreconditionRequired: no ``If-Match``, or ``*`` (which names no version).
    :raises ValidationFailed: not one entity tag of ours.
    """
    header = request.headers.get("If-Match", "").strip()
    where = f"GET {bp.url_prefix}/persons/{number}"
    if not header or header == "*":
        raise PreconditionRequired(
            f"Send 'If-Match' with the ETag of {where}: a change is made against the version you read, "
            f"so that nobody's change is overwritten unseen. / Gửi 'If-Match' với giá trị ETag của {where}: "
            "thay đổi được thực hiện trên phiên bản bạn đã đọc, để không ghi đè thay đổi của người khác.")
    if not (len(header) >= 3 and header[0] == header[-1] == '"' and header[1:-1].isascii()
            and header[1:-1].isdigit() and len(header) <= 12):
        raise ValidationFailed(
            f"If-Match: one ETag as {where} gave it, such as \"3\" (in double quotes) / If-Match: một giá trị "
            f"ETag như {where} trả về, ví dụ \"3\" (trong dấu ngoặc kép).",
            errors={"If-Match": ['one strong ETag, such as "3"']})
    return int(header[1:-1])


def _stale(number: str, current: int) -> PreconditionFailed:
    where = f"GET {bp.url_prefix}/persons/{number}"
    return PreconditionFailed(
        f"The record changed since you read it (now version {current}): read it again ({where}), check that "
        f"your change still applies and send it with the new ETag. / Hồ sơ đã thay đổi sau khi bạn đọc (phiên "
        f"bản hiện tại {current}): hãy đọc lại, kiểm tra thay đổi vẫn đúng và gửi lại với ETag mới.",
        etag=etag(current), current_version=current)


def _next_link(path: str, args: dict[str, Any], after: int | None) -> str | None:
    if after is None:
        return None
    query = {k: v for k, v in args.items() if k != "cursor" and v not in (None, "")}
    query["cursor"] = after
    return f"{path}?{urlencode(query)}"


def _paged(items: list[Any], next_link: str | None) -> Response:
    response = jsonify({"items": items, "next": next_link})
    if next_link:
        response.headers["Link"] = f'<{next_link}>; rel="next"'
    return response


def _proposal_response(proposal: Proposal, status: int = 200) -> Response:
    response = jsonify(_dump_proposal(proposal))
    response.status_code = status
    location = f"{bp.url_prefix}/proposals/{proposal.id}"
    if status == 201:
        response.headers["Location"] = location
    return response


def _dump_proposal(proposal: Proposal) -> dict[str, Any]:
    body: dict[str, Any] = _PROPOSAL.dump(proposal)
    body["links"] = {"self": f"{bp.url_prefix}/proposals/{proposal.id}"}
    return body


@bp.get("/operations")
@unit_of_work.read_only
@api.require_scope(STAFF_SCOPE)
def list_operations() -> Response:
    _staff()
    return jsonify({"items": [op.describe() for op in operations.OPERATIONS.values()]})


@bp.get("/persons")
@unit_of_work.read_only
@api.require_scope(STAFF_SCOPE)
def search_persons() -> Response:
    staff = _staff()
    args = _args(schemas.SearchArgs())
    criteria = Query(**{k: args.get(k) for k in ("name", "name_words", "born", "commune", "household", "number")})
    page = people.search(staff, criteria, args.get("cursor"), args["limit"])
    items = [{**_FOUND.dump(found), "links": {"self": f"{bp.url_prefix}/persons/{found.id_number}"}}
             for found in page.people]
    return _paged(items, _next_link(f"{bp.url_prefix}/persons", request.args.to_dict(), page.next_after))


@bp.get("/persons/<number>")
@unit_of_work.read_write  # the read is audited
@api.require_scope(STAFF_SCOPE)
def read_person(number: str) -> Response:
    view = people.read(_staff(), _person_number(number))
    response = jsonify(_PERSON.dump(view))
    response.headers["ETag"] = etag(view.citizen.version)
    response.headers["Cache-Control"] = "no-store"
    return response


#: Where each kind of subject is proposed for.
_ENDPOINTS = {"person": "POST /persons/<number>/proposals", "pair": "POST /persons/<number>/proposals",
              "household": "POST /households/<number>/proposals", "new": "POST /births"}


def _subject_is(name: str, subjects: tuple[str, ...]) -> None:
    """The operation works on this endpoint's kind of subject, or the answer says where to send it."""
    op = operations.get(name)
    if op.subject not in subjects:
        where = f"{_ENDPOINTS[op.subject].split()[0]} {bp.url_prefix}{_ENDPOINTS[op.subject].split()[1]}"
        raise ValidationFailed(f"'{op.name}' is not proposed here: send it to {where} / Thao tác '{op.name}' "
                               f"không gửi tại đây: hãy gửi tới {where}.", errors={"operation": [f"send to {where}"]})


def _document(body: dict[str, Any]) -> operations.Document | None:
    document = body.get("document")
    return operations.Document(document["number"].strip(), document["date"]) if document else None


@bp.post("/persons/<number>/proposals")
@unit_of_work.read_write
@api.require_scope(STAFF_SCOPE)
def propose_for_person(number: str) -> Response:
    staff = _staff()
    body = api.body(schemas.ProposalBody())
    _subject_is(body["operation"], _PERSON_SUBJECTS)
    expected = _expected_version(number)
    try:
        proposal = service.propose(staff, body["operation"], body["payload"], subject=_person_number(number),
                                   reason=body["reason"].strip(), document=_document(body),
                                   expected_version=expected)
    except service.StaleVersion as exc:
        raise _stale(number, exc.current_version) from None
    return _proposal_response(proposal, 201)


@bp.post("/households/<number>/proposals")
@unit_of_work.read_write
@api.require_scope(STAFF_SCOPE)
def propose_for_household(number: str) -> Response:
    staff = _staff()
    body = api.body(schemas.ProposalBody())
    _subject_is(body["operation"], ("household",))
    proposal = service.propose(staff, body["operation"], body["payload"], subject=_household_number(number),
                               reason=body["reason"].strip(), document=_document(body))
    return _proposal_response(proposal, 201)


@bp.post("/births")
@unit_of_work.read_write
@api.require_scope(STAFF_SCOPE)
def propose_birth() -> Response:
    staff = _staff()
    body = api.body(schemas.BirthBody())
    proposal = service.propose(staff, "birth", body["payload"], subject=None, reason=body["reason"].strip(),
                               document=_document(body))
    return _proposal_response(proposal, 201)


@bp.get("/proposals")
@unit_of_work.read_only
@api.require_scope(STAFF_SCOPE)
def list_proposals() -> Response:
    staff = _staff()
    args = _args(schemas.ProposalListArgs())
    limit = args["limit"]
    status = None if args["status"] == "all" else args["status"]
    found = service.proposals(staff, status=status, mine=args["mine"], after=args.get("cursor"), limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    after = found[-1].id if more else None
    return _paged([_dump_proposal(p) for p in found],
                  _next_link(f"{bp.url_prefix}/proposals", request.args.to_dict(), after))


@bp.get(f"/proposals/<int(max={MAX_ID}):proposal_id>")
@unit_of_work.read_only
@api.require_scope(STAFF_SCOPE)
def get_proposal(proposal_id: int) -> Response:
    proposal = service.get_proposal(_staff(), proposal_id)
    body = _dump_proposal(proposal)
    body["diff"] = [{"field": name, "current": current, "proposed": proposed}
                    for name, current, proposed in service.diff(proposal)]
    return jsonify(body)


@bp.post(f"/proposals/<int(max={MAX_ID}):proposal_id>/approve")
@unit_of_work.read_write
@api.require_scope(STAFF_SCOPE)
def approve(proposal_id: int) -> Response:
    return _proposal_response(service.approve(_staff(), proposal_id))


@bp.post(f"/proposals/<int(max={MAX_ID}):proposal_id>/reject")
@unit_of_work.read_write
@api.require_scope(STAFF_SCOPE)
def reject(proposal_id: int) -> Response:
    staff = _staff()
    body = api.body(schemas.RejectBody())
    return _proposal_response(service.reject(staff, proposal_id, body["note"].strip()))


@bp.post(f"/proposals/<int(max={MAX_ID}):proposal_id>/withdraw")
@unit_of_work.read_write
@api.require_scope(STAFF_SCOPE)
def withdraw(proposal_id: int) -> Response:
    return _proposal_response(service.withdraw(_staff(), proposal_id))
