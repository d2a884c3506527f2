"""Administrative units: the 2025 provinces and communes, and the 63 pre-reform province codes.

The 34 provinces and 3,321 communes of 1 July 2025 (Decision 19/2025/QĐ-TTg) come from the
``vietnam-provinces`` package. The 63 pre-reform codes stay because every ID number issued
before the reform carries one as its birth-registration prefix, for life (Circular 07/2016
Appendix I; the successor mapping follows Resolution 202/2025/QH15).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from idsvc.registry.names import canonical

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
