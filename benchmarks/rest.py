"""REST upload and download of one large object through lockr's JSON API, in
alternating rounds against a peer (:mod:`benchmarks.rounds`), curl the client for every
case, streaming:

- uploads into the ``local`` region against a plain copy + fsync of the same file on
  the same disk (``benchmarks.engine``'s ``copy`` case): a direct upload
  (``POST /api/v1/upload``) and a resumable session (``POST /api/v1/upload/session``,
  then one ``PUT`` of the whole body to its upload URL); and the same two against the
  floor of :mod:`benchmarks.upfloor` (the least a server on lockr's stack does to
  take an upload hashed and durable). Target: at least 0.8x the floor's speed;
- the download (``GET`` of the file's download URL) against a GET from
  ``rclone serve webdav``;
- once, a chunked upload (no Content-Length) of twice the size, to show the server's
  memory stays flat.

    python -m benchmarks.rest     # LOCKR_BENCH_MIB sets the size (default 1024),
                                  # LOCKR_BENCH_ROUNDS the rounds (default 3)

Why the floor and not the copy: every upload is hashed as it arrives (MD5 is the
ETag of every front and what rclone checks; SHA-1 is in every listing), and MD5 runs
at about 550 MiB/s on one core of these machines, where a copy + fsync runs at
600-1,100 MiB/s. Measured on a shared two-core machine, 1 GiB, with curl sending:
uvicorn + starlette receiving alone (nothing stored) take 1.17 s; receiving and
writing + fsync on a thread, unhashed, 1.6-1.9 s; the floor (hashed too) 3.1-3.2 s,
about 0.35x of the copy. lockr's direct upload and session PUT run at 0.8-0.9x of
the floor (0.3-0.5x of the copy, depending on the disk's mood), with lockr's RSS
+15 MiB at most; the download at about 4x rclone serve webdav.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks.common import MiB, bench_size, curl, make_source, run_case, workspace
from benchmarks.rounds import Memory, Run, alternate, comparison, ratio, round_count, watched
from benchmarks.servers import Server, free_port, sign_up, start_lockr, start_rclone_webdav


def start_floor(folder: Path) -> Server:
    """:mod:`benchmarks.upfloor` on a free port, writing into ``folder``."""
    folder.mkdir()
    port = free_port()
    return Server(
        [sys.executable, "-m", "benchmarks.upfloor", str(port), str(folder)],
        f"http://127.0.0.1:{port}",
        "/healthz",
        dict(os.environ),
    )


def copy_run(source: Path, work: Path) -> Run:
    """The peer of the uploads: ``benchmarks.engine``'s copy + fsync, in its own process."""
    result = run_case("benchmarks.engine", "copy", str(source), str(work))
    memory = Memory("copy process", result["rss"], result["rss_growth"])
    return Run(result["seconds"], source.stat().st_size, (memory,))


