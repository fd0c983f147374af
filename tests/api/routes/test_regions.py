"""GET /api/v1/regions over real HTTP: every region, and the caller's default."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.conftest import User
from tests.conftest import LockrProcess, run_cli


def test_regions_and_the_callers_default(tmp_path: Path) -> None:
    config = tmp_path / "lockr.toml"
    config.write_text(
        f'data = "{tmp_path / "data"}"\n'
        'default_region = "us-central1"\n[regions.us-central1]\n[regions.eu-west1]\n'
    )
    server = LockrProcess(tmp_path / "data", env={"LOCKR_CONFIG": str(config)}).start()
    try:
        url = server.url + "/api/v1/regions"
        guest = httpx.get(url).json()
        assert guest == {
            "regions": [
                {"name": "eu-west1", "backend": "local", "default": False},
                {"name": "us-central1", "backend": "local", "default": True},
            ],
            "defaultRegion": "us-central1",
        }
        user = User(server, "mover")
        moved = run_cli("user", "set-region", "mover", "eu-west1", "--config", str(config))
        assert moved.returncode == 0, moved.stderr
        mine = httpx.get(url, headers=user.headers).json()
        assert mine["defaultRegion"] == "eu-west1"
        assert [r["name"] for r in mine["regions"] if r["default"]] == ["eu-west1"]
        assert user.upload("new.txt", b"n").json()["region"] == "eu-west1"
    finally:
        server.stop()
