"""Closed code lists of the registry, with Vietnamese and English labels, and the shape of the
few coded values (phone, country). Pure."""

from __future__ import annotations

from idsvc.registry.names import fold

SEXES = {"M": ("Nam", "Male"), "F": ("Nữ", "Female")}

#: Life status: "missing" is a court declaration of disappearance (field 24 of the database).
STATUSES = {"alive": ("Còn sống", "Alive"), "deceased": ("Đã chết", "Deceased"),
            "missing": ("Mất tích", "Missing")}

RELATIONSHIPS = {
    "head": ("Chủ hộ", "Head of household"), "spouse": ("Vợ/Chồng", "Spouse"),
    "child": ("Con", "Child"), "parent": ("Cha/Mẹ", "Parent"),
    "grandchild": ("Cháu", "Grandchild"), "grandparent": ("Ông/Bà", "Grandparent"),
    "sibling": ("Anh/Chị/Em", "Sibling"), "child_in_law": ("Con dâu/Con rể", "Child-in-law"),
    "other": ("Khác", "Other"),
}

RELATIVE_KINDS = {"father": ("Cha", "Father"), "mother": ("Mẹ", "Mother"),
                  "spouse": ("Vợ/Chồng", "Spouse"), "guardian": ("Người giám hộ", "Guardian")}

BLOOD_TYPES = frozenset({"A", "B", "AB", "O", "A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"})

#: The 54 ethnic groups recognised in Viet Nam (GSO list), canonical spelling.
ETHNIC_GROUPS = (
    "Kinh", "Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "Mông", "Dao", "Gia Rai", "Ê Đê",
    "Ba Na", "Sán Chay", "Chăm", "Cơ Ho", "Xơ Đăng", "Sán Dìu", "Hrê", "Ra Glai", "Mnông", "Thổ",
    "Xtiêng", "Khơ Mú", "Bru - Vân Kiều", "Cơ Tu", "Giáy", "Tà Ôi", "Mạ", "Giẻ - Triêng", "Co",
    "Chơ Ro", "Xinh Mun", "Hà Nhì", "Chu Ru", "Lào", "Kháng", "La Chí", "Phù Lá", "La Hủ", "La Ha",
    "Pà Thẻn", "Chứt", "Lự", "Lô Lô", "Mảng", "Cờ Lao", "Bố Y", "Cống", "Ngái", "Si La", "Pu Péo",
    "Rơ Măm", "Brâu", "Ơ Đu",
)

_ETHNIC_BY_KEY = {fold(name).replace(" ", "").replace("-", ""): name for name in ETHNIC_GROUPS}
_ETHNIC_BY_KEY.update({"hmong": "Mông", "hmông": "Mông", "stieng": "Xtiêng", "khomu": "Khơ Mú",
                       "bruvankieu": "Bru - Vân Kiều", "gietrieng": "Giẻ - Triêng"})


def canonical_ethnicity(text: str) -> str | None:
    """The canonical name of an ethnic group written any common way, or ``None`` if unknown."""
    key = fold(text).replace(" ", "").replace("-", "").replace("'", "")
    return _ETHNIC_BY_KEY.get(key)


def phone_as_stored(text: str) -> str:
    """A telephone number without the spaces and dots people write in it (check it with :func:`is_phone`)."""
    return text.replace(" ", "").replace(".", "")


def is_phone(phone: str) -> bool:
    """9 to 15 digits 0-9, after an optional ``+`` (ITU-T E.164)."""
    digits = phone[1:] if phone.startswith("+") else phone
    return digits.isascii() and digits.isdigit() and 9 <= len(digits) <= 15


def is_country_code(code: str) -> bool:
    """Two letters A-Z (ISO 3166-1 alpha-2), in upper case."""
    return len(code) == 2 and code.isascii() and code.isalpha() and code.isupper()
