"""Identity resolution of applicant rows against the registry: numbers, details, the index."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

from idsvc import db
from idsvc.eligibility.applicants import Applicant
from idsvc.eligibility.applicants import applicant
from idsvc.eligibility.resolution import Resolution
from idsvc.eligibility.resolution import resolve_all
from idsvc.registry.models import CitizenNumber

ON = date(2026, 12, 5)


def row(line: int = 1, **values: str) -> Applicant:
    base = {"ref": f"r{line}", "citizen_id": "", "full_name": "Nguyễn Văn An", "date_of_birth": "17/05/1990"}
    return applicant({**base, **values}, line, today=ON)


def test_resolution_round_trips_through_a_dict() -> None:
    r = Resolution(7, "review", 20.5, ("MATCH_REVIEW",), ("name: exact (+20.0)",), (7, 9))
    assert Resolution.from_dict(r.to_dict()) == r
    assert Resolution.from_dict(Resolution(None, "none").to_dict()) == Resolution(None, "none")


def test_current_retired_and_unknown_numbers(create_citizen) -> None:
    person = create_citizen()
    old = "001090999001"
    db.session().add(CitizenNumber(number=old, citizen_id=person.id, retired_at=datetime(2024, 1, 1, tzinfo=UTC)))
    db.session().flush()
    got = resolve_all([row(1, citizen_id=person.id_number), row(2, citizen_id=old),
                       row(3, citizen_id="001090999002"), row(4, date_of_birth="31/02/1990")], on=ON)
    assert [(r.citizen_id, r.match) for r in got] == [
        (person.id, "id"), (person.id, "id-history"), (None, "none"), (None, "none")]
    assert got[2].reasons == ("ID_UNKNOWN",)
