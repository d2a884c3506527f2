"""A list that leaves rows to a clerk: namesakes the matcher cannot tell apart, and a batch checked
by the worker (for the review queue's tests)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from idsvc import db
from idsvc.eligibility.worker import Worker
from idsvc.registry.models import Commune
from tests.eligibility.programme_clients import PROGRAMME
from tests.eligibility.programme_clients import Caller
from tests.eligibility.programme_clients import csv_body
from tests.eligibility.programme_clients import load_programmes
from tests.eligibility.programme_clients import row
from tests.factories import make_citizen

BATCHES = f"/api/v1/eligibility/programmes/{PROGRAMME}/batches"
CHECKS = f"/api/v1/eligibility/programmes/{PROGRAMME}/checks"
HOME = "00070"

#: A row without a number that two namesakes born in 1935 in the same commune both fit.
UNSURE = row("U-1", "", "Nguyễn Văn An", "1935")
SURE = row("S-1", "", "Kiều Diệp Quỳnh", "17/05/1935", sex="F")


def _other_commune() -> str:
    province = db.session().get_one(Commune, HOME).province_code
    code = db.session().scalar(select(Commune.code).where(Commune.province_code != province)
                               .order_by(Commune.code).limit(1))
    assert code is not None
    return code


def make_registry() -> dict[str, Any]:
    """The demo programmes, namesakes in :data:`HOME` (an, an2) and in a commune of another province
    (binh, binh2), and others so that names are not all alike: key -> (citizen id, number), and
    ``elsewhere`` / ``province``: that other commune and its province."""
    load_programmes()
    elsewhere = _other_commune()
    made = {
        "an": make_citizen(full_name="Nguyễn Văn An", birth_year=1935, birth_month=5, birth_day=17),
        "an2": make_citizen(full_name="Nguyễn Văn An", birth_year=1935, birth_month=9, birth_day=2),
        "binh": make_citizen(full_name="Trần Văn Bình", birth_year=1940, birth_month=3, birth_day=3),
        "binh2": make_citizen(full_name="Trần Văn Bình", birth_year=1940, birth_month=8, birth_day=8),
        "quynh": make_citizen(full_name="Kiều Diệp Quỳnh", birth_year=1935, sex="F"),
    }
    for key in ("binh", "binh2"):
        made[key].permanent_commune_code = made[key].current_commune_code = elsewhere
    for i, name in enumerate(("Hoàng Văn Cường", "Vũ Thị Lan", "Đặng Quốc Tuấn", "Bùi Thị Mai", "Lý Văn Tám")):
        make_citizen(full_name=name, birth_year=1930 + i, birth_month=1 + i, birth_day=10 + i)
    db.session().flush()
    out: dict[str, Any] = {k: (c.id, c.id_number) for k, c in made.items()}
    out["elsewhere"] = elsewhere
    out["province"] = db.session().get_one(Commune, elsewhere).province_code
    return out


def unsure_elsewhere(registry: dict[str, Any]) -> dict[str, str]:
    """A row the two namesakes of the other province both fit."""
    return row("U-2", "", "Trần Văn Bình", "1940", commune=registry["elsewhere"])


def check_batch(app: Any, client: Any, caller: Caller, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Submit ``rows`` as a batch, let a worker check it, and read its results (JSON lines)."""
    submitted = client.post(BATCHES + "?reference_date=2026-12-05", headers=caller.headers, data=csv_body(rows),
                            content_type="text/csv")
    assert submitted.status_code == 202, submitted.get_json()
    with app.app_context():
        Worker(lease_seconds=60, poll_seconds=0).run(once=True)
    results = client.get(submitted.headers["Location"] + "/results", headers={**caller.headers,
                                                                              "Accept": "application/x-ndjson"})
    assert results.status_code == 200, results.get_data(as_text=True)
    return [json.loads(line) for line in results.get_data(as_text=True).splitlines() if line]


def check_now(client: Any, caller: Caller, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The synchronous check of ``rows``."""
    response = client.post(CHECKS, headers=caller.headers, json={"rows": rows, "reference_date": "2026-12-05"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]
