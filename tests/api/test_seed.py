"""The storage seed's own curl commands, run verbatim but for the host."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx

from tests.conftest import LockrProcess

SEED_HOST = "https://lockr.top"


def curl(server: LockrProcess, command: str, cwd: Path) -> str:
    """Run a seed command with the seed's host replaced by the test server's."""
    result = subprocess.run(
        ["bash", "-c", command.replace(SEED_HOST, server.url)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
    )
    return result.stdout


def test_seed_commands(server: LockrProcess, tmp_path: Path) -> None:
    httpx.post(
        server.url + "/api/v1/accounts",
        json={
            "username": "seeduser",
            "email": "you@example.com",
            "password": "hunter2" + "hunter2",
        },
    )
    (tmp_path / "whitepaper.pdf").write_bytes(os.urandom(1048576))
    login = curl(
        server,
        """curl -s https://lockr.top/api/v1/login \\
-H "Content-Type: application/json" \\
-d '{"identifier":"you@example.com","password":"hunter2hunter2"}'""",
        tmp_path,
    )
    token = json.loads(login)["token"]

    step1 = curl(
        server,
        """curl -s https://lockr.top/api/v1/upload/session \\
-H "Authorization: Bearer YOUR_TOKEN" \\
-H "Content-Type: application/json" \\
-d '{"name":"whitepaper.pdf","size":1048576,"type":"application/pdf"}'""".replace(
            "YOUR_TOKEN", token
        ),
        tmp_path,
    )
    session = json.loads(step1)
    assert {"uploadUrl", "downloadUrl", "id"} <= set(session)

    step2 = curl(
        server,
        """curl -X PUT "UPLOAD_URL_FROM_STEP_1" \\
-H "Content-Type: application/pdf" \\
--data-binary @whitepaper.pdf""".replace("UPLOAD_URL_FROM_STEP_1", session["uploadUrl"]),
        tmp_path,
    )
    assert json.loads(step2)["size"] == 1048576

    direct = curl(
        server,
        """curl -s https://lockr.top/api/v1/upload \\
-H "Authorization: Bearer YOUR_TOKEN" \\
-H "x-file-name: whitepaper.pdf" \\
-H "Content-Type: application/pdf" \\
--data-binary @whitepaper.pdf""".replace("YOUR_TOKEN", token),
        tmp_path,
    )
    direct_id = json.loads(direct)["id"]

    regional = curl(
        server,
        """curl -s https://lockr.top/api/v1/upload \\
-H "Authorization: Bearer YOUR_TOKEN" \\
-H "x-file-name: whitepaper.pdf" \\
-H "x-upload-region: local" \\
--data-binary @whitepaper.pdf""".replace("YOUR_TOKEN", token),
        tmp_path,
    )
    assert json.loads(regional)["region"] == "local"

    downloaded = subprocess.run(
        [
            "bash",
            "-c",
            f"""curl -L "{server.url}/api/v1/download/{direct_id}" \\
-H "Authorization: Bearer {token}" """,
        ],
        capture_output=True,
        check=True,
    ).stdout
    assert downloaded == (tmp_path / "whitepaper.pdf").read_bytes()

    listing = json.loads(
        curl(
            server,
            f'curl -s https://lockr.top/api/v1/files -H "Authorization: Bearer {token}"',
            tmp_path,
        )
    )
    assert len(listing["files"]) == 3
