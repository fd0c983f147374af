"""Time formats used at the edges: ISO 8601 (JSON) and RFC 1123 (HTTP dates)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from gateway.errors import BadRequest

EARLIEST = datetime(1, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
"""The moments a date in UTC can show (years 1 to 9999)."""


def iso(seconds: float) -> str:
    """``2026-11-21T13:05:06.123Z`` (UTC, milliseconds). A moment outside years 1-9999
    (stored before such times were refused) is shown as the nearest one inside."""
    moment = datetime.fromtimestamp(min(max(seconds, EARLIEST), LATEST), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(seconds: float) -> str:
    """RFC 1123 in GMT, whole seconds, as HTTP and WebDAV want (what
    ``email.utils.formatdate(usegmt=True)`` writes, a few times faster: a WebDAV
    listing writes one per entry)."""
    t = time.gmtime(seconds)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def parse_time(value: str, name: str) -> float:
    """ISO 8601 date or date/time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(
            f"{name} must be an ISO 8601 date/time such as 2026-12-31T18:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    if not EARLIEST <= seconds <= LATEST:
        raise BadRequest(f"{name} is outside the years 1-9999 once converted to UTC")
    return seconds


def optional_time(value: object, name: str) -> float | None:
    """A JSON field that is ``null`` (``None``) or an ISO 8601 time (:func:`parse_time`);
    anything else is :class:`BadRequest` naming the field."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be an ISO 8601 date/time string")
    return parse_time(value, name)
