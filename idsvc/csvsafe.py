"""CSV files for people to open in a spreadsheet, safe from formula injection.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by spreadsheet programs (``=HYPERLINK(...)`` sends data away when clicked). Every CSV file idsvc
writes goes through :class:`Writer`, which prefixes such a cell with a single quote, as the OWASP
rule on CSV injection says: the spreadsheet then shows the text as it is. :func:`unescape` takes the
quote off again, for files of ours read back (a corrected rejects file).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import IO
from typing import Any

#: What a cell must not begin with.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A risky cell among cells each preceded by NUL (a literal first character: a fast scan, measured).
_RISKY = re.compile(r"\x00[=+\-@\t\r]")


def escape(value: str) -> str:
    """``value``, with a single quote in front if a spreadsheet would take it for a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def unescape(value: str) -> str:
    """The value :func:`escape` was given (a value it would not have made comes back as it is)."""
    return value[1:] if value[:1] == "'" and value[1:2] and value[1:].startswith(FORMULA_STARTS) else value


class Writer:
    """``csv.writer`` whose cells are :func:`escape` d (checked once per row, cells one by one only
    in a row that has a risky one)."""

    def __init__(self, f: IO[str], **options: Any) -> None:
        self._writer = csv.writer(f, **options)

    def writerow(self, row: Iterable[str]) -> None:
        cells = row if isinstance(row, list) else list(row)
        if _RISKY.search("\x00" + "\x00".join(cells)):
            cells = [escape(c) for c in cells]
        self._writer.writerow(cells)
