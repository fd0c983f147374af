"""The access log: one line per request, and a client cannot forge lines."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest

from api.app import create_app
from api.s3.app import create_s3_app
from gateway.core import Core
from gateway.logsafe import loggable


def test_a_path_cannot_break_a_log_line(core: Core, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="lockr.access"):

        async def fetch() -> int:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(core)), base_url="http://lockr.test"
            ) as session:
                response = await session.get("/download/x%0A2026-01-01 INFO forged%1b[31m")
                return response.status_code

        assert anyio.run(fetch) == 404
    lines = [record.getMessage() for record in caplog.records if record.name == "lockr.access"]
    assert len(lines) == 1 and "\n" not in lines[0] and "\x1b" not in lines[0]
    assert "x\\x0a2026-01-01 INFO forged\\x1b[31m" in lines[0]


def test_s3_requests_are_logged_without_their_query(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    """A presigned URL's query holds its signature: the line has the path only."""
    signature = "X-Amz-Signature=" + "ab" * 32
    with caplog.at_level(logging.INFO, logger="lockr.access"):

        async def fetch() -> int:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_s3_app(core)), base_url="http://s3.test"
            ) as session:
                response = await session.get(f"/photos/a.jpg?{signature}")
                return response.status_code

        assert anyio.run(fetch) == 400  # the rest of a presigned query is missing
    lines = [record.getMessage() for record in caplog.records if record.name == "lockr.access"]
    assert len(lines) == 1 and lines[0].startswith("GET /photos/a.jpg 400 ")
    assert "ab" * 32 not in lines[0]


def test_loggable_escapes_control_characters_only() -> None:
    assert loggable("a\tb\r\nc\x7fé ☃") == "a\\x09b\\x0d\\x0ac\\x7fé ☃"
