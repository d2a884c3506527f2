"""Weights for the synthetic population. Pure data; shares are percentages or relative weights.

Sources: domain research notes §7 (surnames §7.1, middle and given names §7.2, age structure and
ethnicity §7.4, from the GSO 2019 census and the 2024 mid-term survey).
"""

from __future__ import annotations

#: §7.1: the 14 big surnames (Wikipedia-derived shares) and a long tail sharing the rest (≈ 10 %).
SURNAMES: dict[str, float] = {
    "Nguyễn": 38.4, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.1, "Hoàng": 5.1, "Phan": 4.5, "Vũ": 3.9,
    "Đặng": 2.1, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3, "Ngô": 1.3, "Dương": 1.0, "Lý": 0.5,
    **{name: 10.0 / 20 for name in (
        "Đinh", "Đào", "Trịnh", "Trương", "Đoàn", "Hà", "Mai", "Lương", "Cao", "Phùng", "Lưu", "Lâm", "Tạ",
        "Chu", "Vương", "Thái", "Quách", "Triệu", "Tô", "Kiều")},
}

#: §7.1: the same Hán surname is written differently in the south.
SOUTHERN_SPELLING = {"Hoàng": "Huỳnh", "Vũ": "Võ"}

#: §7.2: traditional middle names, and the share of people carrying them, by birth cohort.
TRADITIONAL_MIDDLE = {"M": "Văn", "F": "Thị"}
TRADITIONAL_SHARE = ((1960, {"M": 0.70, "F": 0.85}), (1980, {"M": 0.55, "F": 0.70}),
                     (2000, {"M": 0.35, "F": 0.45}), (9999, {"M": 0.15, "F": 0.25}))
MODERN_MIDDLE = {
    "M": ("Minh", "Đức", "Hữu", "Quang", "Quốc", "Công", "Đình", "Thanh", "Hoàng", "Gia", "Bảo", "Xuân", "Anh",
          "Trung", "Tiến", "Mạnh", "Ngọc", "Duy"),
    "F": ("Ngọc", "Thu", "Thanh", "Kim", "Hồng", "Mai", "Phương", "Khánh", "Minh", "Bảo", "Hoài", "Thùy", "Diệu",
          "Lan", "Bích", "Mỹ", "Quỳnh", "Hải"),
}

#: §7.2: given names, the frequent ones of the 115k sample first, by sex ("Anh", "Thanh" ... are both).
GIVEN = {
    "M": {"Anh": 3.4, "Hùng": 1.2, "Dũng": 1.2, "Minh": 1.2, "Huy": 1.1, "Nam": 0.8, "Đức": 0.8, "Tuấn": 0.9,
          "Hiếu": 0.9, "Duy": 0.9, "Khánh": 0.5, "Sơn": 0.8, "Hoàng": 0.8, "Đạt": 0.7, "Long": 0.7, "Tú": 0.5,
          "Thành": 0.7, "Quân": 0.6, "Phong": 0.6, "Trung": 0.6, "Hải": 0.6, "Thắng": 0.6, "Bình": 0.5,
          "Cường": 0.5, "Hưng": 0.5, "Kiên": 0.4, "Lâm": 0.4, "Phúc": 0.5, "Quang": 0.5, "Tài": 0.4, "Thanh": 0.6,
          "Toàn": 0.4, "Vinh": 0.5, "Vũ": 0.4, "Khoa": 0.4, "Tâm": 0.4, "Thịnh": 0.4, "Trí": 0.4, "An": 0.5,
          "Bảo": 0.4, "Nghĩa": 0.4, "Hiệp": 0.3, "Lộc": 0.3, "Tùng": 0.4},
    "F": {"Linh": 2.2, "Phương": 1.8, "Anh": 2.0, "Thanh": 1.0, "Nhi": 1.2, "Trang": 1.2, "Thủy": 1.2,
          "Ngọc": 1.1, "Vy": 1.1, "Tiên": 1.1, "Thảo": 1.0, "Thu": 1.0, "Hà": 1.0, "Hương": 1.0, "Hoa": 0.9,
          "Ngân": 0.9, "My": 0.9, "Hiền": 0.8, "Uyên": 0.8, "Quỳnh": 0.8, "Lan": 0.8, "Mai": 0.8, "Yến": 0.7,
          "Hằng": 0.7, "Nga": 0.7, "Dung": 0.6, "Huyền": 0.7, "Loan": 0.5, "Oanh": 0.4, "Nhung": 0.5,
          "Giang": 0.6, "Châu": 0.5, "Hạnh": 0.6, "Trinh": 0.4, "Vân": 0.5, "Diệp": 0.3, "Khánh": 0.4, "An": 0.5,
          "Bình": 0.3, "Tâm": 0.4, "Nguyệt": 0.3, "Thư": 0.6, "Hồng": 0.5},
}

#: Household sizes 1..8 (mean ≈ 3.5; §7.4 gives ≈ 3.6 persons per household in 2024).
HOUSEHOLD_SIZES = {1: 10, 2: 18, 3: 22, 4: 26, 5: 13, 6: 7, 7: 3, 8: 1}

