"""PUT on the fast path answers what wsgidav answers and leaves the same tree: new and
replaced files, X-OC-Mtime, OC-Checksum, chunked, empty and large bodies, and every
refusal."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import time

from tests.conftest import PASSWORD
from tests.webdav.fast.conftest import Twins, md5
from webdav.fast.upload import SMALL_BODY

MiB = 1024 * 1024
BODY = b"payload " * 500
SHA1 = hashlib.sha1(BODY).hexdigest()


def chunks(body: bytes, size: int = 70_000) -> list[bytes]:
    """``body`` in pieces: sent chunked (a list, so that both fronts get it)."""
    return [body[start : start + size] for start in range(0, len(body), size)]


def test_writes_answer_and_store_as_wsgidav(twins: Twins) -> None:
    large = os.urandom(SMALL_BODY * 3 + 17)
    cases: list[tuple[str, dict[str, object]]] = [
        ("/alice/new.txt", {"content": BODY}),
        ("/alice/new.txt", {"content": BODY + b"again"}),  # replaced: 204
        ("/alice/docs/a.txt", {"content": b"x", "headers": {"Content-Type": "text/x-mine"}}),
        ("/alice/mtime.txt", {"content": BODY, "headers": {"X-OC-Mtime": "1234567890.75"}}),
        ("/alice/negative.txt", {"content": BODY, "headers": {"X-OC-Mtime": "-86400"}}),
        ("/alice/sum.txt", {"content": BODY, "headers": {"OC-Checksum": f"SHA1:{SHA1}"}}),
        ("/alice/sums.txt", {"content": BODY, "headers": {"OC-Checksum": f"MD5:{md5(BODY)}"}}),
        ("/alice/empty.txt", {"content": b""}),
        ("/alice/chunked.bin", {"content": chunks(BODY * 3)}),
        ("/alice/large.bin", {"content": large}),
        ("/alice/large-chunked.bin", {"content": chunks(large, 300_000)}),
        ("/alice/odd%20%23%3F%25.txt", {"content": BODY}),
        ("/alice/docs/sub/deep.txt", {"content": large, "headers": {"X-OC-Mtime": "1000"}}),
    ]
    for path, request in cases:
        twins.same("PUT", path, **request)
    assert twins.trees()[0] == twins.trees()[1]
    assert twins.fast.get("/alice/large.bin").content == large


def test_refusals_answer_and_store_as_wsgidav(twins: Twins) -> None:
    too_big = os.urandom(11 * 1024 * 1024)  # over the 10 MiB quota
    cases: list[tuple[str, dict[str, object]]] = [
        ("/alice/bad.txt", {"content": BODY, "headers": {"OC-Checksum": "MD5:" + "0" * 32}}),
        ("/alice/bad-sha.txt", {"content": BODY, "headers": {"OC-Checksum": "SHA1:" + "1" * 40}}),
        (
            "/alice/bad-large.txt",
            {"content": too_big[:600_000], "headers": {"OC-Checksum": "MD5:0"}},
        ),
        ("/alice/when.txt", {"content": BODY, "headers": {"X-OC-Mtime": "yesterday"}}),
        ("/alice/when.txt", {"content": BODY, "headers": {"X-OC-Mtime": "1e300"}}),
        ("/alice/missing/new.txt", {"content": BODY}),
        ("/alice/missing/new.txt", {"content": too_big[:600_000]}),
        ("/alice/docs/a.txt/under-a-file", {"content": BODY}),
        ("/alice/docs", {"content": BODY}),
        ("/alice/docs/sub", {"content": too_big[:600_000]}),
        ("/alice/bell%07.txt", {"content": BODY}),
        ("/alice/" + "/".join(["d"] * 64) + "/f.txt", {"content": BODY}),
        ("/alice/full.bin", {"content": too_big}),
        ("/alice/full-chunked.bin", {"content": chunks(too_big, 1 << 20)}),
    ]
    before = twins.trees()
    for path, request in cases:
        twins.same("PUT", path, **request)
    assert twins.trees() == before
    assert before[0] == before[1]


def test_unusual_puts_go_to_wsgidav(twins: Twins) -> None:
    for headers in (
        {"If-Match": '"nope"'},
        {"If-None-Match": "*"},
        {"Content-Range": "bytes 0-3/4"},
        {"Content-Encoding": "gzip"},
    ):
        ours, theirs = twins.both(
            "PUT", "/alice/docs/a.txt", content=b"abcd", headers=headers, fast_path=False
        )
        assert ours.status_code == theirs.status_code >= 400, headers
    for path in ("/", "/alice/", "/bob/x.txt"):
        ours, theirs = twins.both("PUT", path, content=b"x", fast_path=False)
        assert ours.status_code == theirs.status_code, path


def test_a_client_gone_before_the_end_leaves_nothing(twins: Twins) -> None:
    """A body cut short, small (read before the job) or large (pumped), stores
    nothing and holds no quota."""
    core = twins.cores[0]
    alice = core.accounts.find("alice").id
    before = twins.trees()[0], core.storage.usage(alice)
    host, port = str(twins.fast.base_url).removeprefix("http://").split(":")
    credentials = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    chunk = b"%x\r\n%s\r\n" % (MiB, b"c" * MiB)
    for name, framing, sent in (
        ("small", "Content-Length: 4096", b"c" * 100),
        ("large", f"Content-Length: {10 * MiB}", b"c" * 3 * MiB),
        ("chunked", "Transfer-Encoding: chunked", chunk * 3),  # no last chunk: cut short
    ):
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(
                f"PUT /alice/{name}.bin HTTP/1.1\r\nHost: {host}\r\n{framing}\r\n"
                f"Authorization: Basic {credentials}\r\n\r\n".encode()
            )
            sock.sendall(sent)
            time.sleep(0.3)
    deadline = time.monotonic() + 10
    while (twins.trees()[0], core.storage.usage(alice)) != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (twins.trees()[0], core.storage.usage(alice)) == before
    assert twins.fast.put("/alice/after.txt", content=b"still fine").status_code == 201
