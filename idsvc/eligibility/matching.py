"""Identity resolution: compare an applicant's details with a registry record. Pure functions.

For rows without an ID number, with a wrong one, or whose details disagree. Each field is
compared to a *level* (``name: order-swapped``, ``dob: year-only agrees``, ``commune: same
province``); each level has a weight in the spirit of Fellegi–Sunter, ``log2(m / u)``, where
``m`` is how often a true match shows that level and ``u`` how often two different people do.
For a name agreement ``u`` is the frequency of the name itself, so a shared "Nguyễn Văn Anh" is
weak evidence and a rare "Kiều Diệp" strong. The weights add up to a score; two thresholds turn it
into a decision (match, review by a clerk, no match), and :class:`Match` says why, field by field.

Candidates come from blocking keys: :func:`blocking_keys` of each registry record, met by
:func:`search_keys` of an applicant's row, joined in one set-based query so that resolution never
scans the registry row by row (see :func:`blocking_keys` for the intended query).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Literal

from rapidfuzz.distance import OSA
from rapidfuzz.distance import Levenshtein

from idsvc.registry.dates import PartialDate
from idsvc.registry.names import comparison_form
from idsvc.registry.names import fold

# --------------------------------------------------------------------------------------------
# Records and names


@dataclass(frozen=True, slots=True)
class Person:
    """The details compared: an applicant's row or a registry record. Any of them may be missing.

    ``commune`` is a 2025 commune code and ``province`` the 2025 province code it belongs to (the
    caller looks it up: this module knows no tables). ``communes``: when the code written is a
    pre-2025 commune's, the 2025 commune(s) it became (one: merged whole; several: split between
    them); ``commune`` is then the code as written, or None when it is no 2025 code.
    """

    full_name: str
    born: PartialDate | None = None
    commune: str | None = None
    province: str | None = None
    id_number: str | None = None
    communes: frozenset[str] = frozenset()


def normalise(text: str) -> str:
    """Comparison form (:func:`idsvc.registry.names.comparison_form`): ``"Nguyễn Văn Hoà"`` and
    ``"nguyễn văn hòa"`` give the same string."""
    return comparison_form(text)


#: Middle names so common that a clerk (or the applicant) drops or adds them freely.
COMMON_MIDDLE = frozenset({"van", "thi"})


@dataclass(frozen=True, slots=True)
class Name:
    """A name split for comparison: surname, middle names, given name, each in normalised form
    (``exact``) and folded (``folded``)."""

    exact: tuple[str, ...]
    folded: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Name:
        """Cached: a batch compares the same names (its rows', its candidates') many times."""
        return _parse(text)

    @property
    def surname(self) -> str:
        return self.folded[0] if self.folded else ""

    @property
    def given(self) -> str:
        return self.folded[-1] if len(self.folded) > 1 else ""

    @property
    def middle(self) -> tuple[str, ...]:
        return self.folded[1:-1]


@functools.lru_cache(maxsize=1 << 17)
def _parse(text: str) -> Name:
    exact = tuple(normalise(text).split())
    return Name(exact, tuple(fold(t) for t in exact))


# --------------------------------------------------------------------------------------------
# Frequencies


@dataclass(frozen=True, slots=True)
class NameFrequencies:
    """Shares (0..1) of folded surnames, middle names and given names in the population.

    Built from the registry (a ``GROUP BY`` on the folded name parts) or, for tests and benchmarks,
    from any list of full names. A name never seen counts as rare as ``floor``.

    ``dates``: the shares of the full birth dates that are far commoner than one day in ~ 90 years
    (1 January, where a registry puts people whose day of birth was not known): two people born
    that day agree by chance much more often. Only dates at least :data:`DATE_SPIKE_MIN` people
    share are kept (a small sample says nothing).
    """

    surname: dict[str, float]
    middle: dict[str, float]
    given: dict[str, float]
    floor: float = 1e-4
    dates: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_names(cls, names: Iterable[str], floor: float = 1e-4,
                   births: Iterable[PartialDate | None] = ()) -> NameFrequencies:
        counts: tuple[Counter[str], Counter[str], Counter[str]] = (Counter(), Counter(), Counter())
        total = 0
        for text in names:
            name = Name.parse(text)
            if len(name.folded) < 2:
                continue
            total += 1
            counts[0][name.surname] += 1
            counts[1][" ".join(name.middle)] += 1
            counts[2][name.given] += 1
        share = [{k: v / total for k, v in c.items()} for c in counts] if total else [{}, {}, {}]
        days = Counter(str(b) for b in births if b is not None and b.precision == "day")
        least = date_spike_least(total)
        dates = {k: v / total for k, v in days.items() if v >= least}
        return cls(share[0], share[1], share[2], floor, dates)

    def of_surname(self, value: str) -> float:
        return max(self.surname.get(value, self.floor), self.floor)

    def of_middle(self, value: tuple[str, ...]) -> float:
        return max(self.middle.get(" ".join(value), self.floor), self.floor)

    def of_given(self, value: str) -> float:
        return max(self.given.get(value, self.floor), self.floor)

    def of_date(self, value: PartialDate) -> float:
        """The share of people born on this (full) date, as likely as any other day unless a spike."""
        return max(self.dates.get(str(value), 0.0), DOB_U["exact"])


#: A birth date is a spike when at least this many people, and three times the uniform share, have it.
DATE_SPIKE_MIN = 20


def date_spike_least(population: int) -> int:
    """How many people must share a birth date for :class:`NameFrequencies` to count it apart."""
    return max(DATE_SPIKE_MIN, math.ceil(3 * DOB_U["exact"] * population))


# --------------------------------------------------------------------------------------------
# Field comparisons

NameLevel = Literal["exact", "exact-folded", "order-swapped", "middle-name-differs", "typo",
                    "order-swapped, middle-name-differs", "order-swapped, typo", "disagree", "missing"]
DobLevel = Literal["exact", "year-month agrees", "year-only agrees", "close", "disagree", "missing"]
#: ``pre-2025 code, merged``: the code written is a pre-2025 commune's, merged whole into the other
#: side's 2025 commune; ``pre-2025 code, split``: one of the 2025 communes it was split between (weak).
CommuneLevel = Literal["same", "pre-2025 code, merged", "pre-2025 code, split", "same province", "differ",
                       "missing"]
IdLevel = Literal["same", "one digit off", "differ", "missing"]

#: m: share of true matches showing each level. Set by hand, near the noise rates of
#: bench/matching_noise.py (which are themselves guesses); estimating them from clerks' decisions
#: (or by EM on real lists) is left for later.
NAME_M: dict[NameLevel, float] = {"exact": 0.80, "exact-folded": 0.08, "order-swapped": 0.03,
                                  "middle-name-differs": 0.04, "typo": 0.04,
                                  "order-swapped, middle-name-differs": 0.003, "order-swapped, typo": 0.003,
                                  "disagree": 0.01}
DOB_M: dict[DobLevel, float] = {"exact": 0.85, "year-month agrees": 0.02, "year-only agrees": 0.08,
                                "close": 0.04, "disagree": 0.01}
COMMUNE_M: dict[CommuneLevel, float] = {"same": 0.80, "pre-2025 code, merged": 0.10, "pre-2025 code, split": 0.03,
                                         "same province": 0.12, "differ": 0.08}
ID_M: dict[IdLevel, float] = {"same": 0.90, "one digit off": 0.04, "differ": 0.06}

#: u for the levels that do not depend on the value: births spread over ~ 90 years.
DOB_U: dict[DobLevel, float] = {"exact": 1 / (90 * 365), "year-month agrees": 1 / (90 * 12), "year-only agrees": 1 / 90,
                                "close": 6 / (90 * 365), "disagree": 1.0}
#: A split pre-2025 commune went to 2 to 4 new ones: its agreement is as likely by chance as any of
#: them (about 1 / 3321 each), but a true match shows it less often than a plain "same".
COMMUNE_U: dict[CommuneLevel, float] = {"same": 1 / 3321, "pre-2025 code, merged": 1 / 3321,
                                         "pre-2025 code, split": 3 / 3321, "same province": 1 / 34, "differ": 1.0}
#: An ID number is unique; "one digit off" among ~ 10^8 numbers in use: 12 positions x 9 digits.
ID_U: dict[IdLevel, float] = {"same": 1e-8, "one digit off": 108e-8, "differ": 1.0}


@dataclass(frozen=True, slots=True)
class FieldResult:
    field: str
    level: str
    weight: float

    def __str__(self) -> str:
        return f"{self.field}: {self.level} ({self.weight:+.1f})"


def _bits(m: float, u: float) -> float:
    return math.log2(m / min(u, 1.0))


def _within(a: str, b: str, edits: int) -> bool:
    """At most ``edits`` letters substituted, dropped, added or swapped with a neighbour."""
    return OSA.distance(a, b, score_cutoff=edits) <= edits


def _swapped(a: Name, b: Name) -> bool:
    """b written given name first: "An Nguyễn Văn" or "An Văn Nguyễn" for "Nguyễn Văn An"."""
    f, g = a.folded, b.folded
    if len(f) < 2 or sorted(f) != sorted(g) or f == g:
        return False
    return g == f[-1:] + f[:-1] or g == f[::-1] or f == g[-1:] + g[:-1]


def _subsequence(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    rest = iter(long)
    return all(t in rest for t in short)


def _middle_only(a: Name, b: Name) -> bool:
    """Same surname and given name; the middle names differ only by a common one (Văn, Thị), or
    one side's middle names are some of the other's (Lê Minh Huy for Lê Minh Quang Huy)."""
    if a.surname != b.surname or a.given != b.given or not a.given:
        return False
    ma = tuple(t for t in a.middle if t not in COMMON_MIDDLE)
    mb = tuple(t for t in b.middle if t not in COMMON_MIDDLE)
    return _subsequence(ma, mb) or _subsequence(mb, ma)


def name_level(a: Name, b: Name) -> NameLevel:
    return _name_levels(a, b)[0]


def _name_levels(a: Name, b: Name) -> tuple[NameLevel, Name, Name]:
    """The level, and the two names as compared (one of them read in the other order for the
    ``order-swapped, ...`` levels: given name first and a typo or a middle name more or less)."""
    if not a.folded or not b.folded:
        return "missing", a, b
    if a.exact == b.exact:
        return "exact", a, b
    if a.folded == b.folded:
        return "exact-folded", a, b
    fa, fb = a.folded, b.folded
    if len(fa) >= 2 and len(fb) >= 2 and not (
            _within(fa[-1], fb[-1], 1) or _within(fa[0], fb[-1], 1) or _within(fb[0], fa[-1], 1)):
        return "disagree", a, b  # every level below needs a given name alike, in one reading or another
    if _swapped(a, b):
        return "order-swapped", a, b
    level = _near(a, b)
    if level != "disagree":
        return level, a, b
    for x, y in ((a, b), (b, a)):
        for reading in _other_readings(x):
            if not _within(reading.folded[0], y.folded[0], 1):
                continue  # every level below needs the surnames alike
            level = _near(reading, y)
            if level == "middle-name-differs":
                return "order-swapped, middle-name-differs", reading, y
            if level == "typo":
                return "order-swapped, typo", reading, y
    return "disagree", a, b


def _other_readings(n: Name) -> list[Name]:
    """``n`` as written given name first, put back in order: "An Nguyễn Văn" and "An Văn Nguyễn"
    read as "Nguyễn Văn An"; "An Nguyễn" as "Nguyễn An"."""
    if len(n.folded) < 2:
        return []
    rotated = Name(n.exact[1:] + n.exact[:1], n.folded[1:] + n.folded[:1])
    reversed_ = Name(n.exact[::-1], n.folded[::-1])
    return [rotated] if rotated == reversed_ else [rotated, reversed_]


def _near(a: Name, b: Name) -> NameLevel:
    """``middle-name-differs``, ``typo`` or ``disagree``, reading both names in order."""
    if _middle_only(a, b):
        return "middle-name-differs"
    if len(a.folded) == len(b.folded) and len(a.folded) >= 2 and all(
        _within(x, y, 1) for x, y in zip(a.folded, b.folded, strict=True)
    ) and _within(" ".join(a.folded), " ".join(b.folded), 2):
        return "typo"
    if a.surname == b.surname and a.given and _within(a.given, b.given, 1) and _middle_only(
        a, Name(b.exact, (*b.folded[:-1], a.given))
    ):
        return "typo"
    return "disagree"


def _name_u(level: NameLevel, a: Name, b: Name, freq: NameFrequencies) -> float:
    """How likely two different people show this level, from the frequency of the shared parts.

    The rarer of the two sides' shares is used, which keeps the weight symmetric."""
    s = min(freq.of_surname(a.surname), freq.of_surname(b.surname))
    g = min(freq.of_given(a.given), freq.of_given(b.given))
    m = min(freq.of_middle(a.middle), freq.of_middle(b.middle))
    if level in ("exact", "exact-folded"):
        return s * m * g * (1.0 if level == "exact" else 2.0)  # folding merges a few names
    if level == "order-swapped":
        # one side is read in the wrong order: take the likelier reading (a conservative weight)
        return 2.0 * max(freq.of_surname(n.surname) * freq.of_middle(n.middle) * freq.of_given(n.given) for n in (a, b))
    if level in ("middle-name-differs", "order-swapped, middle-name-differs"):
        return s * g
    if level in ("typo", "order-swapped, typo"):
        # names within one edit of each part; the misspelt side looks rare, so take the likelier;
        # when the middle names were compared too (as many parts on both sides), theirs counts
        middle = max(freq.of_middle(a.middle), freq.of_middle(b.middle)) if len(a.folded) == len(b.folded) else 1.0
        return 20 * max(freq.of_surname(a.surname), freq.of_surname(b.surname)) * max(
            freq.of_given(a.given), freq.of_given(b.given)) * middle
    return 1.0


