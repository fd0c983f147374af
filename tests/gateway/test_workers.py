"""``lockr serve --workers 2`` as a real process tree over a SQLite data folder: both
workers serve every listener, a WebDAV lock and a burst limit hold across them,
parallel uploads through both land whole within an exact quota, a worker killed
mid-upload is replaced and its upload reclaimed, a stop signal lets requests in
flight finish, and workers that keep dying at start make the supervisor give up with
a message.

Which worker holds a connection is read from ``/proc``: the socket's inode, found in
``/proc/net/tcp`` by the client's port, among the worker's descriptors."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.client import HTTPConnection, HTTPMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from gateway.models import Account, Instance, Reservation
from tests.conftest import (
    BACKENDS,
    CLI_ENV,
    GatedUpload,
    LockrProcess,
    backend_database,
    in_parallel,
    run_cli,
    signup,
)

pytestmark = pytest.mark.slow

KiB = 1024


def start_workers(data: Path, *, env: dict[str, str] | None = None) -> LockrProcess:
    """``lockr serve --workers 2`` (by its environment variable), once both serve."""
    server = LockrProcess(data, env={"LOCKR_WORKERS": "2", **(env or {})}).start()
    wait_for(lambda: "lockr is running" in server.output(), server, "both workers to serve")
    return server


def wait_for(condition: Callable[[], bool], server: LockrProcess, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"waited in vain for {what}:\n{server.output()}"
        time.sleep(0.1)


def workers_of(server: LockrProcess) -> list[int]:
    assert server.process is not None
    pid = server.process.pid
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def holder(server: LockrProcess, connection: socket.socket) -> int:
    """The worker holding the server's end of ``connection``."""
    server_port, client_port = connection.getpeername()[1], connection.getsockname()[1]
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if (int(local.split(":")[1], 16), int(remote.split(":")[1], 16)) == (
            server_port,
            client_port,
        ):
            owners = [pid for pid in workers_of(server) if inode in socket_inodes(pid)]
            assert len(owners) == 1, (inode, owners)
            return owners[0]
    raise AssertionError(f"no server socket for the client port {client_port}")


@contextmanager
def one_per_worker(server: LockrProcess, port: int) -> Iterator[list[HTTPConnection]]:
    """Open connections to ``port`` (each answered a request, and kept open) until
    one is held by each worker; those, in the order of :func:`workers_of`. The kernel
    hands each connection to whichever worker takes it first."""
    held: dict[int, HTTPConnection] = {}
    opened: list[HTTPConnection] = []
    try:
        while len(held) < 2 and len(opened) < 200:
            connection = HTTPConnection("127.0.0.1", port, timeout=30)
            opened.append(connection)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            assert connection.sock is not None
            held.setdefault(holder(server, connection.sock), connection)
        assert len(held) == 2, f"one worker took all of {len(opened)} connections"
        yield [held[pid] for pid in workers_of(server)]
    finally:
        for connection in opened:
            connection.close()


def send(
    connection: HTTPConnection, method: str, path: str, *, body: bytes = b"", **headers: str
) -> tuple[int, HTTPMessage, bytes]:
    """One request on ``connection``: the answer's status, headers and body."""
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.headers, response.read()


def db_scalar(server: LockrProcess, query: Any, *, url: str | None = None) -> Any:
    """``query``'s one value, read as the server runs from its database: the SQLite
    file in its data folder unless ``url`` says otherwise."""
    engine = create_engine(url or f"sqlite:///{server.data / 'lockr.db'}")
    try:
        with engine.connect() as connection:
            return connection.scalar(query)
    finally:
        engine.dispose()


def test_every_listener_is_served_by_both_workers(tmp_path: Path) -> None:
    server = start_workers(tmp_path / "data")
    try:
        workers = workers_of(server)
        assert len(workers) == 2 and server.process is not None
        assert server.process.pid not in workers
        for port in (server.http_port, server.dav_port, server.s3_port):
            with one_per_worker(server, port) as connections:
                assert [holder(server, c.sock) for c in connections if c.sock] == workers
    finally:
        assert server.stop() == 0


LOCK_BODY = (
    b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
    b"</D:lockscope><D:locktype><D:write/></D:locktype><D:owner>one</D:owner></D:lockinfo>"
)


def test_a_webdav_lock_taken_through_one_worker_holds_in_the_other(tmp_path: Path) -> None:
    server = start_workers(tmp_path / "data")
    try:
        auth = {"Authorization": f"Bearer {signup(server, 'alice')}"}
        with one_per_worker(server, server.dav_port) as (one, other):
            lock_through(one, other, auth)
    finally:
        assert server.stop() == 0


