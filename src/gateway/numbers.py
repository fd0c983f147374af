"""Whole numbers from text, the one way every front reads them.

``int()`` and ``str.isdigit()`` accept more than a client means: ``int`` takes
other scripts' digits, spaces, ``_`` and signs, and fails with ValueError past 4,300
digits, while ``isdigit`` says yes to ``²``, which ``int`` then refuses. A number in a
header, query, path or cursor is 1 to 18 ASCII digits (it fits a 64-bit column);
anything else is refused with a message that says so.
"""

from __future__ import annotations

import re

from gateway.errors import BadRequest

MAX_DIGITS = 18
DIGITS = re.compile(f"[0-9]{{1,{MAX_DIGITS}}}")


def whole_number(text: str, what: str) -> int:
    """``text`` as a non-negative whole number, or :class:`BadRequest` naming ``what``."""
    if not DIGITS.fullmatch(text):
        raise BadRequest(f"{what} must be a whole number of 1 to {MAX_DIGITS} digits 0-9")
    return int(text)


def whole_number_or_none(text: str | None) -> int | None:
    """``text`` as a whole number, or ``None`` when it is not one (or missing)."""
    if text is None or not DIGITS.fullmatch(text):
        return None
    return int(text)