def compare_name(a: Name, b: Name, freq: NameFrequencies) -> FieldResult:
    level, x, y = _name_levels(a, b)
    weight = 0.0 if level == "missing" else _bits(NAME_M[level], _name_u(level, x, y, freq))
    return FieldResult("name", level, weight)


def dob_level(a: PartialDate | None, b: PartialDate | None) -> DobLevel:
    if a is None or b is None:
        return "missing"
    if a.year != b.year:
        if a.month is not None and (a.month, a.day) == (b.month, b.day) and abs(a.year - b.year) == 1:
            return "close"  # year off by one, month and day the same
        return "disagree"
    if a.month is None or b.month is None:
        return "year-only agrees"
    if a.month != b.month:
        if a.day is not None and b.day is not None and (a.month, a.day) == (b.day, b.month):
            return "close"  # day and month swapped
        return "disagree"
    if a.day is None or b.day is None:
        return "year-month agrees"
    if a.day == b.day:
        return "exact"
    near = abs(a.day - b.day) == 1 or _within(f"{a.day:02d}", f"{b.day:02d}", 1)
    return "close" if near else "disagree"  # a day off by one, or one digit of it


def compare_dob(a: PartialDate | None, b: PartialDate | None, freq: NameFrequencies | None = None) -> FieldResult:
    level = dob_level(a, b)
    if level == "missing":
        return FieldResult("dob", level, 0.0)
    u = freq.of_date(a) if level == "exact" and freq is not None and a is not None else DOB_U[level]
    return FieldResult("dob", level, _bits(DOB_M[level], u))


