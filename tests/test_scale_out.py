"""Issue #11's scale-out, run for real: two ``lockr serve`` nodes, A and B, each with a
data folder of its own, sharing one fresh PostgreSQL database, one secret
(``LOCKR_SECRET``) and one config file whose default region is an ``s3`` region of a
real S3 server (``rclone serve s3``, under a key prefix of this module's own).

What one node begins the other carries on (an rclone sync, a resumable upload, a
WebDAV lock), an account's quota holds against writers on both nodes at once, and a
node killed in the middle of uploads leaves no visible partial file, no held quota
and no bytes in the bucket that the database does not name."""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
from botocore.exceptions import ClientError
from sqlalchemy import func, select

from gateway.blobkeys import object_key
from gateway.config import load_config
from gateway.models import Account, Blob, Instance, Reservation
from tests.conftest import (
    CLI_ENV,
    PASSWORD,
    LockrProcess,
    S3Server,
    User,
    fresh_postgres_database,
    rclone,
    run_cli,
    run_rclone,
    s3_region_toml,
    signup,
)

pytestmark = pytest.mark.slow

MiB = 1024 * 1024
BUCKET = "lockr-test"
LOCK_BODY = (
    '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
    "</D:lockscope><D:locktype><D:write/></D:locktype><D:owner>node A</D:owner></D:lockinfo>"
)


@dataclass
class Cluster:
    """Nodes A and B, and what the tests look through: the database and the bucket."""

    nodes: tuple[LockrProcess, LockrProcess]
    config: Path
    """The one config file of both nodes (and of the CLI)."""
    env: dict[str, str]
    """Both nodes' environment: the config file and the shared secret."""
    prefix: str
    """The S3 key prefix of the module's region: everything lockr stores is under it."""
    db: sqlalchemy.Engine
    s3: Any
    """A plain boto3 client of the S3 server, to look inside the bucket."""
    obscured: str
    """The accounts' password as rclone takes it."""

    def signup(self, name: str) -> User:
        return User(name, signup(self.nodes[0], name))

    def dav_remote(self, user: User, node: LockrProcess) -> str:
        """An inline rclone WebDAV remote for ``user``'s home on ``node``."""
        return (
            f":webdav,url='http://127.0.0.1:{node.dav_port}',vendor=owncloud,"
            f"user={user.name},pass={self.obscured}:{user.name}"
        )

    def account(self, name: str) -> Any:
        """The account's row, read from the database itself (reserved bytes included)."""
        with self.db.connect() as connection:
            return connection.execute(
                select(
                    Account.id, Account.used_bytes, Account.reserved_bytes, Account.quota_bytes
                ).where(Account.username == name)
            ).one()

    def objects(self) -> list[str]:
        """Every object under the region's prefix, as lockr names it (without the prefix)."""
        keys: list[str] = []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=self.prefix + "/"
        )
        for page in pages:
            keys += [
                item["Key"].removeprefix(self.prefix + "/") for item in page.get("Contents", [])
            ]
        return sorted(keys)

    def multipart_uploads(self) -> list[tuple[str, str]]:
        """The unfinished multipart uploads under the region's prefix. rclone serve s3
        answers NoSuchUpload for a bucket that never had one: that is none."""
        found: list[tuple[str, str]] = []
        try:
            pages = self.s3.get_paginator("list_multipart_uploads").paginate(
                Bucket=BUCKET, Prefix=self.prefix + "/"
            )
            for page in pages:
                found += [(item["Key"], item["UploadId"]) for item in page.get("Uploads", [])]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise
        return sorted(found)


LEASE = 8
"""Seconds a killed node's writes stay held before the other node reclaims them."""


