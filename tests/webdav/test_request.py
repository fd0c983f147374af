"""The request view both WebDAV paths share: the path inside the caller's home, the
ownCloud headers, and a COPY or MOVE destination."""

from __future__ import annotations

import pytest

from gateway.errors import BadRequest
from webdav.request import (
    DavRequest,
    destination_path,
    home_path,
    parse_checksums,
    parse_mtime,
)


def test_headers_are_read_once_by_lowercase_name() -> None:
    scope = {
        "method": "PUT",
        "headers": [(b"x-oc-mtime", b"12"), (b"accept", b"a"), (b"accept", b"b")],
    }
    request = DavRequest(scope, "//alice/docs//a.txt/")
    assert request.headers == {"x-oc-mtime": "12", "accept": "a,b"}
    assert request.normal_path == "/alice/docs/a.txt/"
    assert DavRequest(scope, "/").normal_path == "/"


@pytest.mark.parametrize(
    ("path", "inner"),
    [
        ("/alice", ""),
        ("/alice/", ""),
        ("//alice//docs/a.txt", "docs/a.txt"),
        ("/", None),
        ("/bob/docs", None),
        ("/alicex/docs", None),
    ],
)
def test_home_path(path: str, inner: str | None) -> None:
    assert home_path("alice", path) == inner


def test_owncloud_headers() -> None:
    assert parse_mtime(None) is None
    assert parse_mtime("1234567890.75") == 1234567890.75
    assert parse_mtime("-86400") == -86400
    for bad in ("soon", "nan", "1e300", ""):
        with pytest.raises(BadRequest):
            parse_mtime(bad)
    assert parse_checksums(None) == {}
    assert parse_checksums("SHA1:AB md5:CD Adler32:1 MD5:") == {"sha1": "ab", "md5": "cd"}


def test_destinations_are_parsed_before_they_are_decoded() -> None:
    hosts = ("dav.example:8081", "")
    parse = destination_path
    assert parse("http://dav.example:8081/alice/q%3F%23.txt", hosts=hosts, mount="") == (
        "/alice/q?#.txt"
    )
    assert parse("/alice/a%20b", hosts=hosts, mount="") == "/alice/a b"
    assert parse("http://DAV.example:8081/dav/alice/x", hosts=hosts, mount="/dav") == "/alice/x"
    assert parse("http://elsewhere/alice/x", hosts=hosts, mount="") is None