def commune_level(a: Person, b: Person) -> CommuneLevel:
    if not (a.commune or a.communes) or not (b.commune or b.communes):
        return "missing"
    if a.commune and a.commune == b.commune:
        return "same"
    for x, y in ((a, b), (b, a)):
        if x.communes and y.commune in x.communes:
            return "pre-2025 code, merged" if len(x.communes) == 1 else "pre-2025 code, split"
    if a.province and a.province == b.province:
        return "same province"
    return "differ"


def compare_commune(a: Person, b: Person) -> FieldResult:
    level = commune_level(a, b)
    weight = 0.0 if level == "missing" else _bits(COMMUNE_M[level], COMMUNE_U[level])
    return FieldResult("commune", level, weight)


def id_level(a: str | None, b: str | None) -> IdLevel:
    if not a or not b:
        return "missing"
    if a == b:
        return "same"
    if len(a) == len(b) and (sum(x != y for x, y in zip(a, b, strict=True)) == 1 or (
        sorted(a) == sorted(b) and Levenshtein.distance(a, b) == 2 and _adjacent_swap(a, b)
    )):
        return "one digit off"
    return "differ"


def _adjacent_swap(a: str, b: str) -> bool:
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def compare_id(a: str | None, b: str | None) -> FieldResult:
    level = id_level(a, b)
    weight = 0.0 if level == "missing" else _bits(ID_M[level], ID_U[level])
    return FieldResult("id", level, weight)