#: Age of a household head (years), by band; children and grandparents fill the rest of the
#: §7.4 pyramid (0-14 ≈ 23 %, 65+ ≈ 9 %).
HEAD_AGE_BANDS = {(22, 29): 9, (30, 39): 24, (40, 49): 25, (50, 59): 20, (60, 69): 14, (70, 90): 8}

#: §7.4: Kinh 85.3 %; the largest minorities, and where they mostly live (2025 province codes).
MINORITIES_BY_AREA = {
    "northern_uplands": (("04", "08", "11", "12", "14", "15", "19", "20", "25"), 0.40,
                         {"Tày": 5, "Thái": 5, "Mường": 4, "Mông": 4, "Nùng": 3, "Dao": 2, "Sán Chay": 1,
                          "Giáy": 1, "Hà Nhì": 0.5, "Khơ Mú": 0.5}),
    "central_highlands": (("52", "66", "68", "51"), 0.20,
                          {"Gia Rai": 4, "Ê Đê": 3, "Ba Na": 2.5, "Xơ Đăng": 2, "Cơ Ho": 2, "Mnông": 1.5,
                           "Hrê": 1, "Ra Glai": 1}),
    "mekong": (("91", "92", "96", "86", "82"), 0.09, {"Khmer": 9, "Hoa": 1, "Chăm": 0.5}),
    "cities": (("79", "01", "31", "48", "75"), 0.03, {"Hoa": 3, "Tày": 1, "Mường": 1, "Chăm": 0.5}),
}
OTHER_MINORITY_SHARE = 0.02
OTHER_MINORITIES = {"Mường": 2, "Tày": 1, "Thái": 1, "Chăm": 0.5, "Khmer": 0.5, "Xtiêng": 0.3, "Chơ Ro": 0.2}

#: Religion of a household (GSO 2019: ≈ 86 % no religion; Catholics ≈ 6 %, Buddhists ≈ 5 % ...).
RELIGIONS = {"Không": 86.3, "Công giáo": 6.1, "Phật giáo": 4.8, "Tin Lành": 1.0, "Phật giáo Hòa Hảo": 1.0,
             "Cao Đài": 0.6, "Hồi giáo": 0.1, "Bửu Sơn Kỳ Hương": 0.1}

BLOOD_TYPES = {"O+": 42, "B+": 30, "A+": 21, "AB+": 6, "O-": 0.4, "B-": 0.3, "A-": 0.2, "AB-": 0.1}

#: Where births of people now in a province were registered: mostly that province (its legacy
#: codes); the rest anywhere, the two big cities weighted up.
LOCAL_BIRTH_SHARE = 0.85
ABROAD_BIRTH_SHARE = 0.003
BIG_CITY_WEIGHT = {"001": 6, "079": 6, "031": 2, "048": 2}

#: Life status (§7.4: ≈ 1.5 % of records deceased in a live registry snapshot, by age).
DEATH_RATE_BY_AGE = ((60, 0.006), (75, 0.08), (200, 0.25))
MISSING_RATE = 0.0005

#: Share of birth dates known only to the year (or year and month), in records born before 1975.
OLD_RECORD_YEAR_ONLY = 0.15
OLD_RECORD_YEAR_MONTH = 0.05
YEAR_ONLY_AFTER_1975 = 0.004

#: Old identity cards (CMND, 9 digits) were issued to people 14 and older until 2016-2021: the
#: generator gives one to everyone born before this year, and a second one (re-issued after a move
#: or a loss) to this share of them.
OLD_ID_BEFORE_YEAR = 2000
TWO_OLD_IDS_SHARE = 0.05

#: The 2-digit issuing-area prefix of CMND numbers, by the 3-digit province code of ID numbers, as
#: commonly published (several provinces shared a prefix; Hà Tây's 11 went with it into Hà Nội).
#: Synthetic data only: nothing checks a real number against it.
OLD_ID_PREFIXES: dict[str, tuple[str, ...]] = {
    "001": ("01", "11"), "031": ("03",), "079": ("02",), "011": ("04",), "012": ("04",), "014": ("05",),
    "010": ("06",), "015": ("06",), "002": ("07",), "008": ("07",), "004": ("08",), "020": ("08",),
    "006": ("09",), "019": ("09",), "022": ("10",), "017": ("11",), "024": ("12",), "027": ("12",),
    "025": ("13",), "026": ("13",), "030": ("14",), "033": ("14",), "034": ("15",), "035": ("16",),
    "036": ("16",), "037": ("16",), "038": ("17",), "040": ("18",), "042": ("18",), "044": ("19",),
    "045": ("19",), "046": ("19",), "048": ("20",), "049": ("20",), "051": ("21",), "052": ("21",),
    "054": ("22",), "056": ("22",), "062": ("23",), "064": ("23",), "066": ("24",), "067": ("24",),
    "068": ("25",), "058": ("26",), "060": ("26",), "075": ("27",), "077": ("27",), "070": ("28",),
    "074": ("28",), "072": ("29",), "080": ("30",), "082": ("31",), "083": ("32",), "084": ("33",),
    "086": ("33",), "087": ("34",), "089": ("35",), "092": ("36",), "093": ("36",), "094": ("36",),
    "091": ("37",), "095": ("38",), "096": ("38",),
}
