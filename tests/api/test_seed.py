"""The storage API document's examples, as docs/api.md gives them, run with curl against
a real ``lockr serve``: only the host and the placeholders the docs name are filled in."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LockrProcess
from tests.doc_examples import Examples

DOCS_HOST = "https://lockr.top"
PASSWORD = "hunter2" + "hunter2"  # the docs' "hunter2" is shorter than lockr allows


@pytest.fixture(scope="module")
def regional_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    """A server with the region the docs' regional example names, beside ``local``."""
    root = tmp_path_factory.mktemp("docs")
    config = root / "lockr.toml"
    config.write_text("[regions.local]\n[regions.us-central1]\n")
    server = LockrProcess(root / "data", env={"LOCKR_CONFIG": str(config)}).start()
    yield server
    server.stop()


class Shell:
    """Runs the docs' commands in a folder holding whitepaper.pdf, with placeholders
    replaced by real values."""

    def __init__(self, server: LockrProcess, cwd: Path) -> None:
        self.server = server
        self.cwd = cwd
        self.values = {
            DOCS_HOST: server.url,
            '"password":"hunter2"': f'"password":"{PASSWORD}"',
            '"you@example.com:hunter2"': f'"you@example.com:{PASSWORD}"',
            '"currentPassword":"hunter2"': f'"currentPassword":"{PASSWORD}"',
        }

    def run(self, command: str, **placeholders: str) -> bytes:
        for old, new in {**self.values, **placeholders}.items():
            command = command.replace(old, new)
        done = subprocess.run(
            ["bash", "-c", command], capture_output=True, cwd=self.cwd, check=True, timeout=60
        )
        return done.stdout

    def json(self, command: str, **placeholders: str) -> dict[str, object]:
        answer: dict[str, object] = json.loads(self.run(command, **placeholders))
        return answer


def test_every_example_in_docs_api(regional_server: LockrProcess, tmp_path: Path) -> None:
    server = regional_server
    examples = Examples("api.md", "sh")
    shell = Shell(server, tmp_path)
    signed_up = httpx.post(
        server.url + "/api/v1/accounts",
        json={"username": "you", "email": "you@example.com", "password": PASSWORD},
    )
    assert signed_up.status_code == 201, signed_up.text
    pdf = os.urandom(1048576)
    (tmp_path / "whitepaper.pdf").write_bytes(pdf)

    token = str(shell.json(examples.take("/api/v1/login"))["token"])
    mine = {"YOUR_TOKEN": token}

    session = shell.json(examples.take("/api/v1/upload/session"), **mine)
    assert {"uploadUrl", "downloadUrl", "id"} <= set(session)
    step2 = shell.json(
        examples.take("UPLOAD_URL_FROM_STEP_1"), UPLOAD_URL_FROM_STEP_1=str(session["uploadUrl"])
    )
    assert step2["size"] == 1048576 and step2["type"] == "application/pdf"

    direct = shell.json(examples.take("x-file-name: whitepaper.pdf", "Content-Type"), **mine)
    assert direct["type"] == "application/pdf" and direct["region"] == "local"
    regional = shell.json(examples.take("x-upload-region: us-central1"), **mine)
    assert regional["region"] == "us-central1" and str(regional["id"]).startswith("us-central1_")
    basic = shell.json(examples.take("-u "))
    assert basic["name"] == "notes.txt" and basic["size"] == len(pdf)
    keyed = shell.json(examples.take("x-file-key: correct horse"), **mine)
    assert keyed["keyProtected"] is True

    listing = shell.json(examples.take("/api/v1/files -H"), **mine)
    assert len(listing["files"]) == 5  # type: ignore[arg-type]

    download = examples.take('/api/v1/download/REGION_ID_OBJECT" \\')
    assert shell.run(download, REGION_ID_OBJECT=str(direct["id"]), **mine) == pdf
    with_key = examples.take("keyHash=")
    assert shell.run(with_key, REGION_ID_OBJECT=str(keyed["id"])) == pdf
    refused = httpx.get(f"{server.url}/api/v1/download/{keyed['id']}")
    assert refused.status_code == 403

    key_hash = hashlib.sha256(b"optional passphrase").hexdigest()
    set_key = shell.json(examples.take("/key"), REGION_ID_OBJECT=str(direct["id"]), **mine)
    assert set_key["keyProtected"] is True
    protected = httpx.get(f"{server.url}/api/v1/download/{direct['id']}?keyHash={key_hash}")
    assert protected.status_code == 200 and protected.content == pdf

    guest = httpx.post(
        server.url + "/api/v1/upload", content=b"guest", headers={"x-file-name": "g.txt"}
    ).json()
    registered = shell.json(
        examples.take("/api/v1/files/register"),
        REGION_ID_OBJECT=guest["id"],
        CLAIM_TOKEN=guest["claimToken"],
        **mine,
    )
    assert registered["path"] == "uploads/g.txt"

    shell.run(examples.take("-X DELETE"), REGION_ID_OBJECT=str(regional["id"]), **mine)
    assert httpx.get(f"{server.url}/api/v1/download/{regional['id']}").status_code == 404

    changed = shell.json(examples.take("/api/v1/account/password"), **mine)
    assert changed["revokedTokens"] == 1  # the sign-up token; the one used stays
    me = server.url + "/api/v1/account"
    assert httpx.get(me, auth=("you", PASSWORD)).status_code == 401
    assert httpx.get(me, auth=("you", "a longer passphrase")).status_code == 200
    assert httpx.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 200

    assert not examples.untaken(), "examples in docs/api.md that no test runs"