@pytest.fixture(scope="module")
def cluster(
    postgres_server: str, s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("scale-out")
    database_url, drop = fresh_postgres_database(postgres_server)
    config = s3_region_toml(
        s3_server,
        root / "lockr",
        database_url=database_url,
        default_quota="10GiB",
        instance_lease_seconds=LEASE,
        rate_limit_per_account=100_000,
        rate_limit_per_address=100_000,
    )
    region = load_config(file=config, env={}).regions["s3"].s3
    assert region is not None
    env = {"LOCKR_CONFIG": str(config), "LOCKR_SECRET": secrets.token_urlsafe(32)}
    a, b = LockrProcess(root / "a" / "data", env=env), LockrProcess(root / "b" / "data", env=env)
    engine = sqlalchemy.create_engine(database_url)
    s3 = s3_server.client()
    obscured = subprocess.run(
        [rclone(), "obscure", PASSWORD], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        # Together, on the fresh database: one migrates, the other waits for it.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(LockrProcess.start, (a, b)))
        yield Cluster((a, b), config, env, region.prefix, engine, s3, obscured)
    finally:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(LockrProcess.stop, [n for n in (a, b) if n.process is not None]))
        s3.close()
        engine.dispose()
        drop()


def files_of(node: LockrProcess, user: User) -> dict[str, dict[str, Any]]:
    """The account's files as the JSON API of ``node`` lists them, by path."""
    listed = httpx.get(node.url + "/api/v1/files?limit=1000", headers=user.auth, timeout=30)
    assert listed.status_code == 200, listed.text
    return {item["path"]: item for item in listed.json()["files"]}


def error_code(response: httpx.Response) -> str:
    """The JSON API's error code in ``response``, or its text if it has none."""
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return response.text


def make_tree(root: Path) -> None:
    """A few dozen files of mixed sizes in nested folders, one big enough to be stored
    in several parts (8 MiB each), a few with names that need escaping."""
    sizes = random.Random(11)
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(17 * MiB + 123))
    (root / "empty.txt").write_bytes(b"")
    (root / "deep" / "er" / "est").mkdir(parents=True)
    (root / "deep" / "er" / "est" / "leaf.txt").write_text("leaf")
    (root / "deep" / "100% with space.txt").write_text("odd")
    (root / "deep" / "er" / "hash#tag ünïcødé.txt").write_text("odder")
    (root / "docs").mkdir()
    for index in range(12):
        (root / "docs" / f"note-{index:02d}.md").write_text("# note\n" * sizes.randrange(1, 500))
    (root / "media" / "photos").mkdir(parents=True)
    for index in range(8):
        (root / "media" / "photos" / f"{index}.jpg").write_bytes(
            os.urandom(sizes.randrange(10_000, 2 * MiB))
        )
    (root / "data").mkdir()
    for index in range(10):
        (root / "data" / f"{index}.bin").write_bytes(os.urandom(sizes.randrange(0, 300_000)))


def test_rclone_sync_to_one_node_reads_back_through_the_other(
    cluster: Cluster, tmp_path: Path
) -> None:
    a, b = cluster.nodes
    user = cluster.signup("syncer")
    source = tmp_path / "source"
    make_tree(source)
    run_rclone(
        "sync",
        str(source),
        cluster.dav_remote(user, a) + "/synced",
        "--transfers=8",
        "--checkers=8",
    )
    through_b = cluster.dav_remote(user, b) + "/synced"

    local = json.loads(run_rclone("lsjson", "-R", "--hash", str(source)).stdout)
    remote = json.loads(run_rclone("lsjson", "-R", "--hash", through_b).stdout)
    local_files = {i["Path"]: i for i in local if not i["IsDir"]}
    remote_files = {i["Path"]: i for i in remote if not i["IsDir"]}
    assert len(local_files) >= 30
    assert {i["Path"] for i in remote if i["IsDir"]} == {i["Path"] for i in local if i["IsDir"]}
    assert set(remote_files) == set(local_files)
    for path, item in local_files.items():
        assert remote_files[path]["Size"] == item["Size"], path
        for algorithm in ("md5", "sha1"):
            assert remote_files[path]["Hashes"][algorithm] == item["Hashes"][algorithm], path

    checked = run_rclone("check", str(source), through_b)
    assert f"{len(local_files)} matching files" in checked.stderr
    assert "hashes could not be checked" not in checked.stderr
    run_rclone("check", str(source), through_b, "--download")


