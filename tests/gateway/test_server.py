"""``lockr serve`` as a real process: start-up, the data folder, request logs without
secrets, and a clean stop on SIGTERM and SIGINT."""

from __future__ import annotations

import signal
import stat
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, LockrProcess


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
