"""REST upload and download of one large object through lockr's JSON API, next to a
plain file copy on the same disk and to ``rclone serve webdav`` (PUT and GET), in the
same run, plus a chunked upload of twice the size to show the server's memory stays
flat (the growth column). curl is the client for every case, streaming.

    python -m benchmarks.rest        # LOCKR_BENCH_MIB sets the size (default 1024)
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import MiB, bench_size, curl, make_source, rss_mib, run_case, table
from benchmarks.servers import start_lockr, start_rclone_webdav


def _result(seconds: float, size: int, pid: int, before: float) -> dict[str, float]:
    peak = rss_mib(pid)
    return {
        "seconds": seconds,
        "mib_s": size / MiB / seconds,
        "rss": peak,
        "rss_growth": peak - before,
    }


def main() -> None:
    size = bench_size()
    with tempfile.TemporaryDirectory(prefix="lockr-bench-", dir=os.environ.get("TMPDIR")) as tmp:
        work = Path(tmp)
        source = make_source(work / "source.bin", size)
        copy = run_case("benchmarks.engine", "copy", str(source), str(work))

        lockr = start_lockr(work / "lockr")
        try:
            signup = httpx.post(
                lockr.url + "/api/v1/accounts",
                json={
                    "username": "bench",
                    "email": "bench@example.com",
                    "password": "bench-password",
                },
            )
            auth = f"Authorization: Bearer {signup.json()['token']}"
            before = rss_mib(lockr.pid)
            seconds = curl(
                "-T",
                str(source),
                "-X",
                "POST",
                "-H",
                auth,
                "-H",
                "x-file-name: big.bin",
                lockr.url + "/api/v1/upload",
            )
            put = _result(seconds, size, lockr.pid, before)
            files = httpx.get(
                lockr.url + "/api/v1/files", headers={"Authorization": auth.split(": ", 1)[1]}
            ).json()["files"]
            seconds = curl(files[0]["downloadUrl"])
            get = _result(seconds, size, lockr.pid, before)
            session = httpx.post(
                lockr.url + "/api/v1/upload/session",
                json={"name": "session.bin", "size": size},
                headers={"Authorization": auth.split(": ", 1)[1]},
            ).json()
            seconds = curl("-T", str(source), session["uploadUrl"])
            session_put = _result(seconds, size, lockr.pid, before)
            streamed = 2 * size
            started = time.perf_counter()
            subprocess.run(
                f"head -c {streamed} /dev/zero | curl -sS -f -o /dev/null -T - -X POST "
                f"-H '{auth}' -H 'x-file-name: streamed.bin' {lockr.url}/api/v1/upload",
                shell=True,
                check=True,
            )
            chunked = _result(time.perf_counter() - started, streamed, lockr.pid, before)
        finally:
            lockr.stop()

        rclone = start_rclone_webdav(work / "rclone")
        try:
            before = rss_mib(rclone.pid)
            seconds = curl("-T", str(source), rclone.url + "/big.bin")
            rclone_put = _result(seconds, size, rclone.pid, before)
            seconds = curl(rclone.url + "/big.bin")
            rclone_get = _result(seconds, size, rclone.pid, before)
        finally:
            rclone.stop()

    table(
        f"REST API vs plain copy vs rclone serve webdav, one {size // MiB} MiB object "
        "(curl client; RSS is the server's)",
        [
            ("plain copy + fsync", copy, ""),
            ("rclone serve webdav PUT", rclone_put, "plain copy + fsync"),
            ("lockr POST /api/v1/upload", put, "rclone serve webdav PUT"),
            ("lockr PUT upload session", session_put, "rclone serve webdav PUT"),
            (f"lockr chunked upload, {2 * size // MiB} MiB", chunked, ""),
            ("rclone serve webdav GET", rclone_get, ""),
            ("lockr GET /api/v1/download", get, "rclone serve webdav GET"),
        ],
    )
    print(
        json.dumps(
            {
                "lockr_put_vs_rclone": put["seconds"] / rclone_put["seconds"],
                "lockr_get_vs_rclone": get["seconds"] / rclone_get["seconds"],
            }
        )
    )


if __name__ == "__main__":
    main()
