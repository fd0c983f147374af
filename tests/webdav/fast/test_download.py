"""GET and HEAD on the fast path answer what wsgidav answers: whole files, ranges,
If-Range and the HTTP conditions, streamed over several blocks; folders are left to
wsgidav."""

from __future__ import annotations

import base64
import socket
from urllib.parse import quote

import pytest

from gateway.timefmt import http_date
from tests.conftest import PASSWORD
from tests.webdav.fast.conftest import BIG, FILES, MTIME, Twins, md5

A = "/alice/docs/a.txt"
TAG = f'"{md5(FILES["docs/a.txt"])}"'
CASES = [
    {},
    {"Range": "bytes=0-9"},
    {"Range": "bytes=5-"},
    {"Range": "bytes=-7"},
    {"Range": "bytes=1190-5000"},
    {"Range": "bytes=10-20, 0-3"},
    {"Range": "bytes=99999-"},
    {"Range": "bytes=9-2"},
    {"Range": "pages=1-2"},
    {"Range": "bytes=0-9", "If-Range": TAG},
    {"Range": "bytes=0-9", "If-Range": '"other"'},
    {"Range": "bytes=0-9", "If-Range": http_date(MTIME)},
    {"Range": "bytes=0-9", "If-Range": http_date(MTIME + 60)},
    {"If-None-Match": TAG},
    {"If-None-Match": '"other", W/' + TAG},
    {"If-None-Match": "*"},
    {"If-Match": '"other"'},
    {"If-Match": TAG},
    {"If-Modified-Since": http_date(MTIME)},
    {"If-Modified-Since": http_date(MTIME - 60)},
    {"If-Unmodified-Since": http_date(MTIME - 60)},
    {"If-Unmodified-Since": http_date(MTIME + 60), "If-None-Match": '"x"'},
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_files_ranges_and_conditions_as_wsgidav(twins: Twins, method: str) -> None:
    for headers in CASES:
        twins.same(method, A, headers=headers)
    for path in ("/alice/docs/empty", "/alice/big.bin", "/alice/" + quote("odd #?% name.txt")):
        twins.same(method, path)
        twins.same(method, path, headers={"Range": "bytes=3-"})
    twins.same(method, "/alice/nothing.txt")
    twins.same(method, "/alice/docs/nothing/deeper")


def test_a_large_file_streams_whole(twins: Twins) -> None:
    ours = twins.same("GET", "/alice/big.bin")
    assert ours.content == BIG
    ranged = twins.same("GET", "/alice/big.bin", headers={"Range": "bytes=1048570-2097160"})
    assert ranged.status_code == 206 and ranged.content == BIG[1048570:2097161]


@pytest.mark.parametrize("path", ["/", "/alice/", "/alice/docs", "/bob/a.txt"])
def test_folders_the_root_and_other_homes_go_to_wsgidav(twins: Twins, path: str) -> None:
    ours, theirs = twins.both("GET", path, fast_path=False)
    assert ours.status_code == theirs.status_code


def test_requests_with_a_body_or_a_depth_go_to_wsgidav(twins: Twins) -> None:
    ours, theirs = twins.both("GET", A, content=b"body?", fast_path=False)
    assert ours.status_code == theirs.status_code == 415
    ours, theirs = twins.both("GET", A, headers={"Depth": "1"}, fast_path=False)
    assert ours.status_code == theirs.status_code == 400


def raw_get(base_url: str, target: str) -> tuple[int, bytes]:
    """GET ``target`` exactly as written (clients would resolve its dot segments)."""
    host, port = base_url.removeprefix("http://").split(":")
    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {credentials}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        answer = b""
        while block := sock.recv(65536):
            answer += block
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_odd_paths_are_answered_alike(twins: Twins) -> None:
    for target in (
        "/alice/docs/../big.bin",
        "/alice/./docs/a.txt",
        "//alice//docs///a.txt",
        "/alice/docs/a.txt/",
        "/alice/../../etc/passwd",
        "/alice/%2e%2e/alice/big.bin",
    ):
        ours = raw_get(str(twins.fast.base_url), target)
        theirs = raw_get(str(twins.slow.base_url), target)
        assert ours == theirs, target