def lock_through(one: HTTPConnection, other: HTTPConnection, auth: dict[str, str]) -> None:
    """A lock taken on ``one`` holds on ``other``; unlocked there, it is gone on both."""
    path = "/alice/locked.txt"
    assert send(one, "PUT", path, body=b"v1", **auth)[0] == 201
    status, headers, answer = send(one, "LOCK", path, body=LOCK_BODY, Timeout="Second-600", **auth)
    assert status == 200, answer
    token = headers["Lock-Token"]
    assert send(other, "PUT", path, body=b"v2", **auth)[0] == 423
    assert send(other, "GET", path, **auth)[2] == b"v1"
    assert send(other, "PUT", path, body=b"v2", If=f"({token})", **auth)[0] == 204
    assert send(other, "UNLOCK", path, **{"Lock-Token": token}, **auth)[0] == 204
    assert send(one, "PUT", path, body=b"v3", **auth)[0] == 204
    assert send(other, "GET", path, **auth)[2] == b"v3"


def test_a_burst_limit_holds_across_workers(tmp_path: Path) -> None:
    """Requests alternate between the workers: the sixth is refused, whichever
    worker it reaches."""
    server = start_workers(
        tmp_path / "data",
        env={"LOCKR_RATE_LIMIT_PER_ADDRESS": "5", "LOCKR_RATE_LIMIT_WINDOW": "86400"},
    )
    try:
        path = "/api/v1/download/local_aaaaaaaaaaaaaaaaaaaa"
        with one_per_worker(server, server.http_port) as connections:
            statuses = [send(connections[index % 2], "GET", path)[0] for index in range(8)]
        assert statuses == [404] * 5 + [429] * 3
    finally:
        assert server.stop() == 0


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The workers' database: SQLite in the data folder (``None``), or the URL of a
    fresh PostgreSQL database."""
    with backend_database(request, None) as url:
        yield url


def test_parallel_uploads_through_both_workers_all_land_within_the_quota(
    tmp_path: Path, database: str | None
) -> None:
    """200 uploads at once, half WebDAV PUTs and half REST uploads, each on its own
    connection, against a quota that 150 of them fill: exactly 150 land, each listed
    with its hash, and the account uses exactly their bytes and holds nothing more."""
    size, fits = 8 * KiB, 150
    env = {"LOCKR_RATE_LIMIT_PER_ACCOUNT": "5000", "LOCKR_RATE_LIMIT_PER_ADDRESS": "5000"}
    if database:
        env["LOCKR_DATABASE_URL"] = database
    server = start_workers(tmp_path / "data", env=env)
    try:
        token = signup(server, "alice")
        quota = run_cli(
            "user",
            "set-quota",
            "alice",
            str(fits * size),
            "--data",
            str(server.data),
            env={**CLI_ENV, **env},
        )
        assert quota.returncode == 0, quota.stderr
        auth = {"Authorization": f"Bearer {token}"}
        bodies = {f"file-{index:03d}.bin": os.urandom(size) for index in range(200)}
        dav = f"http://127.0.0.1:{server.dav_port}/alice"

        def upload(name: str) -> int:
            if int(name[5:8]) % 2:
                response = httpx.post(
                    server.url + "/api/v1/upload",
                    content=bodies[name],
                    headers={**auth, "x-file-name": name},
                    timeout=120,
                )
            else:
                response = httpx.put(
                    f"{dav}/{name}", content=bodies[name], headers=auth, timeout=120
                )
            return response.status_code

        workers = workers_of(server)
        statuses = in_parallel(upload, list(bodies))
        landed = {name for name, status in zip(bodies, statuses, strict=True) if status == 201}
        assert len(landed) == fits, statuses
        # Over quota: 403 quota_exceeded from the REST API, 507 from WebDAV.
        for name, status in zip(bodies, statuses, strict=True):
            assert status in (201, 403 if int(name[5:8]) % 2 else 507), (name, status)

        files: dict[str, str] = {}
        cursor = None
        while True:
            page = httpx.get(
                server.url + "/api/v1/files",
                params={"limit": 1000, **({"cursor": cursor} if cursor else {})},
                headers=auth,
            ).json()
            files |= {f["name"]: f["sha1"] for f in page["files"]}
            cursor = page["nextCursor"]
            if cursor is None:
                break
        assert files == {name: hashlib.sha1(bodies[name]).hexdigest() for name in landed}
        account = httpx.get(server.url + "/api/v1/account", headers=auth).json()["account"]
        assert account["usedBytes"] == fits * size
        reserved = select(Account.reserved_bytes).where(Account.username == "alice")
        assert db_scalar(server, reserved, url=database) == 0
        # With several workers each log line names its process: both took uploads of
        # both kinds.
        for request in ("PUT /alice/", "POST /api/v1/upload "):
            served = re.findall(rf"lockr\.access\[(\d+)\] {request}", server.output())
            assert {int(pid) for pid in served} == set(workers), request
    finally:
        assert server.stop() == 0


def stalled_upload(server: LockrProcess, token: str) -> socket.socket:
    """A REST upload that declares 4 MB and sends half."""
    connection = socket.create_connection(("127.0.0.1", server.http_port))
    connection.sendall(
        b"POST /api/v1/upload HTTP/1.1\r\nHost: lockr\r\nx-file-name: half.bin\r\n"
        + f"Authorization: Bearer {token}\r\n".encode()
        + b"Content-Length: 4000000\r\n\r\n"
        + b"h" * 2_000_000
    )
    return connection


def test_a_worker_killed_mid_upload_is_replaced_and_its_upload_reclaimed(
    tmp_path: Path,
) -> None:
    server = start_workers(tmp_path / "data")
    try:
        token = signup(server, "alice")
        auth = {"Authorization": f"Bearer {token}"}
        kept = httpx.post(
            server.url + "/api/v1/upload",
            content=b"kept",
            headers={**auth, "x-file-name": "kept.txt"},
        )
        assert kept.status_code == 201
        held = select(func.count()).select_from(Reservation)
        tmp = server.data / "blobs" / "local" / "tmp"
        with stalled_upload(server, token) as connection:
            wait_for(lambda: db_scalar(server, held) == 1, server, "the upload's reservation")
            wait_for(lambda: any(tmp.iterdir()), server, "the upload's first bytes")
            victim = holder(server, connection)
            survivor = next(pid for pid in workers_of(server) if pid != victim)
            os.kill(victim, signal.SIGKILL)

            def replaced() -> bool:
                workers = workers_of(server)
                return len(workers) == 2 and victim not in workers

            wait_for(replaced, server, "a worker in place of the killed one")
        assert survivor in workers_of(server)
        # The new worker reclaims the dead one's upload as it starts.
        wait_for(lambda: db_scalar(server, held) == 0, server, "the reservation's release")
        wait_for(lambda: list(tmp.iterdir()) == [], server, "the upload's bytes to go")
        # Its instance row goes last, after its reservations.
        registered = select(func.count()).select_from(Instance)
        wait_for(lambda: db_scalar(server, registered) == 2, server, "its instance to go")
        files = httpx.get(server.url + "/api/v1/files", headers=auth).json()["files"]
        assert [f["name"] for f in files] == ["kept.txt"]
        account = httpx.get(server.url + "/api/v1/account", headers=auth).json()["account"]
        assert account["usedBytes"] == len(b"kept")
        assert db_scalar(server, select(func.sum(Account.reserved_bytes))) == 0
        assert f"(pid {victim}) was killed by SIGKILL; starting another" in server.output()
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_lets_uploads_finish_and_stops_every_worker(tmp_path: Path, sig: int) -> None:
    server = start_workers(tmp_path / "data")
    token = signup(server, "alice")
    workers = workers_of(server)
    gate = threading.Event()
    upload = GatedUpload(server, token, gate)
    upload.start()
    held = select(func.count()).select_from(Reservation)
    wait_for(lambda: db_scalar(server, held) == 1, server, "the upload to begin")
    assert server.process is not None
    server.process.send_signal(sig)
    wait_for(lambda: "stopping 2 workers" in server.output(), server, "the stop to begin")
    gate.set()
    upload.join(30)
    assert upload.response is not None and upload.response.status_code == 201
    assert server.process.wait(30) == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists()
    assert "lockr stopped" in server.output()
    assert db_scalar(server, select(func.count()).select_from(Instance)) == 0
    assert db_scalar(server, held) == 0


def test_workers_that_keep_dying_at_start_make_it_give_up(tmp_path: Path) -> None:
    """A worker registers its instance under ``instances/`` as it starts: a file in
    that folder's place fails every worker, and not the supervisor's own start."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "instances").write_text("not a folder")
    server = LockrProcess(data, env={"LOCKR_WORKERS": "2"})
    with pytest.raises(RuntimeError, match="exited early"):
        server.start()
    assert server.process is not None and server.process.wait(30) == 1
    output = server.output()
    assert "before it served; starting another in" in output
    assert "giving up" in output
    assert "lockr is running" not in output


def test_workers_must_be_at_least_one(tmp_path: Path) -> None:
    result = run_cli("serve", "--workers", "0", "--data", str(tmp_path / "data"))
    assert result.returncode == 2
    assert "--workers: setting 'workers'" in result.stderr
