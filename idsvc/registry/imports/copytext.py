"""Checked rows as PostgreSQL ``COPY`` text, made where the rows are checked.

The reading process turns a chunk's accepted rows into the bytes of the ``COPY`` statements, all
but what only the database knows (citizen and household ids, the batch, the time of writing), so
that the importing process does little more than stream them: no per-value formatting, and no
tuple of thirty values per person to pickle across the processes. The rows can be read back from
the bytes (:meth:`CopyRows.row`) for the rare row that meets the registry (already present, or
refused).

Text format of ``COPY``: tab-separated, ``\\N`` for NULL, a backslash doubled. Checked values hold
no tab, newline or carriage return (control characters are refused), so nothing else needs escaping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idsvc.registry.imports.rows import CHECKED_COLUMNS
from idsvc.registry.imports.rows import ROW_AT

#: Checked values that are columns of ``citizen`` as they are.
CITIZEN_COLUMNS = CHECKED_COLUMNS[:CHECKED_COLUMNS.index("household_number")]
#: Column order of a citizen row as written (``COPY`` on PostgreSQL, ``executemany`` on SQLite): the
#: reading process makes the text up to the line, the importer adds the rest.
CITIZEN_WRITE_COLUMNS = (*CITIZEN_COLUMNS, "import_line", "household_id", "id", "import_batch_id", "version",
                         "created_at", "updated_at")
RELATIVE_KINDS = ("father", "mother", "spouse")

_INTEGERS = frozenset(ROW_AT[c] for c in ("birth_year", "birth_month", "birth_day"))
_NULL = "\x00"  # stands for NULL until the chunk is escaped: no checked value holds it


@dataclass
class CopyRows:
    """A chunk's accepted rows, column by column, with their ``COPY`` text."""

    lines: list[int]
    numbers: list[str]
    households: list[str | None]
    communes: list[str | None]
    heads: list[bool]
    #: Per row: the citizen columns and the line, tab-separated, ending with a tab.
    citizens: list[bytes]
    #: Per relative kind, per row: ``kind\tid_number\tfull_name\n``, or None.
    relatives: tuple[list[bytes | None], ...]
    #: Per row: the old identity-card numbers, space-separated (digits only: no escaping), or None.
    old_numbers: list[str | None]

    def __len__(self) -> int:
        return len(self.lines)

    def row(self, i: int) -> tuple[Any, ...]:
        """Row ``i`` as the checker made it: (line, *checked values)."""
        fields = self.citizens[i].decode().split("\t")[:-1]
        row: list[Any] = [int(fields[-1]), *(_value(f) for f in fields[:-1])]
        for at in _INTEGERS:
            if row[at] is not None:
                row[at] = int(row[at])
        row.append(self.households[i])
        for kind in self.relatives:
            piece = kind[i]
            row += [None, None] if piece is None else [_value(f) for f in piece.decode()[:-1].split("\t")[1:]]
        row.append(self.old_numbers[i])
        return tuple(row)


def to_copy(rows: list[tuple[Any, ...]]) -> CopyRows:
    """The ``COPY`` text of checked rows ((line, *checked values), as the importer holds them)."""
    end = len(CITIZEN_COLUMNS) + 1
    citizens = _escaped(["\t".join([_NULL if v is None else str(v) for v in row[1:end]]) + f"\t{row[0]}\t"
                         for row in rows])
    relatives = []
    for kind in RELATIVE_KINDS:
        at = ROW_AT[f"{kind}_id"]
        texts = [None if row[at] is None and row[at + 1] is None else
                 f"{kind}\t{_NULL if row[at] is None else row[at]}\t{_NULL if row[at + 1] is None else row[at + 1]}\n"
                 for row in rows]
        relatives.append(_escaped_or_none(texts))
    return CopyRows(
        lines=[row[0] for row in rows], numbers=[row[1] for row in rows],
        households=[row[_HOUSEHOLD] for row in rows], communes=[row[_PERMANENT] for row in rows],
        heads=[row[_RELATIONSHIP] == "head" for row in rows], citizens=citizens, relatives=tuple(relatives),
        old_numbers=[row[_OLD_NUMBERS] for row in rows])


_HOUSEHOLD, _PERMANENT = ROW_AT["household_number"], ROW_AT["permanent_commune_code"]
_RELATIONSHIP, _OLD_NUMBERS = ROW_AT["relationship_to_head"], ROW_AT["old_id_numbers"]


def _escaped(texts: list[str]) -> list[bytes]:
    """Escape and encode many lines at once (a handful of C calls for the whole chunk)."""
    if not texts:
        return []
    joined = "\n".join(texts)
    if "\\" in joined:
        joined = joined.replace("\\", "\\\\")
    return joined.replace(_NULL, "\\N").encode().split(b"\n")


def _escaped_or_none(texts: list[str | None]) -> list[bytes | None]:
    present = [t for t in texts if t is not None]
    done = iter(_escaped([t[:-1] for t in present]))
    return [None if t is None else next(done) + b"\n" for t in texts]


def _value(field: str) -> str | None:
    if field == "\\N":
        return None
    return field.replace("\\\\", "\\") if "\\" in field else field
