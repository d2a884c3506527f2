"""Closed code lists of the registry, with Vietnamese and English labels. Pure data: what a value
must be is in :mod:`rules`."""

from __future__ import annotations

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
                  "spouse": ("Vợ/Chồng", "Spouse"), "child": ("Con", "Child"),
                  "guardian": ("Người giám hộ", "Guardian"),
                  "representative": ("Người đại diện hợp pháp", "Legal representative"),
                  "represented": ("Người được đại diện", "Represented person")}

#: Marital status as the registry records it (field 21).
MARITAL_STATUSES = {"single": ("Chưa kết hôn", "Single"), "married": ("Đã kết hôn", "Married"),
                    "divorced": ("Đã ly hôn", "Divorced"), "widowed": ("Góa", "Widowed")}

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
