"""One real ``lockr serve`` per test module (uvicorn on a free port)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import LockrProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    process = LockrProcess(
        tmp_path_factory.mktemp("server") / "data",
        env={"LOCKR_LOGIN_MAX_FAILURES": "3", "LOCKR_DEFAULT_QUOTA": "1GiB"},
    ).start()
    yield process
    process.stop()
