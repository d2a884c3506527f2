"""Administrative units: the 2025 provinces and communes, and the 63 pre-reform province codes.

The 34 provinces and 3,321 communes of 1 July 2025 (Decision 19/2025/QĐ-TTg) come from the
``vietnam-provinces`` package. The 63 pre-reform codes stay because every ID number issued
before the reform carries one as its birth-registration prefix, for life (Circular 07/2016
Appendix I; the successor mapping follows Resolution 202/2025/QH15).

The 10,035 pre-reform communes and the 2025 commune(s) each became come from the data files of
the ``vietnamadminunits`` package (:func:`legacy_communes`), read directly: importing the package
would pull in its geometry libraries.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from idsvc.registry.names import canonical
from idsvc.registry.names import fold

#: ID-number prefix -> (pre-2025 province name, 2-digit code of its 2025 successor).
LEGACY_PROVINCES: dict[str, tuple[str, str]] = {
    "001": ("Hà Nội", "01"), "002": ("Hà Giang", "08"), "004": ("Cao Bằng", "04"),
    "006": ("Bắc Kạn", "19"), "008": ("Tuyên Quang", "08"), "010": ("Lào Cai", "15"),
    "011": ("Điện Biên", "11"), "012": ("Lai Châu", "12"), "014": ("Sơn La", "14"),
    "015": ("Yên Bái", "15"), "017": ("Hòa Bình", "25"), "019": ("Thái Nguyên", "19"),
    "020": ("Lạng Sơn", "20"), "022": ("Quảng Ninh", "22"), "024": ("Bắc Giang", "24"),
    "025": ("Phú Thọ", "25"), "026": ("Vĩnh Phúc", "25"), "027": ("Bắc Ninh", "24"),
    "030": ("Hải Dương", "31"), "031": ("Hải Phòng", "31"), "033": ("Hưng Yên", "33"),
    "034": ("Thái Bình", "33"), "035": ("Hà Nam", "37"), "036": ("Nam Định", "37"),
    "037": ("Ninh Bình", "37"), "038": ("Thanh Hóa", "38"), "040": ("Nghệ An", "40"),
    "042": ("Hà Tĩnh", "42"), "044": ("Quảng Bình", "44"), "045": ("Quảng Trị", "44"),
    "046": ("Thừa Thiên Huế", "46"), "048": ("Đà Nẵng", "48"), "049": ("Quảng Nam", "48"),
    "051": ("Quảng Ngãi", "51"), "052": ("Bình Định", "52"), "054": ("Phú Yên", "66"),
    "056": ("Khánh Hòa", "56"), "058": ("Ninh Thuận", "56"), "060": ("Bình Thuận", "68"),
    "062": ("Kon Tum", "51"), "064": ("Gia Lai", "52"), "066": ("Đắk Lắk", "66"),
    "067": ("Đắk Nông", "68"), "068": ("Lâm Đồng", "68"), "070": ("Bình Phước", "75"),
    "072": ("Tây Ninh", "80"), "074": ("Bình Dương", "79"), "075": ("Đồng Nai", "75"),
    "077": ("Bà Rịa - Vũng Tàu", "79"), "079": ("TP Hồ Chí Minh", "79"), "080": ("Long An", "80"),
    "082": ("Tiền Giang", "82"), "083": ("Bến Tre", "86"), "084": ("Trà Vinh", "86"),
    "086": ("Vĩnh Long", "86"), "087": ("Đồng Tháp", "82"), "089": ("An Giang", "91"),
    "091": ("Kiên Giang", "91"), "092": ("Cần Thơ", "92"), "093": ("Hậu Giang", "92"),
    "094": ("Sóc Trăng", "92"), "095": ("Bạc Liêu", "96"), "096": ("Cà Mau", "96"),
}


@dataclass(frozen=True, slots=True)
class UnitRow:
    code: str
    name: str
    kind: str
    province_code: str | None = None


def provinces_2025() -> Iterator[UnitRow]:
    """The 34 provinces of 2025 as (2-digit code, name, kind)."""
    from vietnam_provinces import Province

    for p in Province.iter_all():
        yield UnitRow(f"{int(p.code):02d}", canonical(p.name), p.division_type.value)


def communes_2025() -> Iterator[UnitRow]:
    """The 3,321 communes, wards and special zones of 2025 as (5-digit code, name, kind, province)."""
    from vietnam_provinces import Ward

    for w in Ward.iter_all():
        yield UnitRow(f"{int(w.code):05d}", canonical(w.name), w.division_type.value, f"{int(w.province_code):02d}")


@dataclass(frozen=True, slots=True)
class LegacyCommuneRow:
    """A commune of before 1 July 2025 and the 2025 commune(s) it became."""

    #: 5-digit pre-reform code.
    code: str
    name: str
    district: str
    #: 2-digit pre-reform province code.
    province_code: str
    #: (2025 commune code, is_default), the default first: one pair when merged whole, several
    #: when split (``is_default``: the part that kept the commune's centre).
    successors: tuple[tuple[str, bool], ...]


def _data_dir() -> Path:
    """The data folder of ``vietnamadminunits``, found without importing the package."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the vietnamadminunits package (pre-2025 communes) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _source() -> sqlite3.Connection:
    """The package's SQLite database of units, read-only."""
    return sqlite3.connect(f"{(_data_dir() / 'dataset.db').as_uri()}?mode=ro", uri=True)


