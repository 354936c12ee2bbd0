"""CSV for spreadsheets and LMS imports, safe against formula injection.

A student names their own folder, and a name such as `=HYPERLINK(...)` would run as a formula
in the instructor's spreadsheet. Every cell that a spreadsheet could read as a formula (one
starting with = + - @, a tab or a carriage return) gets a leading apostrophe, as OWASP's
advice on CSV injection says; numbers are written by the kit and never start with one of them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(cell: str) -> str:
    """`cell`, with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """The CSV of `header` and `rows`, every cell neutralised, lines ending in \\n."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in (header, *rows):
        writer.writerow([neutralised(cell) for cell in row])
    return buffer.getvalue()
