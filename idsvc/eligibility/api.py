"""The programmes' API (``/api/v1/eligibility``): list checks, synchronous and in batches.

Every endpoint needs a ``client_credentials`` token with scope ``eligibility.lookup`` of a client
registered for the programme (:mod:`access`); errors are problem documents (RFC 9457).

- ``POST /programmes/<code>/checks``: up to :data:`MAX_SYNC_ROWS` rows in a JSON body, answered at once.
- ``POST /programmes/<code>/batches``: a list as the body (CSV or JSONL), stored and checked by the
  worker; ``202`` with the batch's status URL.
- ``GET /batches/<id>``: where the batch stands. ``GET /batches/<id>/results``: its results (CSV or
  JSONL), in the order of the list, once it is done. Only the client that submitted a batch sees it.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from flask import stream_with_context
from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from idsvc import api
from idsvc import csvsafe
from idsvc import unit_of_work
from idsvc.eligibility import access
from idsvc.eligibility import applicants
from idsvc.eligibility import batches
from idsvc.eligibility import check
from idsvc.eligibility import service
from idsvc.eligibility.models import CheckBatch
from idsvc.eligibility.models import Programme
from idsvc.errors import Conflict
from idsvc.errors import Forbidden
from idsvc.errors import Gone
from idsvc.errors import TooLarge
from idsvc.errors import UnsupportedType
from idsvc.errors import ValidationFailed
from idsvc.registry import dates

bp = Blueprint("eligibility_api", __name__, url_prefix="/api/v1/eligibility")

SCOPE = "eligibility.lookup"
#: Rows of a synchronous check; a longer list goes as a batch.
MAX_SYNC_ROWS = 1000
#: Bytes of a synchronous check's body: a thousand rows take a few hundred kilobytes.
MAX_SYNC_BYTES = 4 * 1024 * 1024
#: Media types of a batch's body, and of its results.
BODY_FORMATS = {"text/csv": "csv", "application/x-ndjson": "jsonl", "application/jsonl": "jsonl",
                "application/jsonlines": "jsonl"}
RESULT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
_READ_SIZE = 1 << 20


class CheckSchema(Schema):
    """A synchronous check: the rows (each checked on its own: a bad row is an answer, not an error)."""

    rows = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))
    reference_date = fields.Date()


def _client_id() -> str | None:
    """The calling machine client's client_id; None for a token of a person."""
    who = api.actor()
    return who.removeprefix("client:") if who.startswith("client:") else None


def _programme_of_caller(code: str) -> tuple[Programme, int]:
    """The programme, and the primary key of the calling client registered for it.

    :raises NotFound: no such programme. :raises Forbidden: the client is not registered for it.
    """
    programme = service.get_programme(code)
    client = access.registered_client(programme, _client_id())
    if client is None:
        raise Forbidden(f"This client is not registered for programme '{programme.code}': the operator "
                        f"registers it with `idsvc eligibility programmes grant {programme.code} <client_id>`.")
    return programme, client.id


def _row(obj: Any, line: int, today: date) -> applicants.Applicant:
    """An applicant of one JSON row; a row that is no object, has unknown keys or values that are
    not text is an applicant with its reason (``INVALID_ROW``), never a failed request."""
    if not isinstance(obj, dict):
        return _invalid(applicants.applicant({}, line, today=today), 'not a JSON object ({"ref": "...", ...})')
    known = applicants.LAYOUT.known
    unknown = sorted(str(k)[:40] for k in obj if k not in known)
    not_text = sorted(k for k, v in obj.items() if k in known and v is not None and not isinstance(v, str))
    values = {k: v for k, v in obj.items() if k in known and isinstance(v, str)}
    found = applicants.applicant(values, line, today=today)
    if unknown:
        return _invalid(found, f"unknown keys {', '.join(unknown)}")
    if not_text:
        return _invalid(found, f"{', '.join(not_text)}: must be text in double quotes (a number loses leading zeros)")
    return found


def _invalid(found: applicants.Applicant, why: str) -> applicants.Applicant:
    return replace(found, invalid=why)


def json_result(output: Mapping[str, str], reasons: list[str]) -> dict[str, Any]:
    """A result row as JSON: score and monthly amount as numbers or null, reasons as a list."""
    row: dict[str, Any] = dict(output)
    row["score"] = float(output["score"]) if output.get("score") else None
    row["monthly_amount"] = int(output["monthly_amount"]) if output.get("monthly_amount") else None
    row["reasons"] = reasons
    return row


@bp.post("/programmes/<code>/checks")
@unit_of_work.read_write
@api.require_scope(SCOPE)
def check_rows(code: str) -> Response:
    programme, _client = _programme_of_caller(code)
    data = api.body(CheckSchema(), max_bytes=MAX_SYNC_BYTES,
                    too_large=f"A check's body takes at most {MAX_SYNC_BYTES:,} bytes. Send a longer list as a "
                              f"batch: POST /api/v1/eligibility/programmes/{programme.code}/batches.")
    rows = data["rows"]
    if len(rows) > MAX_SYNC_ROWS:
        raise TooLarge(f"A check takes at most {MAX_SYNC_ROWS:,} rows; this one has {len(rows):,}. Send a "
                       f"longer list as a batch: POST /api/v1/eligibility/programmes/{programme.code}/batches.")
    today = dates.today()
    on = data.get("reference_date") or today
    listed = [_row(obj, line, today) for line, obj in enumerate(rows, 1)]
    checked = check.check(programme, listed, on=on, actor=api.actor())
    return jsonify({"programme": programme.code, "rule_set_version": programme.rule_set_version,
                    "reference_date": on.isoformat(),
                    "results": [json_result(c.as_output(), list(c.reasons)) for c in checked]})


