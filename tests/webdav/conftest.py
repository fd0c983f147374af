"""One real ``lockr serve`` per module, with WebDAV, and accounts on it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import (
    GENEROUS_LIMITS,
    PASSWORD,
    LockrProcess,
    rclone,
    running_lockr,
    signup,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    with running_lockr(tmp_path_factory, "dav", GENEROUS_LIMITS) as process:
        yield process


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
