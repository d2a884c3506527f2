"""Verify (e-KYC without disclosure): compare what an agency claims about a person with the record.

Pure functions. Each claimed field gets one outcome, never the registry's value:

``match``
    The claim agrees with the record as far as the claim goes.
``no-match``
    The claim disagrees with something the registry knows.
``unknown``
    The registry does not know enough to decide: no permanent commune on record, or a birth date
    known only to the year (or month) while the claim is more precise and agrees as far as the
    record goes.

Names compare in :func:`idsvc.registry.names.comparison_form`: the canonical form (NFC, the
look-alike Ð taken for Đ, single spaces), old or new tone placement (Hoà = Hòa), case ignored.
Missing or different diacritics are a ``no-match``: "Nguyen Van An" is another name than
"Nguyễn Văn An" (the folded form only finds candidates, never decides identity).
"""

from __future__ import annotations

from typing import Any

from idsvc.registry import names
from idsvc.registry.dates import PartialDate

MATCH = "match"
NO_MATCH = "no-match"
UNKNOWN = "unknown"

#: The fields a claim may hold besides the number, in the order the answer lists them.
FIELDS = ("full_name", "date_of_birth", "sex", "permanent_commune")


def compare_name(claimed: str, recorded: str) -> str:
    """Same name in comparison form (canonical, tone placement and case ignored)."""
    same = names.comparison_form(claimed) == names.comparison_form(recorded)
    return MATCH if same else NO_MATCH


def compare_date(claimed: PartialDate, recorded: PartialDate) -> str:
    """Compare year, month and day as far as both know them.

    A part both know that differs is a ``no-match``. Otherwise the claim is a ``match`` when the
    record knows every part the claim gives (a claimed year only, with a full date on record, is
    a match: the claim is true), and ``unknown`` when the claim is more precise than the record.
    """
    pairs = ((claimed.year, recorded.year), (claimed.month, recorded.month), (claimed.day, recorded.day))
    for mine, theirs in pairs:
        if mine is not None and theirs is not None and mine != theirs:
            return NO_MATCH
    if any(mine is not None and theirs is None for mine, theirs in pairs):
        return UNKNOWN
    return MATCH


def compare_exact(claimed: str, recorded: str | None) -> str:
    """Codes (sex, commune): equal, different, or not on record."""
    if recorded is None:
        return UNKNOWN
    return MATCH if claimed == recorded else NO_MATCH


def compare(claim: dict[str, Any], record: dict[str, Any]) -> dict[str, str]:
    """The outcome of each field of ``claim`` (the fields of :data:`FIELDS` it holds) against
    ``record`` (the same keys; ``date_of_birth`` a :class:`PartialDate` on both sides)."""
    outcomes: dict[str, str] = {}
    for field in FIELDS:
        if field not in claim:
            continue
        if field == "full_name":
            outcomes[field] = compare_name(claim[field], record[field])
        elif field == "date_of_birth":
            outcomes[field] = compare_date(claim[field], record[field])
        else:
            outcomes[field] = compare_exact(claim[field], record.get(field))
    return outcomes
