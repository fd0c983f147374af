"""One real ``lockr serve`` per test module (uvicorn on a free port)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import GENEROUS_LIMITS, LockrProcess, running_lockr, signup


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    settings = {
        "LOCKR_LOGIN_MAX_FAILURES": "3",
        "LOCKR_DEFAULT_QUOTA": "1GiB",
        "LOCKR_TRUST_PROXY_HEADERS": "true",
    }
    with running_lockr(tmp_path_factory, "server", GENEROUS_LIMITS | settings) as process:
        yield process


_addresses = iter(range(1_000_000))


class User:
    """An account on a test server, with its token."""

    def __init__(self, server: LockrProcess, name: str) -> None:
        self.server = server
        self.name = name
        number = next(_addresses)
        self.token = signup(server, name, address=f"10.77.{number // 250}.{number % 250 + 1}")
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def upload(self, name: str, data: bytes, **headers: str) -> httpx.Response:
        return httpx.post(
            self.server.url + "/api/v1/upload",
            content=data,
            headers={**self.headers, "x-file-name": name, **headers},
        )


_counter = iter(range(1_000_000))


@pytest.fixture
def user(server: LockrProcess) -> User:
    return User(server, f"user{next(_counter)}")


@pytest.fixture
def other_user(server: LockrProcess) -> User:
    return User(server, f"other{next(_counter)}")