def _unit_key(name: str) -> str:
    """A unit's name compared across sources: folded, letters and digits only ("Xã Ea H'Leo",
    "Xã Ea H’leo"; "Chân Mây - Lăng Cô", "Chân Mây – Lăng Cô")."""
    return "".join(ch for ch in fold(name) if ch.isalnum())


def legacy_commune_count() -> int:
    """How many pre-reform communes :func:`legacy_communes` yields (one cheap query of the source)."""
    with closing(_source()) as source:
        return int(source.execute("SELECT count(DISTINCT wardCode) FROM admin_units_legacy "
                                  "WHERE wardCode != ''").fetchone()[0])


def legacy_communes(communes: Iterable[UnitRow] | None = None) -> Iterator[LegacyCommuneRow]:
    """The pre-reform communes with their 2025 successors among ``communes`` (default: :func:`communes_2025`).

    The source names the 2025 communes by key and code; its codes disagree with the official list
    for about a hundred of them, so a successor is our commune of the same code *and* name, else
    the only one of that name in its province. A successor not found so is left out (a handful).
    """
    ours = list(communes if communes is not None else communes_2025())
    by_code = {u.code: _unit_key(u.name) for u in ours}
    by_name: dict[tuple[str, str], list[str]] = {}
    for u in ours:
        by_name.setdefault((u.province_code or "", _unit_key(u.name)), []).append(u.code)
    folder = _data_dir()
    with closing(_source()) as source:
        new: dict[tuple[str, str], str] = {}
        for province_key, ward_key, code, name, province in source.execute(
                "SELECT provinceKey, wardKey, wardCode, ward, provinceCode FROM admin_units"):
            key = _unit_key(name)
            same = [code] if by_code.get(code) == key else by_name.get((province, key), [])
            if len(same) == 1:
                new[province_key, ward_key] = same[0]
        legacy = source.execute(
            "SELECT provinceKey || '_' || districtKey || '_' || wardKey, wardCode, ward, district, provinceCode "
            "FROM admin_units_legacy WHERE wardCode != '' ORDER BY wardCode").fetchall()
    converter = json.loads((folder / "converter_2025.json").read_text(encoding="utf-8"))
    successors: dict[str, dict[str, bool]] = {}
    for province_key, wards in sorted(converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items()):
        for ward_key, legacy_keys in sorted(wards.items()):
            commune = new.get((province_key, ward_key))
            if commune is not None:
                for legacy_key in legacy_keys:
                    successors.setdefault(legacy_key, {})[commune] = True
    for province_key, parts_by_legacy in sorted(converter["DICT_PROVINCE_WARD_DIVIDED"].items()):
        for legacy_key, parts in sorted(parts_by_legacy.items()):
            for part in parts:
                commune = new.get((province_key, part["newWardKey"]))
                if commune is not None:
                    successors.setdefault(legacy_key, {})[commune] = bool(part["isDefaultNewWard"])
    for legacy_key, code, name, district, province in legacy:
        found = successors.get(legacy_key, {})
        if len(found) == 1:  # merged whole, or the one part of a split found in the 2025 list
            found = dict.fromkeys(found, True)
        yield LegacyCommuneRow(f"{int(code):05d}", canonical(name), canonical(district), f"{int(province):02d}",
                               tuple(sorted(found.items(), key=lambda pair: (not pair[1], pair[0]))))