def tail_size(cluster: Cluster) -> int | None:
    """The size of the one resumable upload's tail in the store (None without one)."""
    tails = [key for key in cluster.objects() if key.endswith(".tail")]
    if not tails:
        return None
    (tail,) = tails
    size: int = cluster.s3.head_object(Bucket=BUCKET, Key=f"{cluster.prefix}/{tail}")[
        "ContentLength"
    ]
    return size


def test_a_resumable_upload_begun_on_one_node_ends_on_the_other(cluster: Cluster) -> None:
    a, b = cluster.nodes
    user = cluster.signup("resumer")
    body = os.urandom(14 * MiB + 1005)
    total = len(body)
    created = httpx.post(
        a.url + "/api/v1/upload/session",
        json={"name": "resumed.bin", "size": total},
        headers=user.auth,
    )
    assert created.status_code == 201, created.text
    session = created.json()
    upload_url = session["uploadUrl"]
    assert upload_url.startswith(a.url + "/")
    on_b = b.url + upload_url.removeprefix(a.url)

    def put(url: str, start: int, end: int) -> httpx.Response:
        return httpx.put(
            url,
            content=body[start:end],
            headers={"Content-Range": f"bytes {start}-{end - 1}/{total}"},
            timeout=60,
        )

    # On A: one part of 8 MiB, and 2 MiB + 1000 bytes, too few for a part, in the tail.
    first = 10 * MiB + 1000
    begun = put(upload_url, 0, first)
    assert begun.status_code == 308, begun.text
    assert begun.headers["Range"] == f"bytes=0-{first - 1}"
    assert tail_size(cluster) == 2 * MiB + 1000

    # On B: where it stands, one more MiB (the tail grows), then the rest.
    asked = httpx.put(on_b, headers={"Content-Range": f"bytes */{total}"})
    assert asked.status_code == 308 and asked.headers["Range"] == f"bytes=0-{first - 1}"
    second = first + MiB
    grown = put(on_b, first, second)
    assert grown.status_code == 308, grown.text
    assert grown.headers["Range"] == f"bytes=0-{second - 1}"
    assert tail_size(cluster) == 3 * MiB + 1000
    finished = put(on_b, second, total)
    assert finished.status_code == 201, finished.text
    assert finished.json()["id"] == session["id"]
    assert tail_size(cluster) is None

    md5, sha1 = hashlib.md5(body).hexdigest(), hashlib.sha1(body).hexdigest()
    for node in cluster.nodes:
        download = httpx.get(
            f"{node.url}/api/v1/download/{session['id']}", headers=user.auth, timeout=60
        )
        assert download.status_code == 200 and download.content == body, node.url
        described = httpx.get(f"{node.url}/api/v1/files/{session['id']}", headers=user.auth)
        assert described.status_code == 200, described.text
        assert (described.json()["md5"], described.json()["sha1"]) == (md5, sha1), node.url
    assert cluster.account(user.name).reserved_bytes == 0