class RestClient:
    """The ``bench`` account on a running lockr, uploading and downloading with curl."""

    def __init__(self, lockr: Server) -> None:
        self.lockr = lockr
        self.token = sign_up(lockr, "bench", "bench-password")

    @property
    def auth(self) -> str:
        return f"Authorization: Bearer {self.token}"

    def direct_upload(self, source: Path, name: str, *headers: str) -> float:
        """Seconds one ``POST /api/v1/upload`` of ``source`` as ``name`` takes."""
        extra = [arg for header in headers for arg in ("-H", header)]
        return curl(
            "-T",
            str(source),
            "-X",
            "POST",
            "-H",
            self.auth,
            "-H",
            f"x-file-name: {name}",
            *extra,
            self.lockr.url + "/api/v1/upload",
        )

    def session_upload(self, source: Path, name: str) -> float:
        """Seconds a session takes to be opened and sent ``source`` in one PUT."""
        started = time.perf_counter()
        response = httpx.post(
            self.lockr.url + "/api/v1/upload/session",
            json={"name": name, "size": source.stat().st_size},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        response.raise_for_status()
        curl("-T", str(source), response.json()["uploadUrl"])
        return time.perf_counter() - started

    def download_url(self, name: str) -> str:
        response = httpx.get(
            self.lockr.url + "/api/v1/files",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        response.raise_for_status()
        found = [item for item in response.json()["files"] if item["name"] == name]
        url: str = found[0]["downloadUrl"]
        return url

    def streamed_upload(self, size: int, name: str) -> float:
        """Seconds a chunked upload (no Content-Length) of ``size`` zero bytes takes."""
        started = time.perf_counter()
        subprocess.run(
            f"head -c {size} /dev/zero | curl -sS -f -o /dev/null -T - -X POST "
            f"-H '{self.auth}' -H 'x-file-name: {name}' {self.lockr.url}/api/v1/upload",
            shell=True,
            check=True,
        )
        return time.perf_counter() - started


def main() -> None:
    size = bench_size()
    rounds = round_count()
    with workspace() as work:
        source = make_source(work / "source.bin", size)
        lockr = start_lockr(work / "lockr")
        peer = start_rclone_webdav(work / "rclone")
        floor = start_floor(work / "floor")
        try:
            client = RestClient(lockr)
            on_lockr = {"lockr": lockr.pid}
            uploads = alternate(
                {
                    "copy": lambda _: copy_run(source, work),
                    "floor": lambda _: watched(
                        size,
                        {"floor": floor.pid},
                        lambda: curl("-T", str(source), "-X", "POST", floor.url + "/upload"),
                    ),
                    "direct": lambda n: watched(
                        size, on_lockr, lambda: client.direct_upload(source, f"direct-{n}.bin")
                    ),
                    "session": lambda n: watched(
                        size, on_lockr, lambda: client.session_upload(source, f"session-{n}.bin")
                    ),
                },
                rounds,
            )
            curl("-T", str(source), peer.url + "/big.bin")
            lockr_url = client.download_url("direct-0.bin")
            downloads = alternate(
                {
                    "rclone": lambda _: watched(
                        size, {"rclone serve webdav": peer.pid}, lambda: curl(peer.url + "/big.bin")
                    ),
                    "lockr": lambda _: watched(size, on_lockr, lambda: curl(lockr_url)),
                },
                rounds,
            )
            streamed = watched(
                2 * size, on_lockr, lambda: client.streamed_upload(2 * size, "streamed.bin")
            )
        finally:
            floor.stop()
            peer.stop()
            lockr.stop()

    copy = ("plain copy + fsync", uploads["copy"])
    target = "; target: lockr at >= 0.80x the copy's speed"
    comparison(
        f"Direct upload into the local region, {size // MiB} MiB (curl; RSS: lockr's, "
        "the copy's own)",
        copy,
        [
            ("lockr POST /api/v1/upload", uploads["direct"]),
            (f"  same, chunked, {2 * size // MiB} MiB, once", [streamed]),
        ],
        target=target,
    )
    comparison(
        f"Resumable session into the local region, {size // MiB} MiB, one PUT (curl)",
        copy,
        [("lockr POST session + PUT uploadUrl", uploads["session"])],
        target=target,
    )
    comparison(
        f"The same uploads against the floor of a Python server on lockr's stack that "
        f"receives, hashes (MD5, SHA-1) and writes + fsyncs on three threads, {size // MiB} MiB",
        ("floor (benchmarks.upfloor)", uploads["floor"]),
        [
            ("lockr POST /api/v1/upload", uploads["direct"]),
            ("lockr POST session + PUT uploadUrl", uploads["session"]),
        ],
        target="; target: lockr at >= 0.80x the floor's speed",
    )
    comparison(
        f"Download, {size // MiB} MiB (curl; RSS: the server's)",
        ("rclone serve webdav GET", downloads["rclone"]),
        [("lockr GET downloadUrl", downloads["lockr"])],
    )
    print(
        json.dumps(
            {
                "direct_upload_vs_copy": ratio(uploads["direct"], uploads["copy"]),
                "session_put_vs_copy": ratio(uploads["session"], uploads["copy"]),
                "floor_vs_copy": ratio(uploads["floor"], uploads["copy"]),
                "direct_upload_vs_floor": ratio(uploads["direct"], uploads["floor"]),
                "session_put_vs_floor": ratio(uploads["session"], uploads["floor"]),
                "get_vs_rclone_webdav": ratio(downloads["lockr"], downloads["rclone"]),
            }
        )
    )


if __name__ == "__main__":
    main()
