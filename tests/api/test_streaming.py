"""No body is held in memory: the server's peak RSS stays flat while a 2 GiB upload
streams in and back out (measured in `make bench`; asserted loosely here)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.api.conftest import User
from tests.conftest import LockrProcess

MiB = 1024 * 1024
SIZE = 2048 * MiB


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_large_upload_and_download_keep_memory_flat(tmp_path: Path) -> None:
    server = LockrProcess(tmp_path / "data").start()
    try:
        assert server.process is not None
        user = User(server, "streamer")
        user.upload("warm-up", b"w" * MiB)
        httpx.get(server.url + "/api/v1/files", headers=user.headers)
        baseline = peak_rss_mib(server.process.pid)
        block = bytes(range(256)) * 4096
        digest = hashlib.md5()

        def body() -> Iterator[bytes]:
            for _ in range(SIZE // len(block)):
                digest.update(block)
                yield block

        uploaded = httpx.post(
            server.url + "/api/v1/upload",
            content=body(),
            headers={**user.headers, "x-file-name": "big.bin"},
            timeout=300,
        )
        assert uploaded.status_code == 201 and uploaded.json()["md5"] == digest.hexdigest()
        check = hashlib.md5()
        with httpx.stream("GET", uploaded.json()["downloadUrl"], timeout=300) as response:
            for chunk in response.iter_bytes():
                check.update(chunk)
        assert check.hexdigest() == digest.hexdigest()
        growth = peak_rss_mib(server.process.pid) - baseline
        assert growth < 64, f"server RSS grew by {growth:.0f} MiB moving 2 GiB each way"
    finally:
        server.stop()
