"""Reading population files (CSV or JSONL, :mod:`fileformat`) as a stream of raw rows. No database.

Hygiene: UTF-8 with or without a byte-order mark, or UTF-16 with its byte-order mark (what some
spreadsheets save as "Unicode text"), transcoded while reading; a CSV file whose header line holds
semicolons and no comma is read with ``;`` between values (spreadsheets of locales where the
comma is the decimal mark). Every value comes out in the canonical form
of :func:`names.canonical` (stripped, single spaces, NFC: NFD accents from macOS or old tools become
the composed form, the look-alike Ð becomes Đ). A file that is not UTF-8, has no
header, or lacks required columns is :class:`UnreadableFile` with the line to look at; a single
malformed row is yielded with its reason so the importer can reject it and go on.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import re
import unicodedata
from collections.abc import Generator
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import BinaryIO
from typing import NoReturn

from idsvc.csvsafe import unescape
from idsvc.registry.imports.fileformat import COLUMNS
from idsvc.registry.imports.fileformat import REQUIRED_COLUMNS
from idsvc.registry.names import canonical

FORMATS = ("csv", "jsonl")
#: Columns a rejects file adds in front (:mod:`importer`): ignored, so a corrected rejects file imports as it is.
REJECTS_COLUMNS = ("line", "reason")
_NFC = unicodedata.is_normalized
#: What :func:`names.canonical` would change in text that is already stripped and NFC.
_NOT_CANONICAL = re.compile(r"\s\s|[^\S ]|[\u00d0\u00f0]")


#: A block of CSV lines is *plain* when a split on commas reads it as ``csv.reader`` followed by
#: :func:`_clean` would, and no value holds a control character. Proven on the block's UTF-8 bytes
#: with a few C-speed scans instead of a regular expression per row: once printable ASCII, the line
#: feed and UTF-8 continuation bytes are deleted, only lead bytes of U+00C0-U+05FF and U+1000-U+1FFF
#: may remain (ranges with no control, format or space character but the four ruled out below).
_PLAIN_BYTES = bytes(range(0x20, 0x7F)) + b"\n" + bytes(range(0x80, 0xC0))
_PLAIN_LEADS = bytes(range(0xC3, 0xD8)) + b"\xe1"
#: Quotes; Ð and ð (U+00D0, U+00F0: look-alikes of Đ đ); U+1680 (a space) and U+180E (a format
#: character); a space next to another, to a delimiter or at either end of a line; a value that
#: begins with an apostrophe (perhaps escaped against formula injection: :func:`_clean` takes it off).
#: By delimiter.
_NOT_PLAIN = {d: (b'"', b"\xc3\x90", b"\xc3\xb0", b"\xe1\x9a\x80", b"\xe1\xa0\x8e", b"  ", b" " + d.encode(),
                  d.encode() + b" ", b"\n ", b" \n", d.encode() + b"'", b"\n'") for d in (",", ";")}
#: The delimiters a CSV file may use, by name.
DELIMITERS = {",": "comma", ";": "semicolon"}


@dataclass(frozen=True, slots=True)
class Layout:
    """The columns of one kind of file: those it must have, and all it may have (in order).

    The population file (:data:`POPULATION`) is the default; attribute-source lists and
    eligibility applicant lists are read with their own layouts by the same reader.
    """

    required: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.columns)


#: The population file of :mod:`fileformat`.
POPULATION = Layout(REQUIRED_COLUMNS, COLUMNS)


class UnreadableFile(Exception):
    """The file as a whole cannot be read; ``str(exc)`` says what to fix."""


@dataclass(frozen=True, slots=True)
class FileFacts:
    sha256: str
    lines: int
    size: int


@dataclass(frozen=True, slots=True)
class RawRow:
    #: The file line where the row starts (1 = the header of a CSV file).
    line: int
    values: dict[str, str]
    #: Why the row could not even be parsed, if so.
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive rows of a file, read together.

    A *plain* block (CSV only) holds ``(line, values)`` pairs, the values in header order, already
    canonical and free of control characters (proven once for the whole block): the common case,
    which the checker can take without looking for hygiene problems row by row. Any other block
    holds :class:`RawRow` objects, exactly as :func:`read_rows` yields them.
    """

    header: tuple[str, ...]
    plain: bool
    items: list[tuple[int, list[str]]] | list[RawRow]

    def raw_rows(self) -> Iterator[RawRow]:
        if not self.plain:
            yield from self.items  # type: ignore[misc]  # not plain: RawRows
            return
        for line, values in self.items:  # type: ignore[misc]  # plain: (line, values) pairs
            yield RawRow(line, dict(zip(self.header, values, strict=True)))


