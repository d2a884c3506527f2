"""The transaction policy: every view declares its unit of work, and the declaration alone decides
what a request commits (``idsvc.unit_of_work``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text

import idsvc
from idsvc import db
from idsvc import unit_of_work
from idsvc.audit import service as audit
from idsvc.audit.models import AuditEvent
from idsvc.audit.tags import AuditAction
from idsvc.db import utcnow

#: The views whose refusals commit, and with which statuses: the ones that count tries (login,
#: second factor, activation, password change) and the token endpoint (a spent code, a family
#: revoked on reuse). Nothing else keeps a write when it answers 4xx.
KEEP_REFUSALS = {
    "identity.login": {401},
    "identity.second_factor": {401},
    "identity.activate": {400},
    "identity.change_password": {400},
    "oidc.token": {400},
}
# (Introspection is read_write: the person's claims it answers with are a release, audited.)
READ_ONLY = {"web.healthz", "web.readyz", "i18n.switch", "eligibility_api.batch_status",
             "eligibility_api.batch_results", "office_api.search_persons", "office_api.list_proposals",
             "office_api.get_proposal", "office_api.list_operations"}
GROUP_COMMIT = {"oidc.token"}


def _policies(app: Any) -> dict[str, unit_of_work.Policy | None]:
    return {endpoint: unit_of_work.policy_of(view) for endpoint, view in app.view_functions.items()
            if endpoint != "static"}


def test_every_view_declares_its_unit_of_work(app) -> None:
    policies = _policies(app)
    assert len(policies) > 20
    assert [endpoint for endpoint, policy in policies.items() if policy is None] == []


def test_only_the_views_that_count_tries_or_spend_codes_keep_a_refusal(app) -> None:
    policies = {endpoint: policy for endpoint, policy in _policies(app).items() if policy is not None}
    assert {e: set(p.persist_on) for e, p in policies.items() if p.persist_on} == KEEP_REFUSALS
    assert {e for e, p in policies.items() if p.mode == unit_of_work.READ_ONLY} == READ_ONLY
    assert {e for e, p in policies.items() if p.group_commit} == GROUP_COMMIT


def test_the_policy_is_declared_outermost_so_it_comes_before_any_read(app) -> None:
    """The read-only session and the policy are in place before the other decorators (login,
    bearer token, client authentication) read anything."""
    source = {path: path.read_text() for path in Path(idsvc.__file__).parent.rglob("*.py")}
    for path, code in source.items():
        for match in re.finditer(r"^@(?:bp|app)\.(?:route|get|post|put|patch|delete)\(.*\)\n(@.*)$", code, re.M):
            assert match.group(1).startswith("@unit_of_work."), f"{path.name}: {match.group(0)}"


def test_services_never_commit_nor_decide_the_transaction() -> None:
    """Only the policy, the CLI's ``db.transaction`` (and the seed command, which ends its look
    before loading) and the registry import (its own connection) end transactions."""
    allowed = {"db.py", "unit_of_work.py", "registry/seed.py", "registry/imports/importer.py",
               "registry/imports/bulkwrite.py"}
    root = Path(idsvc.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        name = path.relative_to(root).as_posix()
        code = path.read_text()
        if name not in allowed and re.search(r"\.(commit|rollback)\(\)", code):
            offenders.append(name)
        if "persist_on_error" in code or "db_persist" in code:
            offenders.append(name)
    assert offenders == []


# --- what the declaration does ----------------------------------------------------------------

def _view(app: Any, name: str, declare: Any, status: int, body: Any = None) -> None:
    """Add ``GET /<name>``: it records an audit event with actor ``name`` and answers ``status``."""

    def view() -> tuple[str, int]:
        if body is not None:
            body()
        audit.record(AuditAction.IDENTITY_LOGIN_FAILURE, actor=name)
        return "", status

    view.__name__ = name
    app.add_url_rule(f"/{name}", name, declare(view) if declare else view)


def _kept(app: Any, name: str) -> bool:
    with app.app_context():
        return bool(db.session().scalar(select(func.count()).where(AuditEvent.actor == name)))


def _read() -> None:
    db.session().execute(text("SELECT 1"))  # begins the request's transaction


@pytest.mark.parametrize(("declare", "status", "kept"), [
    (unit_of_work.read_write, 200, True),
    (unit_of_work.read_write, 302, True),
    (unit_of_work.read_write, 400, False),
    (unit_of_work.read_write(persist_on=(400,)), 400, True),
    (unit_of_work.read_write(persist_on=(400,)), 401, False),
    (unit_of_work.read_write(persist_on=(401,)), 401, True),
    (unit_of_work.read_write(persist_on=(400, 401)), 422, False),
    (None, 200, True),   # a view that declares nothing is read_write
    (None, 401, False),
])
def test_a_refusal_is_rolled_back_unless_the_view_declared_its_status(app, declare, status, kept) -> None:
    _view(app, "view", declare, status, body=_read)
    assert app.test_client().get("/view").status_code == status
    assert _kept(app, "view") is kept


def test_a_failure_is_never_kept(app) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def fails() -> None:
        _read()
        audit.record(AuditAction.IDENTITY_LOGIN_FAILURE, actor="view")
        raise RuntimeError("fails after writing")

    _view(app, "view", unit_of_work.read_write(persist_on=(400, 401)), 200, body=fails)
    assert app.test_client().get("/view").status_code == 500
    assert not _kept(app, "view")


@pytest.mark.parametrize("status", [400, 401, 500])
def test_persist_on_names_refusals_only(status) -> None:
    if status == 500:
        with pytest.raises(ValueError, match="refusals"):
            unit_of_work.read_write(persist_on=(status,))
    else:
        unit_of_work.read_write(persist_on=(status,))


@pytest.mark.parametrize(("declare", "kept"), [
    (unit_of_work.read_write, False),                     # joined the request's transaction
    (unit_of_work.read_write(group_commit=True), True),   # committed by the group writer
])
def test_only_a_group_commit_view_hands_rows_to_the_group_writer(app, monkeypatch, declare, kept) -> None:
    writes: list[list[str]] = []
    writer = db.get_db(app).group_writer
    real_write = writer.write
    monkeypatch.setattr(writer, "write", lambda rows: (writes.append([t.name for t, _ in rows]), real_write(rows)))
    _view(app, "view", declare, 400)  # appends before anything began a transaction
    app.test_client().get("/view")
    assert _kept(app, "view") is kept
    assert writes == ([["audit_event"]] if kept else [])


def test_a_group_commit_view_that_began_its_transaction_appends_in_it(app, monkeypatch) -> None:
    writer = db.get_db(app).group_writer
    monkeypatch.setattr(writer, "write", lambda rows: pytest.fail("went to the group writer"))
    _view(app, "view", unit_of_work.read_write(group_commit=True), 400, body=_read)
    app.test_client().get("/view")
    assert not _kept(app, "view")  # in the request's transaction, rolled back with the refusal


def _failure(caplog: Any) -> str:
    return "".join(str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_a_read_only_view_appends_nothing(app, caplog) -> None:
    _view(app, "view", unit_of_work.read_only, 200)
    assert app.test_client().get("/view").status_code == 500
    assert "read_only view appended rows" in _failure(caplog)
    assert not _kept(app, "view")


def test_a_write_apart_comes_before_the_request_begins_its_transaction(app, caplog) -> None:
    row = (AuditEvent.__table__, {"at": utcnow(), "action": "test:apart", "actor": "apart", "subject_type": None,
                                  "subject_id": None, "ip": None, "data": None})

    def apart_after_a_read() -> tuple[str, int]:
        _read()
        unit_of_work.write_apart([row])
        return "", 200

    def apart_first() -> tuple[str, int]:
        unit_of_work.write_apart([row])
        _read()
        return "", 400  # refused: the row stands all the same

    app.add_url_rule("/late", "late", unit_of_work.read_write(apart_after_a_read))
    app.add_url_rule("/first", "first", unit_of_work.read_write(apart_first))
    assert app.test_client().get("/late").status_code == 500
    assert "began its transaction" in _failure(caplog)
    assert not _kept(app, "apart")
    assert app.test_client().get("/first").status_code == 400
    assert _kept(app, "apart")
