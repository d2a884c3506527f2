"""Identity resolution: comparison levels, frequency weights, decisions, blocking keys."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idsvc.eligibility.matching import DEFAULT_THRESHOLDS
from idsvc.eligibility.matching import Name
from idsvc.eligibility.matching import NameFrequencies
from idsvc.eligibility.matching import Person
from idsvc.eligibility.matching import Thresholds
from idsvc.eligibility.matching import blocking_keys
from idsvc.eligibility.matching import compare
from idsvc.eligibility.matching import compare_name
from idsvc.eligibility.matching import dob_level
from idsvc.eligibility.matching import id_level
from idsvc.eligibility.matching import name_level
from idsvc.eligibility.matching import normalise
from idsvc.eligibility.matching import resolve
from idsvc.eligibility.matching import search_keys
from idsvc.population import tables
from idsvc.registry.dates import PartialDate
from idsvc.registry.names import fold

#: Shares from the generator's weights (domain notes §7): Nguyễn 38 %, Anh the commonest given
#: name, Kiều and Diệp in the long tail.
_GIVEN: dict[str, float] = {}
for _sex in ("M", "F"):
    for _k, _v in tables.GIVEN[_sex].items():
        _GIVEN[fold(_k)] = _GIVEN.get(fold(_k), 0.0) + _v / 200
FREQ = NameFrequencies(
    surname={fold(k): v / 100 for k, v in tables.SURNAMES.items()},
    middle={"van": 0.25, "thi": 0.30, "": 0.05, "minh": 0.03},
    given=_GIVEN,
)


def level(a: str, b: str) -> str:
    return name_level(Name.parse(a), Name.parse(b))


@pytest.mark.parametrize(("a", "b"), [
    ("Nguyễn Văn Hoà", "Nguyễn Văn Hòa"),                       # old and new tone placement
    ("Nguyễn Thị Thuỷ", "nguyễn thị thủy"),                     # ... and case
    (unicodedata.normalize("NFD", "Nguyễn Văn Đức"), "Nguyễn Văn Đức"),
    ("\u00d0ặng Văn An", "Đặng Văn An"),                         # the look-alike ETH
    ("  Trần   Thị  Bình ", "Trần Thị Bình"),
])
def test_same_name_written_differently_is_exact(a, b):
    assert level(a, b) == "exact"


def test_tone_placement_leaves_qu_and_inner_vowels_alone():
    assert normalise("Quý") == "quý"
    assert normalise("Hoàng") == "hoàng"
    assert normalise("Khoẻ Hoà") == "khỏe hòa"


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("Nguyen Van Duc", "Nguyễn Văn Đức", "exact-folded"),
    ("Nguyễn Văn Dực", "Nguyễn Văn Đức", "exact-folded"),       # folding collapses distinct names
    ("An Nguyễn Văn", "Nguyễn Văn An", "order-swapped"),          # given name first
    ("An Van Nguyen", "Nguyễn Văn An", "order-swapped"),
    ("Nguyễn An", "Nguyễn Văn An", "middle-name-differs"),        # Văn dropped
    ("Trần Thị Bình", "Trần Bình", "middle-name-differs"),        # Thị added
    ("Lê Minh Huy", "Lê Minh Quang Huy", "middle-name-differs"),  # one of two middle names
    ("Nguyễn Văn Ahn", "Nguyễn Văn Anh", "typo"),                 # letters swapped
    ("Ngyuen Van Anh", "Nguyễn Văn Anh", "typo"),
    ("Nguyễn Văn Bìnhh", "Nguyễn Văn Bình", "typo"),
    ("Nguyễn Văn An", "Nguyễn Văn Bình", "disagree"),
    ("Trần Văn An", "Nguyễn Văn An", "disagree"),
    ("Nguyễn Minh An", "Nguyễn Quang An", "disagree"),            # two different middle names
    ("", "Nguyễn Văn An", "missing"),
])
def test_name_levels(a, b, expected):
    assert level(a, b) == expected


@pytest.mark.parametrize(("a", "b", "expected"), [
    (PartialDate(1980, 3, 15), PartialDate(1980, 3, 15), "exact"),
    (PartialDate(1980, 3), PartialDate(1980, 3, 15), "year-month agrees"),
    (PartialDate(1980), PartialDate(1980, 3, 15), "year-only agrees"),
    (PartialDate(1980), PartialDate(1980, 7), "year-only agrees"),
    (PartialDate(1980, 3, 5), PartialDate(1980, 5, 3), "close"),   # day and month swapped
    (PartialDate(1980, 3, 15), PartialDate(1980, 3, 16), "close"),  # a day off
    (PartialDate(1980, 3, 15), PartialDate(1981, 3, 15), "close"),  # a year off
    (PartialDate(1980, 3, 15), PartialDate(1980, 4, 15), "disagree"),
    (PartialDate(1980, 3), PartialDate(1980, 4, 15), "disagree"),
    (PartialDate(1980), PartialDate(1981), "disagree"),
    (None, PartialDate(1980), "missing"),
])
def test_dob_levels(a, b, expected):
    assert dob_level(a, b) == expected


def test_commune_levels():
    base = Person("Nguyễn Văn An", commune="00004", province="01")
    assert compare(base, base, FREQ).level("commune") == "same"
    assert compare(base, Person("Nguyễn Văn An", commune="00008", province="01"), FREQ).level("commune") == \
        "same province"
    assert compare(base, Person("Nguyễn Văn An", commune="26734", province="79"), FREQ).level("commune") == "differ"
    assert compare(base, Person("Nguyễn Văn An"), FREQ).level("commune") == "missing"


def test_pre_2025_commune_codes_merged_and_split():
    registered = Person("Nguyễn Văn An", commune="00004", province="01")
    merged = Person("Nguyễn Văn An", communes=frozenset({"00004"}), province="01")
    split = Person("Nguyễn Văn An", communes=frozenset({"00004", "00008"}), province="01")
    elsewhere = Person("Nguyễn Văn An", communes=frozenset({"00008", "00011"}), province="01")
    results = [compare(p, registered, FREQ) for p in (merged, split, elsewhere)]
    assert [r.level("commune") for r in results] == ["pre-2025 code, merged", "pre-2025 code, split",
                                                     "same province"]
    same = compare(registered, registered, FREQ).fields[2].weight
    weights = [r.fields[2].weight for r in results]
    assert same > weights[0] > weights[1] > weights[2] > 0
    assert compare(registered, merged, FREQ).level("commune") == "pre-2025 code, merged"  # symmetric
    # The row is looked up under each 2025 commune the old code became.
    assert {"nc:an+nguyen|00004", "nc:an+nguyen|00008"} <= search_keys(split)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("001080012345", "001080012345", "same"),
    ("001080012345", "001080012346", "one digit off"),
    ("001080012345", "001080013245", "one digit off"),   # two digits swapped
    ("001080012345", "079172000666", "differ"),
    (None, "001080012345", "missing"),
])
def test_id_levels(a, b, expected):
    assert id_level(a, b) == expected


def test_a_common_name_weighs_less_than_a_rare_one():
    common = compare_name(Name.parse("Nguyễn Văn Anh"), Name.parse("Nguyễn Văn Anh"), FREQ)
    rare = compare_name(Name.parse("Kiều Diệp"), Name.parse("Kiều Diệp"), FREQ)
    unseen = compare_name(Name.parse("Quách Tĩnh"), Name.parse("Quách Tĩnh"), FREQ)
    assert 0 < common.weight < rare.weight < unseen.weight


def test_frequencies_counted_from_a_population():
    freq = NameFrequencies.from_names(["Nguyễn Văn An"] * 9 + ["Kiều Diệp"])
    assert freq.of_surname("nguyen") == pytest.approx(0.9)
    assert freq.of_given("diep") == pytest.approx(0.1)
    assert freq.of_middle(()) == pytest.approx(0.1)
    assert freq.of_given("zzz") == freq.floor


def test_weaker_levels_weigh_less_and_disagreement_is_negative():
    exact = Name.parse("Nguyễn Văn Hoa")
    weights = [compare_name(Name.parse(b), exact, FREQ).weight for b in (
        "Nguyễn Văn Hoa", "Nguyen Van Hoa", "Nguyễn Hoa", "Nguyễn Văn Hao", "Nguyễn Văn Bình")]
    assert weights == sorted(weights, reverse=True)
    assert weights[-1] < 0


def test_decisions_follow_the_thresholds():
    registered = Person("Nguyễn Văn An", PartialDate(1980, 3, 15), "00004", "01", "001080012345")
    assert compare(Person("Nguyen Van An", PartialDate(1980, 3, 15), "00004", "01"), registered, FREQ).decision == \
        "match"
    assert compare(Person("Nguyen Van An", PartialDate(1980), None, None), registered, FREQ).decision == "no match"
    strict = Thresholds(match=100, review=20)
    assert compare(Person("Nguyễn Văn An", PartialDate(1980, 3, 15), "00004", "01"), registered, FREQ,
                   strict).decision == "review"


def test_a_disagreeing_name_is_never_a_match_even_with_the_same_id_number():
    registered = Person("Nguyễn Văn An", PartialDate(1980, 3, 15), "00004", "01", "001080012345")
    relative = Person("Nguyễn Thị Bình", PartialDate(1980, 3, 15), "00004", "01", "001080012345")
    result = compare(relative, registered, FREQ)
    assert result.score >= DEFAULT_THRESHOLDS.match
    assert result.decision == "review"


def test_explanation_names_each_field_and_its_level():
    registered = Person("Nguyễn Văn An", PartialDate(1980, 3, 15), "00004", "01")
    result = compare(Person("An Nguyễn Văn", PartialDate(1980), "00008", "01"), registered, FREQ)
    lines = result.explanation()
    assert [line.split(" (")[0] for line in lines] == [
        "name: order-swapped", "dob: year-only agrees", "commune: same province", "id: missing"]
    assert result.score == pytest.approx(sum(f.weight for f in result.fields))


def test_resolve_picks_the_best_and_sends_a_close_runner_up_to_review():
    an = Person("Nguyễn Văn An", PartialDate(1980, 3, 15), "00004", "01")
    binh = Person("Nguyễn Văn Bình", PartialDate(1980, 3, 15), "00004", "01")
    applicant = Person("Nguyen Van An", PartialDate(1980, 3, 15), "00004", "01")
    best = resolve(applicant, [("binh", binh), ("an", an)], FREQ)
    assert best is not None and best.candidate == "an" and best.decision == "match"
    twin = Person("Nguyễn Văn Ân", PartialDate(1980, 3, 15), "00004", "01")
    ambiguous = resolve(applicant, [("an", an), ("twin", twin)], FREQ)
    assert ambiguous is not None and ambiguous.decision == "review" and "ambiguous" in ambiguous.note
    assert resolve(applicant, [], FREQ) is None


def test_blocking_keys_meet_despite_diacritics_order_middle_names_and_typos():
    registered = blocking_keys(Person("Nguyễn Văn Đức", PartialDate(1980, 3, 15), "00004", "01", "001080012345"))
    for applicant in (
        Person("Nguyen Duc", PartialDate(1980)),                     # diacritics, middle name, year only
        Person("Đức Nguyễn Văn", PartialDate(1980, 3)),               # order
        Person("Nguyễn Văn Đưc", PartialDate(1980, 3, 15)),           # typo in the given name
        Person("Nguyễn Văn Đức", PartialDate(1981), "00004", "01"),   # wrong year, same commune
        Person("Nguyen Duc", None, None, None, "001080012346"),       # one digit of the number wrong
    ):
        assert search_keys(applicant) & registered, applicant
    assert not search_keys(Person("Nguyễn Văn An", PartialDate(1981, 3, 15))) & registered
    assert not blocking_keys(Person("Đức Nguyễn Văn", PartialDate(1980, 3))) & registered  # only search_keys


def test_no_blocking_key_is_a_surname_alone():
    keys = blocking_keys(Person("Nguyễn Văn An", PartialDate(1980, 3, 15), "00004", "01", "001080012345"))
    assert "ny:an+nguyen|1980" in keys
    assert all("|" in k or k.startswith(("id:", "ids:")) for k in keys)


_names = st.sampled_from(["Nguyễn Văn An", "Nguyen Van An", "An Nguyễn Văn", "Nguyễn An", "Nguyễn Văn Ân",
                          "Trần Thị Bình", "Tran Binh", "Kiều Diệp", "Kieu Thi Diep", "Lê Văn Hoà", "Lê Văn Hòa",
                          "Nguyễn Văn Anh", "Nguyễn Văn Ahn", ""])
_dates = st.sampled_from([None, PartialDate(1980), PartialDate(1980, 3), PartialDate(1980, 3, 15),
                          PartialDate(1980, 5, 3), PartialDate(1980, 3, 16), PartialDate(1981, 3, 15)])
_places = st.sampled_from([(None, None), ("00004", "01"), ("00008", "01"), ("26734", "79")])
_ids = st.sampled_from([None, "001080012345", "001080012346", "079172000666"])


@given(_names, _names, _dates, _dates, _places, _places, _ids, _ids)
def test_comparison_is_symmetric(n1, n2, d1, d2, p1, p2, i1, i2):
    a = Person(n1, d1, p1[0], p1[1], i1)
    b = Person(n2, d2, p2[0], p2[1], i2)
    ab, ba = compare(a, b, FREQ), compare(b, a, FREQ)
    assert ab.fields == ba.fields
    assert ab.decision == ba.decision
    assert (blocking_keys(a) & blocking_keys(b)) == (blocking_keys(b) & blocking_keys(a))


def test_a_relatives_id_number_does_not_outrank_the_person():
    applicant = Person("Nguyễn Văn An", PartialDate(1980, 3, 15), "00004", "01", "001185004321")
    person = Person("Nguyễn Văn An", PartialDate(1980, 3, 15), "00004", "01", "001080012345")
    wife = Person("Trần Thị Bình", PartialDate(1985, 7, 2), "00004", "01", "001185004321")
    sister = Person("Nguyễn Văn Anh", PartialDate(1983, 1, 9), "00004", "01", "001185004321")
    assert compare(applicant, wife, FREQ).score >= DEFAULT_THRESHOLDS.match    # on the number alone
    assert compare(applicant, wife, FREQ).decision == "review"
    assert compare(applicant, sister, FREQ).decision == "review"      # the birth date disagrees
    best = resolve(applicant, [("wife", wife), ("sister", sister), ("person", person)], FREQ)
    assert best is not None and best.candidate == "person" and best.decision == "match"


def test_a_birth_date_many_share_is_weaker_evidence():
    spike, other = PartialDate(2026, 1, 1), PartialDate(1980, 3, 15)
    births = [spike] * 50 + [PartialDate(1950 + i % 70, 1 + i % 12, 1 + i % 28) for i in range(950)]
    freq = NameFrequencies.from_names(["Nguyễn Văn An"] * 1000, births=births)
    assert freq.dates == {"2026-01-01": 0.05}
    a, b = Person("Nguyễn Văn An", spike), Person("Nguyễn Văn An", other)
    assert compare(a, a, freq).fields[1].weight < 5 < compare(b, b, freq).fields[1].weight
    # Fewer than DATE_SPIKE_MIN people on one day is no spike.
    assert NameFrequencies.from_names(["Nguyễn Văn An"] * 10, births=[spike] * 10).dates == {}


def test_thresholds_rise_with_the_registry():
    small, measured, large = (Thresholds.for_population(n) for n in (10, 50_000, 800_000))
    assert small == measured and (measured.match, measured.review) == (16.0, 12.0)
    assert large.match == pytest.approx(20.0) and large.review == pytest.approx(16.0)


@pytest.mark.parametrize(("written", "expected"), [
    ("Hiếu Trầnn Quốc", "order-swapped, typo"),          # given name first, and a letter doubled
    ("Hùng Nguyễn", "order-swapped, middle-name-differs"),  # given name first, Văn left out
    ("Hùng Lê", "disagree"),
])
def test_name_order_swapped_together_with_other_noise(written, expected):
    registered = {"order-swapped, typo": "Trần Quốc Hiếu"}.get(expected, "Nguyễn Văn Hùng")
    result = compare_name(Name.parse(written), Name.parse(registered), FREQ)
    assert result.level == expected
    # Weak evidence for common names, but no veto as a disagreeing name is.
    assert (result.weight > -1) == (expected != "disagree")


def test_a_typo_in_one_name_part_with_a_year_only_still_meets_its_owner():
    registered = blocking_keys(Person("Trần Thị My", PartialDate(1980, 3, 15), "00004", "01"))
    assert registered & search_keys(Person("Tầrn Thị My", PartialDate(1980), "00004", "01"))
    assert not registered & search_keys(Person("Tầrn Thị My", PartialDate(1980), "00008", "01"))  # another commune


def test_broad_blocks_are_searched_only_when_no_narrow_one_meets_the_row():
    from idsvc.eligibility.matching import BLOCK_CAP
    from idsvc.eligibility.matching import usable_keys

    assert usable_keys({"ny:an+nguyen|1980": 400, "nd:an|1980-03-15": 3, "nc:an+nguyen|00004": 0}) == {
        "nd:an|1980-03-15"}
    assert usable_keys({"ny:an+nguyen|1980": 400, "nc:an+nguyen|00004": 0}) == {"ny:an+nguyen|1980"}
    assert usable_keys({"ny:x|1980": BLOCK_CAP, "py:x|1980": BLOCK_CAP + 1}) == {"ny:x|1980"}
    assert usable_keys({"ny:x|1980": 0}) == set()
