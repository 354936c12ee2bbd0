"""Student text made harmless: every code point, escaped exactly when its category is unsafe."""

from __future__ import annotations

import unicodedata

from autograder.safe_text import printable

UNSAFE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format, surrogate, private, ...


def expected(character: str) -> str:
    if character == " " or unicodedata.category(character) not in UNSAFE:
        return character
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def test_every_code_point_is_kept_or_escaped_by_its_category() -> None:
    for start in range(0, 0x110000, 0x1000):
        block = "".join(map(chr, range(start, start + 0x1000)))
        assert printable(block) == "".join(map(expected, block)), hex(start)
        safe = "".join(c for c in block if expected(c) == c)
        assert printable(safe) == safe, hex(start)


def test_printable_text_beyond_ascii_is_kept_as_it_is() -> None:
    text = "x₀ → x* in 3 steps — η = 0.1, ‖∇f‖ ≈ 1e-3 \u00a0(no-break space)"
    assert printable(text) == text
    assert printable(text + "\u202e") == text + "\\u202e"  # right-to-left override: Cf
    assert printable("\udcff" + text) == "\\xff" + text  # a byte that was not UTF-8