# --------------------------------------------------------------------------------------------
# Decision

Decision = Literal["match", "review", "no match"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score (bits) at or above which a pair is a match, or goes to a clerk.

    A score is a likelihood ratio: against a larger registry the prior odds of any one pair are
    lower, and the thresholds must rise by log2 of the size ratio (:meth:`for_population`). Measured
    with ``bench/bench_matching.py`` on 50,000 generated people, seeds 7, 11 and 13, with the
    birth-date spikes counted (:class:`NameFrequencies`): at 18 bits no false match but the one of
    seed 11 (a namesake born a day apart in the same province, 24 bits, which no threshold below
    25 avoids); at 16, one or two false matches in 5,000 rows (precision 0.9995-0.9998). Then
    checked on 1,000,000 people and a 100,000-row list (``bench/bench_check.py``): the log2 rise
    from 18 (22.3 bits) left no-ID recall at 0.89 for a precision of 0.9997; from 16 (20.3 bits)
    recall is 0.92 at the same precision, and from 14 (18.3) 0.94 at 0.9995. The match threshold
    is set from 16: a false match pays the wrong person, so the margin to the 0.999 precision
    target is kept. The defaults (22) are those of about 3,000,000 people.

    ``margin``: a best candidate that beats the runner-up by less than this goes to a clerk too,
    however high its score (two people fit the row)."""

    match: float = 22.0
    review: float = 12.0
    margin: float = 6.0

    @classmethod
    def for_population(cls, people: int) -> Thresholds:
        """The thresholds for a registry of ``people``: those measured on :data:`MEASURED_ON` people,
        raised by log2 of the size ratio (never lowered: a small registry is no surer)."""
        shift = max(0.0, math.log2(max(people, 1) / MEASURED_ON))
        return cls(MEASURED_MATCH + shift, MEASURED_REVIEW + shift)


#: The registry size and thresholds ``bench/bench_matching.py`` measured (:class:`Thresholds`).
MEASURED_ON = 50_000
MEASURED_MATCH = 16.0  # see Thresholds: chosen on 50,000 and checked on 1,000,000 people
MEASURED_REVIEW = 12.0


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class Match:
    """The comparison of an applicant with one registry record: the score and why."""

    score: float
    decision: Decision
    fields: tuple[FieldResult, ...]
    candidate: object = field(default=None, compare=False)
    note: str = ""

    def explanation(self) -> list[str]:
        """``["name: exact-folded (+12.3)", "dob: year-only agrees (+2.8)", ...]``."""
        return [str(f) for f in self.fields] + ([self.note] if self.note else [])

    def level(self, name: str) -> str:
        return next(f.level for f in self.fields if f.field == name)


def _vetoed(fields: Sequence[FieldResult]) -> bool:
    return any(f.field in ("name", "dob") and f.level == "disagree" for f in fields)


def _decide(score: float, fields: Sequence[FieldResult], t: Thresholds) -> Decision:
    if score >= t.match and not _vetoed(fields):
        return "match"
    return "review" if score >= t.review else "no match"


def compare(
    a: Person, b: Person, freq: NameFrequencies, thresholds: Thresholds = DEFAULT_THRESHOLDS, *,
    candidate: object = None,
) -> Match:
    """Compare two people field by field. A name or a birth date that disagrees is never an
    automatic match, whatever else agrees (an ID number copied from a relative's card)."""
    fields = (
        compare_name(Name.parse(a.full_name), Name.parse(b.full_name), freq),
        compare_dob(a.born, b.born, freq),
        compare_commune(a, b),
        compare_id(a.id_number, b.id_number),
    )
    score = sum(f.weight for f in fields)
    return Match(score, _decide(score, fields, thresholds), fields, candidate)


def resolve(
    applicant: Person, candidates: Iterable[tuple[object, Person]], freq: NameFrequencies,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Match | None:
    """The best of the candidates (``(key, person)`` pairs from the blocking query), or None.

    A candidate whose name disagrees comes after every other, then one whose birth date does,
    whatever their scores (the row carries a relative's ID number); a match whose runner-up (among
    the others whose name and birth date do not disagree) scores within ``thresholds.margin`` is
    downgraded to review."""
    scored = sorted(
        (compare(applicant, person, freq, thresholds, candidate=key) for key, person in candidates),
        key=lambda m: (m.level("name") == "disagree", m.level("dob") == "disagree", -m.score),
    )
    if not scored:
        return None
    best = scored[0]
    rivals = [m for m in scored[1:] if not _vetoed(m.fields)]
    if best.decision == "match" and rivals and rivals[0].score > best.score - thresholds.margin:
        return Match(best.score, "review", best.fields, best.candidate,
                     f"ambiguous: another candidate scores {rivals[0].score:.1f}")
    return best


# --------------------------------------------------------------------------------------------
# Blocking


def phonetic(token: str) -> str:
    """A rough sound key of a folded syllable: initial consonant cluster merged where Vietnamese
    spellings or regional sounds meet (d/gi/r, ch/tr, s/x, c/k/q, ng/ngh, g/gh, i/y), then the rest
    without vowel doubling."""
    t = token.replace("y", "i")
    for old, new in (("ngh", "ng"), ("gh", "g"), ("gi", "d"), ("tr", "ch"), ("x", "s"), ("r", "d"),
                     ("k", "c"), ("qu", "cu"), ("ph", "f")):
        if t.startswith(old):
            t = new + t[len(old):]
            break
    return re.sub(r"(.)\1+", r"\1", t)


def blocking_keys(person: Person) -> set[str]:
    """Keys under which a registry record and an applicant must share at least one to be compared.

    With ``pair`` the folded surname and given name in alphabetical order (so that name order does
    not matter, nor middle names or diacritics):

    - ``id:<number>``; ``ids:<last 6 digits>`` and ``idp:<first 6>|<pair>`` — a number with one
      wrong digit still meets its owner (the first six digits alone are province, century, sex and
      birth year: far too many people share them);
    - ``ny:<pair>|<birth year>`` — diacritics, middle names, name order, any date precision;
    - ``py:<sound of pair>|<birth year>`` — typos and spellings (:func:`phonetic`);
    - ``nd:<surname or given>|<full date>`` — a typo in the other name part;
    - ``nc:<pair>|<commune>`` — a wrong birth year;
    - ``yc:<surname or given>|<birth year>|<commune>`` — a typo in the other name part with only a
      year, or a year off by one (a commune holds a few people of one name part and year).

    The SQL is :mod:`idsvc.eligibility.blockindex`: a ``citizen_block_key (key, citizen_id)`` table
    kept current from the citizens' changes; a batch of applicants' keys goes into a temporary
    table, and one join gives every candidate of the batch with its details (the blocks chosen by
    :func:`usable_keys`), scored here. No key is a surname alone, so no block is a sizeable part of
    the registry.
    """
    return _keys(person, Name.parse(person.full_name))


#: A block larger than this is searched only when the row meets no smaller one (:func:`usable_keys`).
BLOCK_CAP = 20


def usable_keys(sizes: dict[str, int]) -> set[str]:
    """Which of a row's keys to search, given how many registry records each block holds.

    Broad blocks ("Nguyễn + Anh, born 1980" holds hundreds in a national registry) cost many
    comparisons and rarely hold the person when a narrower key (the full date, the commune) does
    not: they are left out when the row meets at least one block of at most :data:`BLOCK_CAP`
    records. Measured with ``bench/bench_matching.py``: on 200,000 people 51 candidates per row
    down to 10, on 50,000 14 down to 5; the same precision, and recall within one row in 5,000."""
    small = {k for k, n in sizes.items() if 0 < n <= BLOCK_CAP}
    return small if small else {k for k, n in sizes.items() if n}


def search_keys(applicant: Person) -> set[str]:
    """The keys an applicant's row is looked up with: :func:`blocking_keys` of the row as written
    and of the reading with the given name first ("Đức Nguyễn Văn" read as "Nguyễn Văn Đức").

    Only applicants get the second reading: in the registry it would put everyone under keys as
    large as "Nguyễn + Văn, born 1980"."""
    name = Name.parse(applicant.full_name)
    keys = _keys(applicant, name)
    if len(name.folded) >= 3:
        keys |= _keys(applicant, Name(name.exact[1:] + name.exact[:1], name.folded[1:] + name.folded[:1]))
    return keys


def _keys(person: Person, name: Name) -> set[str]:
    keys: set[str] = set()
    number = person.id_number
    pair = "+".join(sorted((name.folded[0], name.folded[-1]))) if len(name.folded) >= 2 else ""
    if number:
        keys |= {f"id:{number}", f"ids:{number[-6:]}"}
        if pair:
            keys.add(f"idp:{number[:6]}|{pair}")
    if not pair:
        return keys
    if person.born is not None:
        year = person.born.year
        keys.add(f"ny:{pair}|{year}")
        sound = "+".join(sorted((phonetic(name.folded[0]), phonetic(name.folded[-1]))))
        keys.add(f"py:{sound}|{year}")
        if person.born.precision == "day":
            keys |= {f"nd:{name.folded[0]}|{person.born}", f"nd:{name.folded[-1]}|{person.born}"}
    for commune in person.communes | ({person.commune} if person.commune else set()):
        keys.add(f"nc:{pair}|{commune}")
        if person.born is not None:
            keys |= {f"yc:{name.folded[0]}|{person.born.year}|{commune}",
                     f"yc:{name.folded[-1]}|{person.born.year}|{commune}"}
    return keys
