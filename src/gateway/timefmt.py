"""Time formats used at the edges: ISO 8601 (JSON) and RFC 1123 (HTTP dates)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import formatdate


def iso(seconds: float) -> str:
    """``2026-11-21T13:05:06.123Z`` (UTC, milliseconds)."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def http_date(seconds: float) -> str:
    """RFC 1123 in GMT, whole seconds, as HTTP and WebDAV want."""
    return formatdate(int(seconds) if seconds >= 0 else seconds, usegmt=True)
