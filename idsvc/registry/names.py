"""Vietnamese names: canonical form for storage and a folded form for search. Pure functions.

Canonical: NFC, the look-alike ETH (Ð/ð) replaced by D-with-stroke (Đ/đ), whitespace
collapsed. Folded: lower case without tone or vowel marks, đ -> d; it collapses distinct names
(Nguyễn Văn Đức and Nguyên Vân Đực both fold to "nguyen van duc"), so it only finds
candidates, never decides identity.
"""

from __future__ import annotations

import unicodedata

_ETH = str.maketrans({"\u00d0": "\u0110", "\u00f0": "\u0111"})
_FOLD = str.maketrans({"đ": "d", "Đ": "d"})


def canonical(text: str) -> str:
    """NFC, Đ instead of its look-alike, single spaces, no leading or trailing space."""
    return " ".join(unicodedata.normalize("NFC", text).translate(_ETH).split())


def fold(text: str) -> str:
    """Search key: lower case, no diacritics, đ -> d, single spaces."""
    decomposed = unicodedata.normalize("NFD", canonical(text).translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)
