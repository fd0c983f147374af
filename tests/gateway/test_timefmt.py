"""Time formats at the edges."""

from __future__ import annotations

import random
from email.utils import formatdate

from gateway.timefmt import http_date, iso


def test_http_date_writes_what_email_utils_writes() -> None:
    samples = [0.0, -1.5, 1e9 + 0.999, 4102444800.0] + [
        random.uniform(-3e9, 4e9) for _ in range(2000)
    ]
    for seconds in samples:
        assert http_date(seconds) == formatdate(seconds, usegmt=True), seconds
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_iso_is_utc_with_milliseconds() -> None:
    assert iso(1.5) == "1970-01-01T00:00:01.500Z"
