"""The ASGI app's own routes: the health check."""

from __future__ import annotations

import anyio
import httpx

from api.app import create_app
from gateway.core import Core


async def _health(core: Core) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(core)), base_url="http://lockr.test"
    ) as client:
        return await client.get("/healthz")


def test_health_is_503_when_the_database_does_not_answer(core: Core) -> None:
    healthy = anyio.run(_health, core)
    assert healthy.status_code == 200 and healthy.json() == {"status": "ok"}
    database = core.config.data / "lockr.db"
    core.db.dispose()
    database.rename(database.with_suffix(".moved"))
    database.mkdir()  # SQLite cannot open a folder as its database
    down = anyio.run(_health, core)
    assert down.status_code == 503 and down.json() == {"status": "unavailable"}
