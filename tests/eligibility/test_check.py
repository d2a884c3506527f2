"""A programme's list checked: verdicts and reasons per row, in the list's order."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from idsvc import db
from idsvc.audit.models import AuditEvent
from idsvc.eligibility import check
from idsvc.eligibility import service
from idsvc.eligibility.applicants import applicant
from idsvc.eligibility.models import Enrolment
from idsvc.eligibility.resolution import Resolution
from idsvc.registry import service as registry
from tests.eligibility.checking import ON
from tests.eligibility.checking import age_rule
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


def resolved(citizen, match: str = "id", *reasons: str) -> Resolution:
    return Resolution(citizen.id, match, None, tuple(reasons))


def test_invalid_rows_are_reviewed_with_the_reason(create_citizen) -> None:
    programme = make_programme()
    bad = applicant({"ref": "B", "citizen_id": "", "full_name": "Trần Thị Lan", "date_of_birth": "31/02/1950"},
                    1, today=ON)
    [row] = check.check(programme, [bad], on=ON, actor="t")
    assert (row.verdict, row.citizen_id, row.monthly_amount) == ("REVIEW", "", None)
    assert row.reasons == ("INVALID_ROW:date_of_birth: 1950-02 has no day 31",)


def test_a_row_a_clerk_must_decide_and_one_nobody_fits(create_citizen) -> None:
    programme = make_programme()
    a, b = create_citizen(birth_year=1950), create_citizen(birth_year=1950)
    rows = [row_of(a, 1, citizen_id=""), row_of(b, 2, citizen_id="", full_name="Đỗ Minh Quân")]
    found = [Resolution(None, "review", 15.2, ("MATCH_REVIEW",), candidates=(a.id, b.id)),
             Resolution(None, "none")]
    checked = check.decide(programme, rows, found, on=ON, actor="t")
    assert [(r.verdict, r.reasons, r.citizen_id, r.score) for r in checked] == [
        ("REVIEW", ("MATCH_REVIEW",), "", 15.2), ("NOT_FOUND", (), "", None)]
    assert checked[0].as_output()["score"] == "15.2"


def test_the_dead_are_not_eligible_even_without_an_alive_rule(create_citizen) -> None:
    programme = make_programme(rules=[age_rule(60)])
    dead = create_citizen(birth_year=1940)
    check.check(make_programme("test-other"), [row_of(dead, 1)], on=ON, actor="t", enrol=True)
    registry.record_death(dead, date(2026, 3, 1), actor="t", reason="death certificate")
    [row] = check.check(programme, [row_of(dead, 1)], on=ON, actor="t")
    # Enrolled elsewhere too, but death settles it.
    assert (row.verdict, row.reasons) == ("NOT_ELIGIBLE", ("DECEASED",))
    # Before the death the person was alive, and paid as much elsewhere.
    [before] = check.check(programme, [row_of(dead, 1)], on=date(2026, 2, 1), actor="t")
    assert before.reasons == ("ENROLLED_ELSEWHERE:test-other", "HIGHER_ALLOWANCE_ELSEWHERE")


def test_a_partial_date_of_birth_on_the_edge_is_reviewed(create_citizen) -> None:
    programme = make_programme()
    edge = create_citizen(birth_year=1966, birth_month=None, birth_day=None)  # 60 in 2026, or not yet
    [row] = check.check(programme, [row_of(edge, 1)], on=ON, actor="t")
    assert (row.verdict, row.reasons) == ("REVIEW", ("AGE_UNCERTAIN",))


def test_identity_reasons_are_added_and_a_mismatch_is_reviewed(create_citizen) -> None:
    programme = make_programme()
    lan, hung = create_citizen(birth_year=1950, full_name="Trần Thị Lan", sex="F"), create_citizen(birth_year=1940)
    rows = [row_of(lan, 1, date_of_birth="1951-05-17"), row_of(hung, 2), row_of(hung, 3, ref="Y", birth_year="")]
    found = [resolved(lan, "id", "DATA_MISMATCH:dob"), resolved(hung, "details", "ID_OF_OTHER_PERSON"),
             Resolution(None, "none", None, ("ID_UNKNOWN",))]
    checked = check.decide(programme, rows, found, on=ON, actor="t")
    assert [(r.verdict, r.reasons) for r in checked] == [
        ("REVIEW", ("DATA_MISMATCH:dob",)), ("ELIGIBLE", ("ID_OF_OTHER_PERSON",)),
        ("NOT_FOUND", ("ID_UNKNOWN",))]
    assert checked[0].monthly_amount is None and checked[1].monthly_amount == 750000


def test_a_row_with_the_holders_number_but_other_details_is_no_duplicate_of_the_holder(create_citizen) -> None:
    # A wife listed with her husband's number, next to the husband's own row: two people, not one.
    programme = make_programme()
    husband = create_citizen(birth_year=1950)
    rows = [row_of(husband, 1), row_of(husband, 2, full_name="Trần Thị Lan", date_of_birth="1952-03-01", sex="F")]
    found = [resolved(husband, "id"), resolved(husband, "id", "DATA_MISMATCH:name+dob+sex")]
    checked = check.decide(programme, rows, found, on=ON, actor="t")
    assert [(r.verdict, r.reasons, r.duplicate_group) for r in checked] == [
        ("ELIGIBLE", (), ""), ("REVIEW", ("DATA_MISMATCH:name+dob+sex",), "")]


def test_the_answer_never_reveals_the_registry_values(create_citizen) -> None:
    programme = make_programme()
    lan = create_citizen(birth_year=1950, birth_month=2, birth_day=9, full_name="Trần Thị Lan", sex="F")
    sent = row_of(lan, 1, full_name="Trần Thị Lam", date_of_birth="10/3/1951", commune_code="")
    [row] = check.decide(programme, [sent], [resolved(lan, "id", "DATA_MISMATCH:name+dob")], on=ON, actor="t")
    text = json.dumps(row.as_output(), ensure_ascii=False)
    assert row.verdict == "REVIEW" and "DATA_MISMATCH:name+dob" in text
    for value in ("Trần Thị Lan", "Lan", "1950", "09/02", "02-09", "00070", lan.id_number):
        assert value not in text


def test_number_or_pseudonym(create_citizen) -> None:
    person = create_citizen(birth_year=1950)
    secret = make_programme("test-a")
    other = make_programme("test-b")
    open_ = make_programme("test-ids", ids=True)
    rows = [row_of(person, 1)]
    first, again = (check.check(secret, rows, on=ON, actor="t")[0] for _ in range(2))
    elsewhere = check.check(other, rows, on=ON, actor="t")[0]
    assert first.citizen_id == again.citizen_id != elsewhere.citizen_id
    assert first.citizen_id.startswith("P") and person.id_number not in first.citizen_id
    assert check.check(open_, rows, on=ON, actor="t")[0].citizen_id == person.id_number


def test_duplicates_by_number_and_by_another_number_of_the_same_person(create_citizen) -> None:
    programme = make_programme(ids=True)
    person = create_citizen(birth_year=1950, full_name="Phạm Văn Tư")
    old_number = person.id_number
    registry.reissue_number(person, actor="t", reason="typo in the number")
    other = create_citizen(birth_year=1945)
    rows = [row_of(person, 1), row_of(other, 2), row_of(person, 3), row_of(person, 4, citizen_id=old_number)]
    checked = check.check(programme, rows, on=ON, actor="t")
    assert [(r.verdict, r.duplicate_group, r.reasons) for r in checked] == [
        ("ELIGIBLE", "D1", ()), ("ELIGIBLE", "", ()), ("NOT_ELIGIBLE", "D1", ("DUPLICATE_IN_BATCH:D1",)),
        ("NOT_ELIGIBLE", "D1", ("DUPLICATE_IN_BATCH:D1",))]
    assert checked[3].match == "id-history" and checked[3].citizen_id == person.id_number != old_number
    assert [r.monthly_amount for r in checked] == [750000, 750000, None, None]


def test_duplicates_by_details_when_no_number_was_given(create_citizen) -> None:
    programme = make_programme()
    rows = [applicant({"ref": f"N{i}", "citizen_id": "", "full_name": name, "date_of_birth": "03/04/1948",
                       "commune_code": "00070"}, i, today=ON)
            for i, name in enumerate(["Nguyễn Thị Hoà", "Nguyễn Thị Hòa", "Lê Văn Hùng"], start=1)]
    found = [Resolution(None, "none")] * 3
    checked = check.decide(programme, rows, found, on=ON, actor="t")
    assert [(r.verdict, r.duplicate_group, r.reasons) for r in checked] == [
        ("NOT_FOUND", "D1", ()), ("NOT_ELIGIBLE", "D1", ("DUPLICATE_IN_BATCH:D1",)), ("NOT_FOUND", "", ())]


def test_enrol_enrols_the_eligible_once(create_citizen) -> None:
    programme = make_programme()
    old, young = create_citizen(birth_year=1950), create_citizen(birth_year=1990)
    rows = [row_of(old, 1), row_of(young, 2), row_of(old, 3)]
    check.check(programme, rows, on=ON, actor="clerk:7", enrol=True)
    check.check(programme, rows, on=ON, actor="clerk:7", enrol=True)
    enrolled = db.session().scalars(select(Enrolment)).all()
    assert [(e.citizen_id, e.ref, e.enrolled_by, e.last_verdict) for e in enrolled] == [
        (old.id, "R1", "clerk:7", "ELIGIBLE")]
    check.check(programme, rows, on=ON, actor="t")  # without --enrol: nothing more
    assert len(db.session().scalars(select(Enrolment)).all()) == 1


@pytest.mark.parametrize(("here", "there", "verdict", "extra"), [
    ("1.5", "2.0", "NOT_ELIGIBLE", ("HIGHER_ALLOWANCE_ELSEWHERE",)),  # paid more elsewhere
    ("1.5", "1.5", "NOT_ELIGIBLE", ("HIGHER_ALLOWANCE_ELSEWHERE",)),  # as much elsewhere
    ("2.0", "1.5", "ELIGIBLE", ()),                                   # should switch to this one
])
def test_one_monthly_allowance_only_the_highest(create_citizen, here: str, there: str, verdict: str,
                                                extra: tuple[str, ...]) -> None:
    this, other = make_programme("test-here", coefficient=here), make_programme("test-there", coefficient=there)
    person = create_citizen(birth_year=1950)
    check.check(other, [row_of(person, 1)], on=ON, actor="t", enrol=True)
    [row] = check.check(this, [row_of(person, 1)], on=ON, actor="t")
    assert (row.verdict, row.reasons) == (verdict, ("ENROLLED_ELSEWHERE:test-there", *extra))


def test_the_social_pension_and_a_monthly_allowance_exclude_each_other(create_citizen) -> None:
    pension = make_programme("test-pension", coefficient="1.0", category="social_pension")
    allowance = make_programme("test-allowance", coefficient="1.5")
    unrelated = make_programme("test-other", coefficient="3.0", category="care_support")
    person = create_citizen(birth_year=1950)
    check.check(allowance, [row_of(person, 1)], on=ON, actor="t", enrol=True)
    check.check(unrelated, [row_of(person, 1)], on=ON, actor="t", enrol=True)
    [row] = check.check(pension, [row_of(person, 1)], on=ON, actor="t")
    assert (row.verdict, row.reasons) == ("NOT_ELIGIBLE", ("ENROLLED_ELSEWHERE:test-allowance",
                                                           "HIGHER_ALLOWANCE_ELSEWHERE"))
    [there] = check.check(unrelated, [row_of(person, 1)], on=ON, actor="t")
    assert (there.verdict, there.reasons) == ("ELIGIBLE", ())


def test_the_check_is_audited_once_per_list_and_once_per_person(create_citizen) -> None:
    programme = make_programme()
    a, b = create_citizen(birth_year=1950), create_citizen(birth_year=1990)
    bad = applicant({"ref": "B", "full_name": "", "citizen_id": "", "date_of_birth": ""}, 4, today=ON)
    check.check(programme, [row_of(a, 1), row_of(b, 2), row_of(a, 3), bad], on=ON, actor="clerk:9")
    [event] = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "eligibility:list:check")).all()
    assert (event.actor, event.subject_id) == ("clerk:9", programme.code)
    assert event.data["verdicts"] == {"ELIGIBLE": 1, "NOT_ELIGIBLE": 2, "REVIEW": 1, "NOT_FOUND": 0}
    assert event.data["rows"] == 4 and event.data["rule_set_version"] == 1
    people = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "eligibility:person:check")).all()
    assert sorted(e.subject_id for e in people) == sorted([str(a.id), str(b.id)])
    assert all(e.data["programme"] == programme.code and "id_number" not in e.data for e in people)


def test_rows_without_a_usable_number_are_resolved_on_their_details(create_citizen) -> None:
    programme = make_programme()
    lan = create_citizen(full_name="Kiều Thị Diệp Lan", birth_year=1950, birth_month=2, birth_day=9, sex="F")
    rows = [row_of(lan, 1, citizen_id=""), row_of(lan, 2, citizen_id="123456789", full_name="Kieu Thi Diep Lan"),
            row_of(lan, 3, date_of_birth="10/02/1951")]
    checked = check.check(programme, rows, on=ON, actor="t")
    # The third row carries her number with another date of birth: not known to be her (it could be a
    # relative's row with her number), so it is no duplicate; a clerk looks at it.
    assert [(r.verdict, r.match, r.duplicate_group) for r in checked] == [
        ("ELIGIBLE", "details", "D1"), ("NOT_ELIGIBLE", "details", "D1"), ("REVIEW", "id", "")]
    assert checked[2].reasons == ("DATA_MISMATCH:dob",)
    assert checked[0].score is not None and checked[0].score > 22
    assert checked[0].citizen_id == checked[1].citizen_id == checked[2].citizen_id
    # Alone, the row with the wrong date of birth is a mismatch a clerk must look at.
    [alone] = check.check(programme, [rows[2]], on=ON, actor="t")
    assert (alone.verdict, alone.reasons) == ("REVIEW", ("DATA_MISMATCH:dob",))


def test_every_reason_of_a_check_has_a_vietnamese_and_an_english_message(create_citizen) -> None:
    programme = make_programme(ids=True)
    person, dead = create_citizen(birth_year=1950), create_citizen(birth_year=1940, full_name="Lê Văn Hùng")
    registry.record_death(dead, date(2026, 1, 1), actor="t", reason="death certificate")
    check.check(make_programme("test-other", coefficient="2.0"), [row_of(person, 1)], on=ON, actor="t", enrol=True)
    bad = applicant({"ref": "B", "full_name": "", "citizen_id": "", "date_of_birth": ""}, 5, today=ON)
    rows = [row_of(person, 1), row_of(person, 2), row_of(dead, 3), row_of(person, 4), bad]
    found = [resolved(person, "id", "DATA_MISMATCH:dob"), resolved(person),
             resolved(dead, "details", "ID_OF_OTHER_PERSON"), resolved(person), Resolution(None, "none")]
    checked = check.decide(programme, rows, found, on=ON, actor="t")
    messages = service.rule_set(programme).messages()
    codes = {code for row in checked for code in row.reasons}
    assert len(codes) == 7
    for code in codes:
        vi, en = check.message(code, messages) or ("", "")
        assert vi and en and vi != en, code
    assert check.message("NO_SUCH_CODE") is None