def test_parallel_writers_on_both_nodes_never_pass_the_quota(cluster: Cluster) -> None:
    a, b = cluster.nodes
    user = cluster.signup("racer")
    ballast = httpx.post(
        a.url + "/api/v1/upload",
        content=os.urandom(MiB),
        headers={**user.auth, "x-file-name": "ballast.bin"},
    )
    assert ballast.status_code == 201, ballast.text
    size, fits = 200_000, 12
    quota = MiB + fits * size + size // 2
    quota_set = run_cli(
        "user",
        "set-quota",
        user.name,
        str(quota),
        "--config",
        str(cluster.config),
        "--data",
        str(cluster.config.parent / "cli"),
        env={**CLI_ENV, "LOCKR_SECRET": cluster.env["LOCKR_SECRET"]},
    )
    assert quota_set.returncode == 0, quota_set.stderr
    account = cluster.account(user.name)
    assert (account.quota_bytes, account.used_bytes) == (quota, MiB)
    made = httpx.request(
        "MKCOL", f"http://127.0.0.1:{a.dav_port}/{user.name}/race", headers=user.auth
    )
    assert made.status_code == 201, made.text

    # The account's numbers, watched from the database while the writers run.
    seen: list[tuple[int, int]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            row = cluster.account(user.name)
            seen.append((row.used_bytes, row.reserved_bytes))
            time.sleep(0.005)

    writers = 50
    barrier = threading.Barrier(writers)

    def write(index: int) -> tuple[str, int, str]:
        """Writer ``index``: to A or B, through the JSON API or WebDAV, with its size
        declared (Content-Length) or not (chunked, reserved while it streams)."""
        node = cluster.nodes[index % 2]
        body = os.urandom(size)
        content: bytes | Iterator[bytes] = body
        if index % 4 >= 2:
            content = iter([body[start : start + 65536] for start in range(0, size, 65536)])
        barrier.wait()
        if index % 8 < 4:
            answer = httpx.post(
                node.url + "/api/v1/upload",
                content=content,
                headers={**user.auth, "x-file-name": f"api-{index}.bin"},
                timeout=90,
            )
            return "api", answer.status_code, error_code(answer)
        answer = httpx.put(
            f"http://127.0.0.1:{node.dav_port}/{user.name}/race/dav-{index}.bin",
            content=content,
            headers=user.auth,
            timeout=90,
        )
        return "dav", answer.status_code, answer.text[:300]

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(writers) as pool:
            results = list(pool.map(write, range(writers)))
    finally:
        done.set()
        watcher.join()

    stored = [r for r in results if r[1] == 201]
    # A full account is 403 quota_exceeded on the JSON API, 507 over WebDAV (what
    # rclone expects); nothing else.
    refused = [r for r in results if r == ("api", 403, "quota_exceeded") or r[:2] == ("dav", 507)]
    assert len(stored) + len(refused) == writers, [r for r in results if r not in stored + refused]
    assert len(stored) == fits
    assert seen and all(used + reserved <= quota for used, reserved in seen), max(seen)
    account = cluster.account(user.name)
    assert (account.used_bytes, account.reserved_bytes) == (MiB + fits * size, 0)
    listed = files_of(b, user)
    assert len(listed) == 1 + fits and sum(f["size"] for f in listed.values()) == MiB + fits * size


def test_a_webdav_lock_taken_on_one_node_holds_on_the_other(cluster: Cluster) -> None:
    a, b = cluster.nodes
    user = cluster.signup("locker")
    path = f"/{user.name}/locked.txt"
    with (
        httpx.Client(base_url=f"http://127.0.0.1:{a.dav_port}", auth=(user.name, PASSWORD)) as on_a,
        httpx.Client(base_url=f"http://127.0.0.1:{b.dav_port}", auth=(user.name, PASSWORD)) as on_b,
    ):
        assert on_a.put(path, content=b"v1").status_code == 201
        locked = on_a.request("LOCK", path, content=LOCK_BODY, headers={"Timeout": "Second-600"})
        assert locked.status_code == 200, locked.text
        token = locked.headers["Lock-Token"]
        assert on_b.put(path, content=b"v2").status_code == 423
        assert on_b.get(path).content == b"v1"
        allowed = on_b.put(path, content=b"v2", headers={"If": f"({token})"})
        assert allowed.status_code == 204, allowed.text
        unlocked = on_b.request("UNLOCK", path, headers={"Lock-Token": token})
        assert unlocked.status_code == 204, unlocked.text
        assert on_a.put(path, content=b"v3").status_code == 204
        assert on_b.get(path).content == b"v3"


def stalled_upload(
    node: LockrProcess, user: User, name: str, size: int, head: bytes
) -> socket.socket:
    """A direct upload declaring ``size`` bytes that sends only ``head`` and then waits."""
    connection = socket.create_connection(("127.0.0.1", node.http_port), timeout=60)
    request = (
        f"POST /api/v1/upload HTTP/1.1\r\nHost: 127.0.0.1:{node.http_port}\r\n"
        f"Authorization: Bearer {user.token}\r\nx-file-name: {name}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n"
    )
    connection.sendall(request.encode() + head)
    return connection


def test_a_node_killed_mid_upload_leaves_nothing_behind(cluster: Cluster) -> None:
    """B is killed with 20 uploads in flight, each past its first 8 MiB part on the
    store. B's process is dead for A once its lease (``instance_lease_seconds``, short
    here) runs out, and A's recovery reclaims its writes: nothing of them may remain,
    anywhere, while B stays down."""
    a, b = cluster.nodes
    user = cluster.signup("crasher")
    kept = httpx.post(
        b.url + "/api/v1/upload",
        content=b"before the crash",
        headers={**user.auth, "x-file-name": "kept.txt"},
    )
    assert kept.status_code == 201, kept.text
    size, head = 20 * MiB, os.urandom(9 * MiB)
    names = [f"stalled-{index}.bin" for index in range(20)]
    with ThreadPoolExecutor(len(names)) as pool:
        connections = list(pool.map(lambda name: stalled_upload(b, user, name, size, head), names))
    try:
        # Wait until every upload is mid-stream on the store: a multipart upload with
        # its first part stored.
        deadline = time.monotonic() + 30
        while True:
            uploads = cluster.multipart_uploads()
            with_parts = [
                key
                for key, upload_id in uploads
                if cluster.s3.list_parts(Bucket=BUCKET, Key=key, UploadId=upload_id).get("Parts")
            ]
            if len(with_parts) == len(names):
                break
            assert time.monotonic() < deadline, (
                f"{len(with_parts)} uploads under way:\n{b.output()}"
            )
            time.sleep(0.2)
        account = cluster.account(user.name)
        assert account.reserved_bytes == len(names) * size
        assert b.stop(signal.SIGKILL) == -signal.SIGKILL
    finally:
        for connection in connections:
            connection.close()

    # Nothing half-written shows, on A; B's writes are still held by its dead process.
    assert set(files_of(a, user)) == {"uploads/kept.txt"}
    with cluster.db.connect() as connection:
        held = connection.scalar(
            select(func.count())
            .select_from(Reservation)
            .where(Reservation.account_id == account.id)
        )
    assert held == len(names)

    # A reclaims once B's lease has run out (and A holds the recovery lease, which B
    # may have held: that runs out as well), at its next pass.
    deadline = time.monotonic() + 6 * LEASE
    while True:
        with cluster.db.connect() as connection:
            reservations = connection.scalar(select(func.count()).select_from(Reservation))
            instances = connection.scalar(select(func.count()).select_from(Instance))
        if (reservations, instances) == (0, 1):
            break
        assert time.monotonic() < deadline, (reservations, instances, a.output()[-3000:])
        time.sleep(0.5)
    assert set(files_of(a, user)) == {"uploads/kept.txt"}
    assert cluster.account(user.name).used_bytes == len(b"before the crash")
    with cluster.db.connect() as connection:
        reserved = connection.scalar(select(func.sum(Account.reserved_bytes)))
        blobs = set(connection.scalars(select(Blob.key).where(Blob.refcount > 0)))
    assert reserved == 0
    assert cluster.multipart_uploads() == []
    # Every object is a blob a file references, and every such blob is there.
    assert cluster.objects() == sorted(object_key(key) for key in blobs)
