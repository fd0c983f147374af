"""A real HTTP server (uvicorn on a free port, in a thread) serving the whole ASGI app
(storage API and link service) over a core whose clock the tests move."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from gateway.clock import ManualClock
from gateway.core import Core, build_core
from linkservice.routes import link_routes
from tests.conftest import PASSWORD, free_port, make_config


class LinkServer:
    def __init__(self, data: Path, **settings: object) -> None:
        self.clock = ManualClock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = make_config(data, public_url=self.url, **settings)
        self.core: Core = build_core(config, clock=self.clock)
        self.core.start()
        app = create_app(self.core, extra_routes=link_routes(self.core))
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_config=None,
                access_log=False,
                proxy_headers=False,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.core.close()

    def signup(self, name: str, *, plan: str = "pro") -> str:
        """Create the account ``name`` on ``plan``; returns its login token."""
        response = httpx.post(
            self.url + "/api/v1/accounts",
            json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        )
        assert response.status_code == 201, response.text
        if plan != "free":
            self.core.accounts.set_plan(name, plan)
        token: str = response.json()["token"]
        return token

    def new_key(self, token: str) -> str:
        response = httpx.post(
            self.url + "/api/v1/api-key", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 201, response.text
        key: str = response.json()["key"]
        return key


_names = iter(range(1_000_000))


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


@pytest.fixture(scope="module")
def links_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinkServer]:
    server = LinkServer(
        tmp_path_factory.mktemp("links") / "data",
        rate_limit_per_address=100_000,
        rate_limit_per_account=100_000,
        trust_proxy_headers=True,
    )
    yield server
    server.close()


@pytest.fixture
def busy_server(tmp_path: Path) -> Iterator[LinkServer]:
    """A link server with one argon2 slot and no room to wait for it: while a test
    holds the slot (``server.core.passwords.gate.slot()``), password checks are 503."""
    server = LinkServer(tmp_path / "data", argon2_max_concurrent=1, argon2_queue=0)
    yield server
    server.close()
