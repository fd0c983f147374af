"""Real S3 clients against a running lockr (one a test module), with what the client
tests share: trees of files to send, and the checks that what a client wrote is the
same file over WebDAV and the REST API.

The server serves virtual-host style under ``s3.lockr.test``, a name no resolver
knows: the virtual-host client connects to 127.0.0.1 and sends the ``Host`` header it
signed (see ``test_boto3.loopback``), as DNS pointing the domain at the listener
would. The other clients use path-style on 127.0.0.1, as on a server without
``s3_domain``. The account (``alice``) and its S3 key come from the S3 tests'
``token`` and ``keys`` fixtures, over this server.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.client import Config as BotoConfig

from tests.conftest import LockrProcess, run_rclone, running_lockr
from tests.doc_examples import Examples

DOMAIN = "s3.lockr.test"
USER = "alice"
DOCS_ENDPOINT = "127.0.0.1:8082"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    with running_lockr(tmp_path_factory, "s3clients", {"LOCKR_S3_DOMAIN": DOMAIN}) as process:
        yield process


def fill(example: str, server: LockrProcess, keys: dict[str, str]) -> str:
    """A docs/s3.md example with its placeholders filled in for ``server``."""
    return (
        example.replace(DOCS_ENDPOINT, f"127.0.0.1:{server.s3_port}")
        .replace("YOUR_ACCESS_KEY_ID", keys["accessKeyId"])
        .replace("YOUR_SECRET_ACCESS_KEY", keys["secretAccessKey"])
    )


def boto3_client(server: LockrProcess, keys: dict[str, str], **settings: Any) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.pop("endpoint_url", server.s3_url),
        aws_access_key_id=keys["accessKeyId"],
        aws_secret_access_key=keys["secretAccessKey"],
        region_name="us-east-1",
        config=BotoConfig(retries={"max_attempts": 1}, **settings),
    )


def make_tree(root: Path) -> dict[str, bytes]:
    """A small nested tree of files (an empty one, a 1 MiB one), each with an old
    modification time of its own (to the nanosecond); returns its files by relative
    path."""
    files = {
        "readme.txt": b"hello from the top\n",
        "empty.dat": b"",
        "2024/june/beach.jpg": os.urandom(1024 * 1024),
        "2024/june/notes with spaces.txt": b"sand " * 200,
        "2024/july/ünïcødé ✓.bin": os.urandom(5000),
        "misc/deep/er/still.txt": b"deep",
    }
    for number, (name, body) in enumerate(sorted(files.items())):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        # Nanoseconds, as real files have: rclone writes and compares all nine digits.
        moment = (1_600_000_000 + number * 86_400) * 10**9 + 250_000_001
        os.utime(path, ns=(moment, moment))
    return files


def rest_files(server: LockrProcess, token: str) -> dict[str, dict[str, Any]]:
    """The account's files as the REST API lists them, by path (without a leading /)."""
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params = {"limit": "1000"} | ({"cursor": cursor} if cursor else {})
        page = httpx.get(
            server.url + "/api/v1/files",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        found |= {item["path"].strip("/"): item for item in page["files"]}
        cursor = page["nextCursor"]
        if cursor is None:
            return found


def webdav_listing(server: LockrProcess, token: str, path: str) -> dict[str, dict[str, Any]]:
    """``rclone lsjson -R --hash`` of ``path`` over WebDAV, by path."""
    remote = f":webdav,url='http://127.0.0.1:{server.dav_port}',vendor=owncloud"
    remote += f",bearer_token='{token}':{USER}/{path}"
    listing = json.loads(run_rclone("lsjson", "-R", "--hash", "--files-only", remote).stdout)
    return {item["Path"]: item for item in listing}


def assert_same_files_everywhere(
    server: LockrProcess, token: str, folder: str, files: dict[str, bytes]
) -> None:
    """``files`` are in ``folder`` of the account's tree, with their bytes' MD5, over
    the REST API and over WebDAV."""
    md5s = {name: hashlib.md5(body).hexdigest() for name, body in files.items()}
    rest = rest_files(server, token)
    assert {name: rest[f"{folder}/{name}"]["md5"] for name in files} == md5s
    dav = webdav_listing(server, token, folder)
    assert {name: item["Hashes"]["md5"] for name, item in dav.items()} == md5s


def random_file(path: Path, size: int) -> Path:
    """``path`` filled with ``size`` random bytes, written in blocks of 8 MiB (never
    held whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for start in range(0, size, 8 * MiB):
            handle.write(os.urandom(min(8 * MiB, size - start)))
    return path


def multipart_etag(path: Path, part_size: int) -> str:
    """S3's quoted ETag of ``path`` uploaded in parts of ``part_size`` bytes: the MD5
    of the parts' binary MD5s, a dash and the number of parts."""
    digests = []
    with path.open("rb") as handle:
        while part := handle.read(part_size):
            digests.append(hashlib.md5(part).digest())
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while block := handle.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


class AwsCli:
    """The AWS CLI (``awscli``) with the profile docs/s3.md shows, in files of its own
    folder, which is also its home and current folder: nothing of the real home's
    ``~/.aws`` or of the environment's ``AWS_*`` is read."""

    def __init__(self, folder: Path, server: LockrProcess, keys: dict[str, str]) -> None:
        self.folder = folder
        self.fill = lambda text: fill(text, server, keys)
        examples = Examples("s3.md", "ini")
        config = folder / "config"
        config.write_text(self.fill(examples.take("[profile lockr]")) + "\n")
        credentials = folder / "credentials"
        credentials.write_text(self.fill(examples.take("aws_access_key_id")) + "\n")
        self.env = {name: value for name, value in os.environ.items() if "AWS" not in name}
        self.env |= {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(folder),
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "AWS_PROFILE": "lockr",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }

    def __call__(self, *args: str, stdin: bytes = b"") -> bytes:
        done = subprocess.run(
            [sys.executable, "-m", "awscli", *args],
            input=stdin,
            capture_output=True,
            env=self.env,
            cwd=self.folder,
            timeout=120,
        )
        if done.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed:\n{done.stderr.decode()}")
        return done.stdout

    def shell(self, example: str, **env: str) -> str:
        """A docs example (bash), its placeholders filled in; its standard output."""
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self.fill(example)],
            capture_output=True,
            cwd=self.folder,
            env=self.env | env,
            timeout=120,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout
