"""One real ``lockr serve`` per module, with WebDAV, and an account on it; the WebDAV
front of an in-process core served by a real uvicorn in a thread."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from gateway.listeners import BoundedHttpToolsProtocol
from tests.conftest import PASSWORD, LockrProcess, free_port, rclone, signup


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve the ASGI ``app`` on a free loopback port as ``lockr serve`` does (uvicorn,
    httptools with bounded heads) until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            http=BoundedHttpToolsProtocol,
        )
    )
    thread = threading.Thread(target=server.run, name="dav-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    process = LockrProcess(
        tmp_path_factory.mktemp("dav") / "data",
        env={"LOCKR_RATE_LIMIT_PER_ADDRESS": "100000", "LOCKR_RATE_LIMIT_PER_ACCOUNT": "100000"},
    ).start()
    yield process
    process.stop()


class DavUser:
    def __init__(self, server: LockrProcess, name: str) -> None:
        self.name = name
        self.token = signup(server, name)
        self.server = server
        self.dav = f"http://127.0.0.1:{server.dav_port}"
        self.client = httpx.Client(auth=(name, PASSWORD), timeout=60)
        self._obscured: str | None = None

    def account(self) -> dict[str, int]:
        """The account as the REST API reports it (quotaBytes, usedBytes, ...)."""
        response = httpx.get(
            f"{self.server.url}/api/v1/account", headers={"Authorization": f"Bearer {self.token}"}
        )
        assert response.status_code == 200
        account: dict[str, int] = response.json()["account"]
        return account

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return self.client.request(method, self.dav + path, **kwargs)  # type: ignore[arg-type]

    def remote(self) -> str:
        """An inline rclone remote for this account (vendor owncloud, obscured password).
        Obscuring is randomised, so it is done once: the same remote string each time
        lets rclone see one backend and copy or move server-side."""
        if self._obscured is None:
            self._obscured = subprocess.run(
                [rclone(), "obscure", PASSWORD], capture_output=True, text=True, check=True
            ).stdout.strip()
        obscured = self._obscured
        return f":webdav,url='{self.dav}',vendor=owncloud,user={self.name},pass={obscured}:"


_names = iter(range(1_000_000))


@pytest.fixture
def dav_user(server: LockrProcess) -> Iterator[DavUser]:
    user = DavUser(server, f"dav{next(_names)}")
    yield user
    user.client.close()
