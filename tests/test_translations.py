"""The catalogues: every page string is translated in both languages, and the committed .mo
files are the compiled .po files (a forgotten ``pybabel compile`` fails here, not in production)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "idsvc" / "translations"
LANGUAGES = ["vi", "en"]
#: The gettext functions of the code: Babel's defaults plus lazy_gettext imported as ``_l``.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None}


def _catalogue(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=lang)


def _source_msgids() -> set[str | tuple[str, ...]]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _key(msgid: str | tuple[str, ...]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


@pytest.fixture(scope="module")
def source_msgids() -> set[str | tuple[str, ...]]:
    found = _source_msgids()
    assert len(found) > 50, "the extraction found almost nothing: is babel.cfg still right?"
    return found


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_string_is_translated(lang, source_msgids) -> None:
    catalogue = _catalogue(lang)
    untranslated = []
    for msgid in sorted(source_msgids, key=_key):
        message = catalogue.get(msgid if isinstance(msgid, str) else msgid[0])
        strings = [] if message is None else ([message.string] if isinstance(message.string, str)
                                              else list(message.string))
        if message is None or message.fuzzy or not strings or not all(strings):
            untranslated.append(_key(msgid))
    assert untranslated == [], f"run pybabel extract/update and translate in {lang}: {untranslated}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogues_hold_no_stale_or_broken_entries(lang, source_msgids) -> None:
    catalogue = _catalogue(lang)
    current = {_key(m) for m in source_msgids}
    stale = [m.id for m in catalogue if m.id and _key(m.id) not in current]
    assert stale == [], f"strings no longer in the code (pybabel update drops them): {stale}"
    problems = [(message.id, errors) for message, errors in catalogue.check()]
    assert problems == [], problems  # e.g. a %(name)s placeholder lost in translation


def _entries(catalogue) -> dict[object, object]:
    def hashable(value):
        return value if isinstance(value, str) else tuple(value)
    return {hashable(m.id): hashable(m.string) for m in catalogue if m.id}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_committed_mo_is_the_compiled_po(lang) -> None:
    compiled = BytesIO()
    write_mo(compiled, _catalogue(lang))
    compiled.seek(0)
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").open("rb") as committed:
        expected, actual = read_mo(compiled), read_mo(committed)
    assert _entries(actual) == _entries(expected), (
        f"idsvc/translations/{lang}/LC_MESSAGES/messages.mo is out of date: run pybabel compile -d idsvc/translations")
