"""Student-controlled text made harmless before it reaches a report, a file name or a cell.

Names of files and folders, exception texts and reprs come from students. `printable`
escapes what a terminal, a browser or a parser would act on (control and format characters,
bytes that are not UTF-8); `file_stem` makes a name safe and short enough for an output file.
CSV cells are neutralised against formulas by spreadsheet.py.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MAX_STEM = 100  # characters of an output file's stem, its digest included
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_STEM_CHARACTER = re.compile(r"[\w.-]")


def printable(text: str) -> str:
    """`text` with every control or format character, lone surrogate (a byte that was not
    UTF-8) and unassigned code point written as an escape: ESC becomes `\\x1b`. Text that
    str.isprintable() accepts has none of them (it rejects those categories and more)."""
    if text.isprintable():
        return text
    return "".join(_escaped(character) for character in text)


def _escaped(character: str) -> str:
    if character == " " or unicodedata.category(character) not in _UNSAFE_CATEGORIES:
        return character
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the byte that was not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def file_stem(name: str) -> str:
    """A stem for an output file named after `name`: `name` itself when it is short and made
    of letters, digits, `.`, `_` and `-` only (and does not start with `.`); otherwise its
    safe characters, shortened, and a digest of the whole name, so that stems stay unique."""
    if len(name) <= MAX_STEM and not name.startswith(".") and _only_stem_characters(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    kept = "".join(c if _STEM_CHARACTER.fullmatch(c) else "_" for c in name).lstrip(".")
    return f"{kept[: MAX_STEM - len(digest) - 1]}-{digest}"


def _only_stem_characters(name: str) -> bool:
    return bool(name) and all(_STEM_CHARACTER.fullmatch(c) for c in name)
