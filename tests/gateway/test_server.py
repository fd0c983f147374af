"""``lockr serve`` as a real process: start-up, the data folder, request logs without
secrets, and a clean stop on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import signal
import socket
import stat
import threading
import time
from pathlib import Path

import httpx
import pytest

from gateway.allocator import MMAP_THRESHOLD, TRIM_THRESHOLD, glibc
from gateway.config import SETTINGS
from tests.conftest import PASSWORD, GatedUpload, LockrProcess, in_parallel


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_starts_logs_and_stops_cleanly(tmp_path: Path, sig: int) -> None:
    server = LockrProcess(tmp_path / "data").start()
    try:
        assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
        created = httpx.post(
            server.url + "/api/v1/accounts",
            json={"username": "alice", "email": "alice@example.com", "password": PASSWORD},
        )
        token = created.json()["token"]
        httpx.get(
            server.url + "/api/v1/account?keyHash=deadbeefcafe",
            headers={"Authorization": f"Bearer {token}"},
        )
        httpx.get(server.url + "/api/v1/account", auth=("alice", PASSWORD))
    finally:
        code = server.stop(sig)
    assert code == 0
    log = server.output()
    assert "lockr is running" in log and server.url in log
    assert "POST /api/v1/accounts 201" in log
    assert "GET /api/v1/account 200" in log
    for secret in (PASSWORD, token, "deadbeefcafe", token[3:20]):
        assert secret not in log
    assert "lockr stopped" in log
    data = tmp_path / "data"
    assert (data / "lockr.db").exists() and (data / "blobs" / "local").is_dir()
    assert stat.S_IMODE((data / "secret.key").stat().st_mode) == 0o600


def test_restart_keeps_accounts_and_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = LockrProcess(data).start()
    httpx.post(
        first.url + "/api/v1/accounts",
        json={"username": "alice", "email": "alice@example.com", "password": PASSWORD},
    )
    secret = (data / "secret.key").read_bytes()
    first.stop()
    second = LockrProcess(data).start()
    try:
        response = httpx.post(
            second.url + "/api/v1/login", json={"identifier": "alice", "password": PASSWORD}
        )
        assert response.status_code == 200
        assert (data / "secret.key").read_bytes() == secret
        assert "no accounts yet" not in second.output()
    finally:
        second.stop()


@pytest.mark.skipif(glibc() is None, reason="glibc's malloc only")
def test_serve_sets_glibc_malloc_unless_the_environment_does(tmp_path: Path) -> None:
    """``lockr serve`` sets malloc's thresholds at start (:mod:`gateway.allocator`) and
    says so at debug level; a ``MALLOC_*`` setting of the operator's is left alone."""
    if any(name.startswith("MALLOC_") for name in os.environ):
        pytest.skip("the environment sets malloc already")
    said = f"malloc: mmap threshold {MMAP_THRESHOLD}, trim threshold {TRIM_THRESHOLD} bytes"
    debug = {"LOCKR_LOG_LEVEL": "debug"}
    tuned = LockrProcess(tmp_path / "tuned", env=debug).start()
    assert tuned.stop() == 0
    assert said in tuned.output()
    left = LockrProcess(tmp_path / "left", env=debug | {"MALLOC_TRIM_THRESHOLD_": "131072"})
    left.start()
    assert left.stop() == 0
    assert "lockr is running" in left.output() and "malloc:" not in left.output()


def test_port_in_use_fails_with_a_message(tmp_path: Path) -> None:
    first = LockrProcess(tmp_path / "one").start()
    try:
        second = LockrProcess(tmp_path / "two")
        second.http_port = first.http_port
        with pytest.raises(RuntimeError, match="exited early"):
            second.start()
        assert "address already in use" in second.output().lower()
    finally:
        first.stop()


def test_s3_port_in_use_fails_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = LockrProcess(tmp_path / "data")
        server.s3_port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="exited early"):
            server.start()
    assert "cannot listen for S3" in server.output()


def test_sigterm_lets_an_upload_in_flight_finish(tmp_path: Path) -> None:
    server = LockrProcess(tmp_path / "data").start()
    token = httpx.post(
        server.url + "/api/v1/accounts",
        json={"username": "alice", "email": "alice@example.com", "password": PASSWORD},
    ).json()["token"]
    gate = threading.Event()
    upload = GatedUpload(server, token, gate)
    upload.start()
    time.sleep(0.5)
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    gate.set()
    upload.join(30)
    assert upload.response is not None and upload.response.status_code == 201
    assert server.process.wait(30) == 0
    restarted = LockrProcess(tmp_path / "data").start()
    try:
        files = httpx.get(
            restarted.url + "/api/v1/files", headers={"Authorization": f"Bearer {token}"}
        ).json()["files"]
        assert [(f["name"], f["size"]) for f in files] == [("inflight.bin", 2_000_000)]
    finally:
        restarted.stop()