#: Byte-order marks of UTF-16 (little and big endian); the ``utf-16`` codec reads either and drops it.
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def encoding_of(path: Path) -> str:
    """The codec to read ``path`` with: ``utf-16`` if it begins with a UTF-16 byte-order mark, else
    ``utf-8-sig`` (UTF-8, with or without its byte-order mark)."""
    with path.open("rb") as f:
        return "utf-16" if f.read(2) in _UTF16_BOMS else "utf-8-sig"


def inspect(path: Path) -> FileFacts:
    """Hash the file, count its lines and prove it is UTF-8 (or UTF-16 with a byte-order mark),
    before anything is imported.

    :raises UnreadableFile: the file is missing, empty, or not UTF-8 (with the line and byte).
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = size = 0
    last = b""
    try:
        if encoding_of(path) == "utf-16":
            return _inspect_utf16(path)
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    _not_utf8(path, f, size + exc.start - len(decoder.getstate()[0]))
                lines += block.count(b"\n")
                size += len(block)
                last = block[-1:]
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise UnreadableFile(f"{path.name} is not UTF-8 text: it ends in the middle of a character") from None
    except FileNotFoundError:
        raise UnreadableFile(f"{path} does not exist") from None
    except IsADirectoryError:
        raise UnreadableFile(f"{path} is a directory, not a file") from None
    except PermissionError:
        raise UnreadableFile(f"{path} cannot be read: permission denied") from None
    if size == 0:
        raise UnreadableFile(f"{path.name} is empty")
    return FileFacts(sha256=digest.hexdigest(), lines=lines + (last != b"\n"), size=size)


def _inspect_utf16(path: Path) -> FileFacts:
    """:func:`inspect` of a file with a UTF-16 byte-order mark: lines counted in the decoded text."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        codec = "utf-16-le" if f.read(2) == codecs.BOM_UTF16_LE else "utf-16-be"
        f.seek(0)
        decoder = codecs.getincrementaldecoder(codec)()
        lines = size = 0
        last = ""
        while block := f.read(1 << 20):
            digest.update(block)
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as exc:
                line = lines + block[:exc.start].decode(codec, errors="replace").count("\n") + 1
                raise UnreadableFile(f"{path.name} begins as UTF-16 text but is not: line {line} has bytes that are "
                                     "no character. Save the file as UTF-8 (CSV UTF-8 in a spreadsheet) and import "
                                     "it again.") from None
            lines += text.count("\n")
            size += len(block)
            last = text[-1:] or last
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise UnreadableFile(f"{path.name} is not UTF-16 text: it ends in the middle of a character") from None
    if size <= 2:
        raise UnreadableFile(f"{path.name} is empty")
    return FileFacts(sha256=digest.hexdigest(), lines=lines + (last not in ("\n", "")), size=size)


def _not_utf8(path: Path, f: BinaryIO, offset: int) -> NoReturn:
    """Name the line and byte of the first byte that is not UTF-8 (``offset`` from the start)."""
    f.seek(0)
    head = f.read(offset + 1)
    line = head.count(b"\n") + 1
    column = offset - (head.rfind(b"\n", 0, offset) + 1) + 1
    raise UnreadableFile(
        f"{path.name} is not UTF-8 text: line {line} has the byte 0x{head[offset]:02x} at position {column}. "
        "Save the file as UTF-8 (CSV UTF-8 in a spreadsheet) and import it again.")


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        return fmt
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"


def _clean(values: list[str]) -> list[str]:
    """The canonical form of a row's values; one check on the whole row keeps the common case fast.

    A value our CSV files escaped against formula injection (``'=...``, :mod:`csvsafe`) is read as
    it was: no value that can be valid begins with ``'``.
    """
    values = [v.strip(" \t\r\n") for v in values]  # not strip(): it would drop control characters unseen
    joined = "".join(values)
    if "'" in joined:
        values = [unescape(v).strip(" \t\r\n") for v in values]
        joined = "".join(values)
    if _NOT_CANONICAL.search(joined) or not (joined.isascii() or _NFC("NFC", joined)):
        values = [canonical(v) for v in values]
    return values


