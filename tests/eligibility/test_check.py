"""A programme's list checked: verdicts and reasons per row, in the list's order."""

from __future__ import annotations

from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.eligibility import check
from idsvc.eligibility.applicants import applicant
from tests.eligibility.checking import ON
from tests.eligibility.checking import make_programme
from tests.eligibility.checking import row_of


def test_rows_get_verdicts_in_order(create_citizen) -> None:
    programme = make_programme()
    old = create_citizen(full_name="Trần Thị Lan", birth_year=1950, sex="F")
    young = create_citizen(full_name="Lê Văn Hùng", birth_year=1990)
    unknown = applicant({"ref": "X", "citizen_id": "001090999999", "full_name": "Phạm Văn Tư",
                         "date_of_birth": "1950"}, 3, today=ON)
    rows = check.check(programme, [row_of(old, 1), row_of(young, 2), unknown], on=ON, actor="clerk:1")
    assert [(r.ref, r.verdict) for r in rows] == [("R1", "ELIGIBLE"), ("R2", "NOT_ELIGIBLE"), ("X", "NOT_FOUND")]
    assert rows[0].monthly_amount == 750000 and rows[1].monthly_amount is None
    assert rows[1].reasons == ("AGE_UNDER_60",)
    assert rows[0].citizen_id.startswith("P") and len(rows[0].citizen_id) == 21
    assert rows[0].citizen_id != old.id_number and rows[2].citizen_id == ""
    assert list(rows[0].as_output()) == list(check.OUTPUT_COLUMNS)
    events = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "eligibility:person:check")).all()
    assert sorted((e.subject_id, e.data["verdict"]) for e in events) == sorted(
        [(str(old.id), "ELIGIBLE"), (str(young.id), "NOT_ELIGIBLE")])
