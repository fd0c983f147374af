"""The WebDAV front's request pipeline over real HTTP: credentials a browser remembers
(Basic) cannot change anything from another site, while tools, tokens and lockr's own
origins are unaffected; every request is logged once; XML bodies over the limit are
refused before they are read."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest

from gateway.core import Core
from tests.conftest import PASSWORD, LockrProcess, serving
from tests.webdav.conftest import DavUser
from webdav.app import MAX_XML_BODY, create_dav_app

CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
]


@pytest.mark.parametrize("browser", CROSS_SITE)
def test_cross_site_basic_writes_are_refused(dav_user: DavUser, browser: dict[str, str]) -> None:
    home = f"/{dav_user.name}"
    assert dav_user.request("PUT", f"{home}/keep.txt", content=b"keep").status_code == 201
    for method, path, headers in [
        ("PUT", f"{home}/new.txt", {}),
        ("PUT", f"{home}/keep.txt", {}),
        ("DELETE", f"{home}/keep.txt", {}),
        ("MKCOL", f"{home}/folder", {}),
        ("MOVE", f"{home}/keep.txt", {"Destination": f"{dav_user.dav}{home}/moved.txt"}),
        ("POST", f"{home}/keep.txt", {}),
    ]:
        refused = dav_user.request(method, path, content=b"x", headers={**headers, **browser})
        assert refused.status_code == 403, (method, refused.text)
        assert "cross-site" in refused.text and "Bearer" in refused.text
    assert dav_user.request("GET", f"{home}/keep.txt").content == b"keep"
    for gone in ("new.txt", "folder", "moved.txt"):
        assert dav_user.request("GET", f"{home}/{gone}").status_code == 404


def test_reads_tools_tokens_and_own_origins_are_not_refused(
    dav_user: DavUser, server: LockrProcess
) -> None:
    home = f"/{dav_user.name}"
    evil = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
    assert dav_user.request("PUT", f"{home}/a.txt", content=b"a").status_code == 201
    assert dav_user.request("GET", f"{home}/a.txt", headers=evil).content == b"a"
    listing = dav_user.request("PROPFIND", f"{home}/", headers={"Depth": "1", **evil})
    assert listing.status_code == 207
    token = {"Authorization": f"Bearer {dav_user.token}"}
    by_token = httpx.put(f"{dav_user.dav}{home}/b.txt", content=b"b", headers={**token, **evil})
    assert by_token.status_code == 201
    for origin in (dav_user.dav, server.url):  # the WebDAV listener's origin, public_url's
        own = {"Origin": origin}
        assert dav_user.request("PUT", f"{home}/a.txt", content=b"v2", headers=own).is_success
    same = {"Sec-Fetch-Site": "same-origin", "Origin": dav_user.dav}
    assert dav_user.request("DELETE", f"{home}/b.txt", headers=same).status_code == 204


def test_every_request_gets_an_access_log_line(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    """One line per request, whichever path answers it (the fast path or wsgidav), and
    a path cannot forge a line."""
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    with (
        caplog.at_level(logging.INFO, logger="lockr.access"),
        serving(create_dav_app(core)) as url,
        httpx.Client(base_url=url, auth=("alice", PASSWORD)) as client,
    ):
        assert client.put("/alice/a.txt", content=b"a").status_code == 201  # fast
        assert client.request("PROPPATCH", "/alice/a.txt", content=b"<x/>").status_code == 400
        assert client.get("/alice/x%0Aforged").status_code == 404
        assert httpx.get(url + "/alice/a.txt").status_code == 401
    lines = [record.getMessage() for record in caplog.records if record.name == "lockr.access"]
    # A line is written once the answer is sent: not always in the order they came.
    assert sorted(line.split(" ")[:3] for line in lines) == [
        ["GET", "/alice/a.txt", "401"],
        ["GET", "/alice/x\\x0aforged", "404"],
        ["PROPPATCH", "/alice/a.txt", "400"],
        ["PUT", "/alice/a.txt", "201"],
    ]
    assert not any(PASSWORD in line for line in lines)


def test_xml_bodies_over_the_limit_are_refused_before_reading(core: Core) -> None:
    """Refused on the request's head alone, before credentials are asked for: the
    server answers though no byte of the body was sent."""
    with serving(create_dav_app(core)) as url:
        host, port = url.removeprefix("http://").split(":")
        for method in ("PROPFIND", "PROPPATCH", "LOCK"):
            with socket.create_connection((host, int(port)), timeout=30) as sock:
                sock.sendall(
                    f"{method} /alice/ HTTP/1.1\r\nHost: {host}\r\n"
                    f"Content-Length: {MAX_XML_BODY + 1}\r\n\r\n".encode()
                )
                answer = sock.recv(65536)
            assert answer.startswith(b"HTTP/1.1 413 "), method
            assert b"connection: close" in answer.lower()