def read_rows(path: Path, fmt: str, layout: Layout = POPULATION) -> Iterator[RawRow]:
    """Yield the rows of ``path`` one by one; memory does not grow with the file.

    :raises UnreadableFile: a problem with the file as a whole (header, format).
    """
    for block in read_blocks(path, fmt, layout=layout):
        yield from block.raw_rows()


def read_blocks(path: Path, fmt: str, size: int = 1000, *,
                layout: Layout = POPULATION) -> Generator[Block, None, None]:
    """The rows of ``path`` in blocks of (CSV) ``size`` lines or (JSONL) ``size`` rows.

    :raises UnreadableFile: a problem with the file as a whole (header, format).
    """
    if fmt == "csv":
        yield from _read_csv(path, size, layout)
    elif fmt == "jsonl":
        yield from _read_jsonl(path, size, layout)
    else:
        raise UnreadableFile(f"unknown format '{fmt}'; one of {', '.join(FORMATS)}")


def _check_header(header: list[str], path: Path, layout: Layout) -> None:
    if not any(header) or (header[0].isascii() and header[0].isdigit()):
        raise UnreadableFile(f"{path.name} has no header line; the first line must name the columns: "
                             + ",".join(layout.required))
    if "" in header:
        raise UnreadableFile(f"{path.name}: column {header.index('') + 1} of the header has no name "
                             "(a comma too many at the end of the line?)")
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise UnreadableFile(f"{path.name}: the header names these columns twice: {', '.join(duplicated)}")
    missing = [c for c in layout.required if c not in header]
    if missing:
        raise UnreadableFile(f"{path.name}: the header lacks the columns {', '.join(missing)} "
                             "(see the file format in the README)")
    unknown = [c for c in header if c not in layout.known and c not in REJECTS_COLUMNS]
    if unknown:
        raise UnreadableFile(f"{path.name}: unknown columns {', '.join(unknown)}; the known ones are "
                             + ", ".join(layout.columns))


def _read_csv(path: Path, size: int, layout: Layout) -> Iterator[Block]:
    """CSV in blocks of ``size`` lines: a block with nothing unusual in it is split on commas at C
    speed (see :func:`_plain`); any other block goes through ``csv.reader`` and :func:`_clean`,
    line by line (:func:`_parse_csv`)."""
    with path.open(encoding=encoding_of(path), newline="") as f:
        first = f.readline()
        if not first:
            raise UnreadableFile(f"{path.name} is empty")
        delimiter = ";" if ";" in first and "," not in first else ","
        try:
            header = [c.lower() for c in _clean(next(csv.reader([first], delimiter=delimiter, strict=True), []))]
        except csv.Error as exc:
            raise UnreadableFile(f"{path.name}: the header line is not valid CSV ({exc})") from None
        _check_header(header, path, layout)
        names = tuple(header)
        line = 1  # lines read so far
        while lines := list(islice(f, size)):
            plain = _plain(lines, len(names), line, delimiter)
            yield (Block(names, False, _parse_csv(lines, names, line, delimiter)) if plain is None
                   else Block(names, True, plain))
            line += len(lines)


def _plain(lines: list[str], width: int, before: int, delimiter: str = ",") -> list[tuple[int, list[str]]] | None:
    """``lines`` as (line number, values) if ``csv.reader`` + :func:`_clean` would read them as a plain
    split on ``delimiter``, and no value holds a control character; otherwise None."""
    text = "".join(lines)
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # a lone CR is caught below
    data = text.encode()
    if (data.translate(None, _PLAIN_BYTES).translate(None, _PLAIN_LEADS) or data.startswith((b" ", b"'"))
            or data.endswith(b" ") or any(bad in data for bad in _NOT_PLAIN[delimiter])
            or not (text.isascii() or _NFC("NFC", text))):
        return None
    body = text[:-1] if text.endswith("\n") else text
    rows = [row.split(delimiter) for row in body.split("\n")]
    if len(rows) != len(lines) or any(len(row) != width for row in rows):
        return None  # a blank or ragged line: csv.reader says what is wrong with it
    return list(zip(range(before + 1, before + 1 + len(rows)), rows, strict=True))


