"""What a log line may hold of a client's input: no line breaks or other control
characters (a path with ``%0A`` in it must not start a forged log line)."""

from __future__ import annotations

_CONTROL = {code: f"\\x{code:02x}" for code in [*range(32), 127]}


def loggable(text: str) -> str:
    """``text`` with every control character written as ``\\xNN``."""
    return text.translate(_CONTROL)
