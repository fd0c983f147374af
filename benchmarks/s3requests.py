"""What one small S3 request costs lockr: the server's CPU seconds (user and system,
from ``/proc``) per 1,000 PutObjects of 4 KiB (16 keep-alive connections) and per
1,000 HeadObjects of them (8 connections, as rclone's checkers), in rounds. The
requests are signed before the clock starts, so the client's signing is not counted;
the client shares the machine, so read the CPU, not the wall time.

    python -m benchmarks.s3requests        # LOCKR_BENCH_ROUNDS rounds (default 3)
"""

from __future__ import annotations

import hashlib
import http.client
import os
import statistics
import threading
from collections.abc import Sequence

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from benchmarks.common import workspace
from benchmarks.s3front import lockr_target
from benchmarks.servers import Server, start_lockr
from benchmarks.webdav import cpu_seconds

COUNT = 1000
BODY = os.urandom(4096)

Request = tuple[str, str, bytes, dict[str, str]]


def _signed(credentials: Credentials, host: str, method: str, path: str, body: bytes) -> Request:
    headers = {"x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    if method == "PUT":
        headers["x-amz-meta-mtime"] = "1700000000.5"
    request = AWSRequest(method=method, url=f"http://{host}{path}", data=body, headers=headers)
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    return method, path, body, dict(request.headers.items())


def _send(host: str, requests: Sequence[Request], failures: list[str]) -> None:
    connection = http.client.HTTPConnection(host, timeout=60)
    for method, path, body, headers in requests:
        connection.request(method, path, body=body or None, headers=headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            failures.append(f"{method} {path}: {answer.status}")
    connection.close()


def _server_cpu(lockr: Server, host: str, requests: list[Request], connections: int) -> float:
    """The server's CPU seconds for ``requests``, sent over ``connections`` at once."""
    failures: list[str] = []
    threads = [
        threading.Thread(target=_send, args=(host, requests[index::connections], failures))
        for index in range(connections)
    ]
    used = cpu_seconds(lockr.pid)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, first: {failures[0]}")
    return cpu_seconds(lockr.pid) - used


def main() -> None:
    rounds = int(os.environ.get("LOCKR_BENCH_ROUNDS", "3"))
    puts: list[float] = []
    heads: list[float] = []
    with workspace() as work:
        lockr = start_lockr(work / "lockr")
        try:
            target = lockr_target(lockr)
            credentials = Credentials(target.key_id, target.secret)
            host = f"127.0.0.1:{lockr.s3_port}"
            _server_cpu(lockr, host, [_signed(credentials, host, "PUT", "/requests", b"")], 1)
            for number in range(rounds):
                paths = [f"/requests/{number}/{index % 10}/{index}.bin" for index in range(COUNT)]
                put = [_signed(credentials, host, "PUT", path, BODY) for path in paths]
                head = [_signed(credentials, host, "HEAD", path, b"") for path in paths]
                puts.append(_server_cpu(lockr, host, put, 16))
                heads.append(_server_cpu(lockr, host, head, 8))
        finally:
            lockr.stop()
    print(f"S3: lockr's CPU seconds per {COUNT:,} requests, {rounds} rounds (median, range)")
    for name, seconds in (("PutObject, 4 KiB", puts), ("HeadObject", heads)):
        low, high = min(seconds), max(seconds)
        print(f"{name:<20} {statistics.median(seconds):6.2f}   {low:.2f}-{high:.2f}")


if __name__ == "__main__":
    main()
