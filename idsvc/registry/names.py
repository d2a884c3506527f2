"""Vietnamese names: canonical form for storage and a folded form for search. Pure functions.

Canonical: NFC, the look-alike ETH (Ð/ð) replaced by D-with-stroke (Đ/đ), whitespace
collapsed. Folded: lower case without tone or vowel marks, đ -> d; it collapses distinct names
(Nguyễn Văn Đức and Nguyên Vân Đực both fold to "nguyen van duc"), so it only finds
candidates, never decides identity.
"""

from __future__ import annotations

import re
import unicodedata

_ETH = str.maketrans({"\u00d0": "\u0110", "\u00f0": "\u0111"})
_FOLD = str.maketrans({"đ": "d", "Đ": "d"})


def _fold_table() -> dict[int, str]:
    """Every precomposed Latin letter with marks -> its bare letter (one C-level translate)."""
    table = {}
    for c in range(0x00C0, 0x1F00):
        bare = "".join(ch for ch in unicodedata.normalize("NFD", chr(c)) if not unicodedata.combining(ch))
        if bare != chr(c) and bare.isascii() and bare.isalpha():
            table[c] = bare
    table.update({ord("đ"): "d", ord("Đ"): "D"})
    return table


_FOLD_FAST = _fold_table()


#: What counts as a space: the space, the tab and the other spaces of Unicode (Zs: no-break,
#: en, em, thin, ideographic ...). Control characters that Python's ``str.split`` also takes for
#: whitespace (\x0b, \x1c-\x1f, \x85) and the line and paragraph separators are left in place,
#: for :func:`has_control_characters` to refuse.
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")


def canonical(text: str) -> str:
    """NFC, Đ instead of its look-alike, single spaces, no space or line end at either end."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text).translate(_ETH)).strip(" \r\n")


def fold(text: str) -> str:
    """Search key: lower case, no diacritics, đ -> d, single spaces."""
    quick = canonical(text).translate(_FOLD_FAST)
    if quick.isascii():
        return quick.lower()
    decomposed = unicodedata.normalize("NFD", canonical(text).translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


#: The five tone marks, as combining characters (grave, acute, hook above, tilde, dot below).
_TONES = "\u0300\u0301\u0309\u0303\u0323"
#: Old-style tone placement at the end of a syllable: hoà, hoè, thuỷ -> hòa, hòe, thủy (not after
#: "q": in "quý" the u belongs to the consonant and both styles write the tone on the y).
_OLD_TONE = re.compile(rf"(?<![qQ])([oO])([aAeE])([{_TONES}])(?![\w])|(?<![qQ])([uU])([yY])([{_TONES}])(?![\w])")


def _new_style(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1) + match.group(3) + match.group(2)
    return match.group(4) + match.group(6) + match.group(5)


def comparison_form(text: str) -> str:
    """The form in which two spellings of one name are equal: canonical (NFC, Đ for its look-alike
    Ð, single spaces), new-style tone placement, lower case. ``"Nguyễn Văn Hoà"`` and
    ``"nguyễn văn hòa"`` give the same string; diacritics still count (unlike :func:`fold`)."""
    decomposed = unicodedata.normalize("NFD", canonical(text))
    return unicodedata.normalize("NFC", _OLD_TONE.sub(_new_style, decomposed)).lower()


def _control_class() -> re.Pattern[str]:
    """A character class of every Cc and Cf code point and the line and paragraph separators (the
    few outside the BMP listed by range)."""
    bmp = "".join(chr(c) for c in range(0x10000) if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp"))
    astral = "\U000110BD\U000110CD\U00013430-\U0001343F\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A" \
             "\U000E0001\U000E0020-\U000E007F"
    return re.compile("[" + re.escape(bmp) + astral + "]")


#: Control and format characters (Unicode Cc, Cf, Zl, Zp): zero-width spaces, bidi overrides, NUL...
_CONTROL = _control_class()


def has_control_characters(text: str) -> bool:
    """True if ``text`` holds a control or format character (invisible, or reorders text)."""
    return _CONTROL.search(text) is not None


#: Punctuation a personal name may hold besides letters and spaces: the apostrophe (straight or
#: typographic: O'Neil, K’Lơng), the hyphen (Ê-đê and foreign double names) and the period (an
#: initial). Anything else (digits, = + @ and other symbols) is no part of a name, and characters
#: such as = + - @ at the start would turn into a formula in a spreadsheet that reads the name.
NAME_PUNCTUATION = frozenset("'\u2019-.")


def is_plain_name(text: str) -> bool:
    """Letters and single spaces only: a name :func:`name_problem` accepts without looking further."""
    return text.replace(" ", "").isalpha()


def name_problem(text: str, *, several: bool = False) -> str | None:
    """Why ``text`` cannot be a personal name (canonical text expected), or None.

    A name is letters of any script (with their combining marks), single spaces and
    :data:`NAME_PUNCTUATION`, and begins with a letter. ``several``: a list of names (other names),
    which may also be separated by commas. Control characters are left to
    :func:`has_control_characters`.
    """
    if is_plain_name(text):  # the common case, at C speed
        return None
    allowed = NAME_PUNCTUATION | {" "} | ({","} if several else set())
    bad: list[str] = []
    for ch in text:
        if ch.isalpha() or ch in allowed or unicodedata.category(ch)[0] == "M" or _CONTROL.match(ch):
            continue
        if ch not in bad:
            bad.append(ch)
    if bad:
        shown = [f"'{ch}'" if ch.isprintable() else f"U+{ord(ch):04X}" for ch in bad[:3]]
        listed = ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]
        return f"a name cannot contain {listed}"
    if text and not text[0].isalpha():
        return f"a name begins with a letter, not '{text[0]}'"
    return None