def test_sigterm_with_an_abandoned_upload_leaves_nothing(tmp_path: Path) -> None:
    server = LockrProcess(tmp_path / "data").start()
    token = httpx.post(
        server.url + "/api/v1/accounts",
        json={"username": "alice", "email": "alice@example.com", "password": PASSWORD},
    ).json()["token"]
    with socket.create_connection(("127.0.0.1", server.http_port)) as sock:
        sock.sendall(
            b"POST /api/v1/upload HTTP/1.1\r\nHost: x\r\nx-file-name: half.bin\r\n"
            + f"Authorization: Bearer {token}\r\n".encode()
            + b"Content-Length: 4000000\r\n\r\n"
            + b"h" * 2_000_000
        )
        time.sleep(0.5)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
    assert server.process.wait(30) == 0
    restarted = LockrProcess(tmp_path / "data").start()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(restarted.url + "/api/v1/files", headers=headers).json()["files"] == []
        account = httpx.get(restarted.url + "/api/v1/account", headers=headers).json()
        assert account["account"]["usedBytes"] == 0
        assert list((tmp_path / "data" / "blobs" / "local" / "tmp").iterdir()) == []
    finally:
        restarted.stop()


@pytest.mark.parametrize("trust_proxy", ["false", "true"])
def test_burst_limit_answers_429(tmp_path: Path, trust_proxy: str) -> None:
    """Per address, whatever X-Forwarded-For claims: ignored unless lockr is told it
    sits behind a proxy, and then only the hop that proxy appended counts."""
    server = LockrProcess(
        tmp_path / "data",
        env={
            "LOCKR_RATE_LIMIT_PER_ADDRESS": "5",
            # Windows are fixed (they start at multiples of their length): a day-long
            # one makes the seven requests straddling two windows all but impossible.
            "LOCKR_RATE_LIMIT_WINDOW": "86400",
            "LOCKR_TRUST_PROXY_HEADERS": trust_proxy,
        },
    ).start()
    try:
        codes = [
            httpx.get(
                server.url + "/api/v1/download/local_aaaaaaaaaaaaaaaaaaaa",
                headers={"X-Forwarded-For": f"10.9.9.{attempt}, 192.0.2.7"},
            ).status_code
            for attempt in range(7)
        ]
        assert codes[:5] == [404] * 5
        assert codes[5] == 429
        limited = httpx.get(
            server.url + "/api/v1/download/local_aaaaaaaaaaaaaaaaaaaa",
            headers={"X-Forwarded-For": "10.9.9.99, 192.0.2.7"},
        )
        assert 0 < int(limited.headers["retry-after"]) <= 86400
    finally:
        server.stop()


def _peak_rss(pid: int) -> int:
    """The highest resident memory the process has had (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.mark.slow
def test_parallel_wrong_passwords_keep_memory_bounded(tmp_path: Path) -> None:
    """A hundred wrong passwords at once, at the default argon2 cost (64 MiB per
    verification), through the login endpoint and WebDAV Basic, each from its own
    address and name so that no throttle stops them first: the server's memory stays
    bounded, and every answer is 401, or 429/503 with Retry-After."""
    defaults = ("argon2_time_cost", "argon2_memory_cost", "argon2_parallelism")
    server = LockrProcess(
        tmp_path / "data",
        env={
            **{f"LOCKR_{name.upper()}": str(SETTINGS[name].default) for name in defaults},
            "LOCKR_TRUST_PROXY_HEADERS": "true",
        },
    ).start()
    dav = f"http://127.0.0.1:{server.dav_port}/"

    def guess(index: int) -> httpx.Response:
        name, address = f"nobody{index}", {"X-Forwarded-For": f"10.77.{index}.1"}
        if index % 2:
            return httpx.request("PROPFIND", dav, auth=(name, "wrong"), headers=address, timeout=60)
        body = {"identifier": name, "password": "wrong password"}
        return httpx.post(server.url + "/api/v1/login", json=body, headers=address, timeout=60)

    try:
        assert server.process is not None
        responses = in_parallel(guess, range(100))
        peak = _peak_rss(server.process.pid)
    finally:
        server.stop()
    statuses = [getattr(response, "status_code", response) for response in responses]
    assert set(statuses) <= {401, 429, 503}, statuses
    for response in responses:
        assert isinstance(response, httpx.Response)
        if response.status_code in (429, 503):
            assert int(response.headers["retry-after"]) > 0
    assert peak < 600 * 2**20
