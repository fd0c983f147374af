"""wsgidav behind the ASGI front (through a2wsgi) streams bodies both ways: a large
PUT and GET answered by wsgidav hold no body whole in the server's memory."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import LockrProcess
from tests.webdav.conftest import DavUser

MiB = 1024 * 1024
SIZE = 256 * MiB
COLOR = (
    '<D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:x"><D:set><D:prop>'
    "<x:color>red</x:color></D:prop></D:set></D:propertyupdate>"
)


def memory(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(field)


def body(block: bytes) -> Iterator[bytes]:
    for _ in range(SIZE // len(block)):
        yield block


def test_large_bodies_stream_through_wsgidav(dav_user: DavUser, server: LockrProcess) -> None:
    home = f"/{dav_user.name}"
    # A dead property in the home: every request of it goes to wsgidav.
    assert dav_user.request("PROPPATCH", f"{home}/", content=COLOR).status_code == 207
    assert server.process is not None
    pid = server.process.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from here
    before = memory(pid, "VmRSS")
    block = os.urandom(MiB)
    put = dav_user.request("PUT", f"{home}/big.bin", content=body(block), timeout=300)
    assert put.status_code == 201
    assert put.headers["content-type"].startswith("text/html")  # wsgidav's page: not the fast path
    digest = hashlib.md5()
    with httpx.stream(
        "GET", f"{dav_user.dav}{home}/big.bin", auth=dav_user.client.auth, timeout=300
    ) as got:
        assert got.status_code == 200
        for chunk in got.iter_bytes():
            digest.update(chunk)
    expected = hashlib.md5()
    for piece in body(block):
        expected.update(piece)
    assert digest.hexdigest() == expected.hexdigest()
    assert memory(pid, "VmHWM") - before < 64 * MiB