def _parse_csv(lines: list[str], header: tuple[str, ...], before: int, delimiter: str = ",") -> list[RawRow]:
    """Rows of ``lines`` through ``csv.reader``, each physical line on its own (``before``: the
    number of lines before them). No value of this format holds a line break, so a double quote
    left open is its own line's fault: refused with that line, it never swallows the lines after it.
    """
    width = len(header)
    rows: list[RawRow] = []
    for number, text in enumerate(lines, before + 1):
        try:
            row = next(csv.reader([text], delimiter=delimiter, strict=True), [])
        except csv.Error as exc:
            reason = ("a double quote opens a value that is not closed on this line (a value cannot run on "
                      "over several lines)" if "unexpected end of data" in str(exc) else f"not valid CSV: {exc}")
            rows.append(RawRow(number, {}, reason))
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # blank line
        if len(row) != width:
            rows.append(RawRow(number, {}, f"has {len(row)} values but the header has {width} columns "
                                           f"(a {DELIMITERS[delimiter]} inside a value needs double quotes "
                                           "around the value)"))
            continue
        rows.append(RawRow(number, dict(zip(header, _clean(row), strict=True))))
    return rows


def _read_jsonl(path: Path, size: int, layout: Layout) -> Iterator[Block]:
    rows = _jsonl_rows(path, layout.known)
    names = layout.columns
    while block := list(islice(rows, size)):
        yield Block(names, False, block)


#: Half of a UTF-16 surrogate pair: JSON can escape one alone ("\\ud800"), and it cannot be encoded.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _surrogates(obj: dict[str, object]) -> list[tuple[str, str]]:
    """(where, the first lone surrogate) for each key or text value of ``obj`` that holds one."""
    found = []
    for key, value in obj.items():
        for where, text in (("a key ", key), (f"{_SURROGATE.sub('?', key)}: ", value)):
            half = _SURROGATE.search(text) if isinstance(text, str) else None
            if half:
                found.append((where, half.group()))
                break
    return found


class _DuplicateKeys(ValueError):
    def __init__(self, keys: list[str]) -> None:
        super().__init__(", ".join(keys))
        self.keys = keys


def _object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object, refusing a key given twice (``json`` would keep the last one silently)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        twice = {k for k, _ in pairs if k in seen or seen.add(k)}  # type: ignore[func-returns-value]  # add marks it seen
        raise _DuplicateKeys(sorted(twice))
    return obj


def _jsonl_rows(path: Path, known: frozenset[str]) -> Iterator[RawRow]:
    with path.open(encoding=encoding_of(path)) as f:
        for line, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text.rstrip("\r\n"), object_pairs_hook=_object)
            except json.JSONDecodeError as exc:
                yield RawRow(line, {}, f"not valid JSON: {exc.msg.removesuffix(' at')} at column {exc.colno}")
                continue
            except _DuplicateKeys as exc:
                yield RawRow(line, {}, f"the keys {', '.join(exc.keys)} are given twice (which one is meant?)")
                continue
            except RecursionError:
                yield RawRow(line, {}, "values nested too deeply (arrays or objects inside each other); "
                                       "every value must be text in double quotes")
                continue
            except ValueError:  # what is left: Python's limit on the digits of an integer (CVE-2020-10735)
                yield RawRow(line, {}, "holds a number of more than 4,300 digits; every value must be text "
                                       "in double quotes")
                continue
            if not isinstance(obj, dict):
                yield RawRow(line, {}, "not a JSON object ({\"citizen_id\": \"...\", ...})")
                continue
            if "\\u" in text:  # only a \u escape can make half of a surrogate pair: the file was decoded strictly
                halves = _surrogates(obj)
                if halves:
                    obj = {_SURROGATE.sub("\ufffd", k): _SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v
                           for k, v in obj.items()}
                    values = {k: v for k, v in obj.items() if k in known and isinstance(v, str)}
                    yield RawRow(line, dict(zip(values, _clean(list(values.values())), strict=True)), "; ".join(
                        f"{where}holds \\u{ord(half):04x}, half of a UTF-16 surrogate pair, which is no "
                        "character: write the character itself, or both halves of its \\u pair"
                        for where, half in halves))
                    continue
            unknown = [k for k in obj if k not in known]
            not_text = [k for k, v in obj.items() if v is not None and not isinstance(v, str)]
            keys = [k for k in obj if k in known]
            values = dict(zip(keys, _clean([v if isinstance(v, str) else "" for v in map(obj.get, keys)]),
                              strict=True))
            if unknown:
                yield RawRow(line, values, f"unknown keys {', '.join(map(str, unknown))}")
            elif not_text:
                yield RawRow(line, values, f"{', '.join(not_text)}: must be text in double quotes "
                                           "(a number loses leading zeros)")
            else:
                yield RawRow(line, values)
