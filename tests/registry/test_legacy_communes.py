"""The pre-2025 communes and the 2025 commune(s) each became (vietnamadminunits data)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select

from idsvc import db
from idsvc.registry import service
from idsvc.registry import units
from idsvc.registry.models import Commune
from idsvc.registry.models import LegacyCommune
from idsvc.registry.models import LegacyCommuneSuccessor


def test_nearly_every_pre_2025_commune_has_a_successor_among_the_2025_communes() -> None:
    ours = list(units.communes_2025())
    codes = {u.code for u in ours}
    rows = list(units.legacy_communes(ours))
    assert len(rows) == units.legacy_commune_count() > 10_000
    covered = [r for r in rows if any(code in codes for code, _ in r.successors)]
    print(f"pre-2025 communes with a 2025 successor: {len(covered)} of {len(rows)}")
    assert len(covered) / len(rows) >= 0.99
    for row in rows:
        assert len(row.code) == 5 and row.code.isdigit()
        assert all(code in codes for code, _ in row.successors)
        if row.successors:  # exactly one part is the default, listed first
            assert [default for _, default in row.successors].count(True) == 1
            assert row.successors[0][1]
    assert sum(len(r.successors) > 1 for r in rows) > 300  # splits are not rare


def test_units_sync_loads_the_legacy_communes_once(app_ctx) -> None:
    s = db.session()
    assert s.scalar(select(func.count()).select_from(LegacyCommune)) == units.legacy_commune_count()
    phuc_xa = s.get(LegacyCommune, "00001")
    assert (phuc_xa.name, phuc_xa.district, phuc_xa.legacy_province_code) == ("Phường Phúc Xá", "Quận Ba Đình", "01")
    again = service.sync_units()
    assert again["legacy_commune"] == again["legacy_commune_successor"] == 0
    # A partial table is completed, not duplicated.
    s.execute(delete(LegacyCommuneSuccessor).where(LegacyCommuneSuccessor.legacy_code.in_(["00001", "00007"])))
    s.execute(delete(LegacyCommune).where(LegacyCommune.code.in_(["00001", "00007"])))
    added = service.sync_units()
    assert (added["legacy_commune"], added["legacy_commune_successor"]) == (2, 3)
    assert s.scalar(select(func.count()).select_from(LegacyCommune)) == units.legacy_commune_count()


def test_successors_of_merged_and_split_communes(app_ctx) -> None:
    found = service.successors_of(["00001", "00004", "00007", "00226", "99999", "00001"])
    names = {code: name for code, name in db.session().execute(select(Commune.code, Commune.name))}
    # Phúc Xá (Ba Đình) merged whole into Hồng Hà ward.
    assert found["00001"] == [("00097", True)] and names["00097"] == "Phường Hồng Hà"
    # Trúc Bạch merged into the new Ba Đình ward, which took over its code.
    assert found["00004"] == [("00004", True)] and names["00004"] == "Phường Ba Đình"
    # Cống Vị was split: mostly Ngọc Hà (its centre), partly Giảng Võ.
    assert found["00007"] == [("00008", True), ("00025", False)]
    assert (names["00008"], names["00025"]) == ("Phường Ngọc Hà", "Phường Giảng Võ")
    # Phương Liên - Trung Tự: the source's code of Văn Miếu - Quốc Tử Giám is not the official one;
    # the successor is found by name.
    assert found["00226"] == [("00226", True), ("00196", False)]
    assert (names["00226"], names["00196"]) == ("Phường Kim Liên", "Phường Văn Miếu - Quốc Tử Giám")
    assert "99999" not in found
    assert service.successors_of([]) == {}


def test_successors_of_many_codes_at_once(app_ctx) -> None:
    codes = [f"{n:05d}" for n in range(0, 30_000)]
    found = service.successors_of(codes)
    assert len(found) > 1_000 and set(found) <= set(codes)