def _reference_date() -> date:
    text = request.args.get("reference_date")
    if not text:
        return dates.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("reference_date: write the date as YYYY-MM-DD.") from None


def _save_body(directory: Path, fmt: str) -> Path:
    """The request's body in a file of ``directory``, copied a megabyte at a time.

    :raises TooLarge: larger than ``ELIGIBILITY_BATCH_MAX_BYTES``.
    """
    limit = int(current_app.config["ELIGIBILITY_BATCH_MAX_BYTES"])
    too_large = TooLarge(f"The list is larger than {limit:,} bytes; split it into several batches.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    path = directory / f"list.{fmt}"
    size = 0
    with path.open("wb") as out:
        while piece := request.stream.read(_READ_SIZE):
            size += len(piece)
            if size > limit:
                raise too_large
            out.write(piece)
    if not size:
        raise ValidationFailed("The body is empty: send the list (CSV or JSONL) as the body.")
    return path


def _status(batch: CheckBatch, code: str) -> dict[str, Any]:
    body = batches.status(batch, code, int(current_app.config["ELIGIBILITY_RETENTION_DAYS"]))
    body["links"] = {"self": f"{bp.url_prefix}/batches/{batch.key}",
                     "results": f"{bp.url_prefix}/batches/{batch.key}/results"}
    return body


@bp.post("/programmes/<code>/batches")
@unit_of_work.read_write
@api.require_scope(SCOPE)
def submit_batch(code: str) -> Response:
    programme, client_pk = _programme_of_caller(code)
    fmt = BODY_FORMATS.get(request.mimetype)
    if fmt is None:
        raise UnsupportedType("Send the list as 'Content-Type: text/csv' or 'application/x-ndjson' (JSONL), "
                              f"with the columns {', '.join(applicants.LAYOUT.columns)}.")
    reference_date = _reference_date()
    with tempfile.TemporaryDirectory(prefix="idsvc-batch-") as directory:
        path = _save_body(Path(directory), fmt)
        batch = batches.submit(programme, client_pk=client_pk, actor=api.actor(), path=path, fmt=fmt,
                               reference_date=reference_date, submitted_on=dates.today(),
                               limits=batches.Limits.of_app())
    response = jsonify(_status(batch, programme.code))
    response.status_code = 202
    response.headers["Location"] = f"{bp.url_prefix}/batches/{batch.key}"
    return response


def _batch_of_caller(key: str) -> tuple[CheckBatch, str]:
    """The batch, when the caller submitted it, and its programme's code.

    :raises NotFound: no such batch, or another client's. :raises Gone: purged after the retention.
    """
    client_id = _client_id()
    batch, code = batches.find(key, access.client_pk(client_id) if client_id else None)
    if batch.state == "purged":
        raise Gone(f"Batch '{batch.key}' and its results were deleted after the retention period; "
                           "submit the list again.")
    return batch, code


@bp.get("/batches/<key>")
@unit_of_work.read_only
@api.require_scope(SCOPE)
def batch_status(key: str) -> Response:
    batch, code = _batch_of_caller(key)
    return jsonify(_status(batch, code))


def _result_format() -> str:
    asked = request.args.get("format")
    if asked:
        if asked not in RESULT_TYPES:
            raise ValidationFailed("format: one of csv, jsonl.")
        return asked
    best = request.accept_mimetypes.best_match(["text/csv", "application/x-ndjson", "application/jsonl"],
                                               default="text/csv")
    return "csv" if best == "text/csv" else "jsonl"


def _csv_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csvsafe.Writer(buffer, lineterminator="\r\n")
    writer.writerow(list(check.OUTPUT_COLUMNS))
    for count, row in enumerate(rows, 1):
        output = row.get("row", {})
        writer.writerow([output.get(c, "") for c in check.OUTPUT_COLUMNS])
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _jsonl_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(json_result(row.get("row", {}), row.get("reasons", [])), ensure_ascii=False) + "\n"


@bp.get("/batches/<key>/results")
@unit_of_work.read_only
@api.require_scope(SCOPE)
def batch_results(key: str) -> Response:
    batch, _code = _batch_of_caller(key)
    fmt = _result_format()
    if batch.state != "done":
        detail = (batch.error or "The batch failed.") if batch.state == "failed" else (
            f"Batch '{batch.key}' is {batch.state}: {batch.rows_resolved:,} of {batch.rows_total:,} rows resolved. "
            "Ask its status URL again later.")
        raise Conflict(detail, state=batch.state)
    lines = _csv_lines(batches.results(batch.id)) if fmt == "csv" else _jsonl_lines(batches.results(batch.id))
    response = Response(stream_with_context(lines), content_type=RESULT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{batch.key}-results.{fmt}"'
    return response
