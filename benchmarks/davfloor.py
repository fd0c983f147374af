"""The floor under lockr's pacer-0 small-file sync: rclone sync of 1,000 4 KiB files
(``--transfers=16 --checkers=8 --webdav-pacer-min-sleep 0``) against the smallest
ASGI app that answers it on uvicorn (an in-memory tree: no auth, no database, no
wsgidav), the same app keeping lockr's durability promise (every PUT's file and
MKCOL's folder on disk and durable before the answer) in two ways, against
``rclone serve webdav`` (which does not fsync), and against lockr, in alternating
rounds (medians). How far the minimal apps stay behind rclone is what the Python
stack, and then durability, cost before lockr does any work of its own.

    python -m benchmarks.davfloor        # LOCKR_BENCH_ROUNDS rounds (default 3)
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import statistics
import sys
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import quote

from benchmarks.common import workspace
from benchmarks.rounds import round_count
from benchmarks.servers import Server, free_port, start_lockr, start_rclone_webdav
from benchmarks.webdav import bench_account, cpu_seconds, make_small_tree, rclone_sync

_PROP = "<d:propstat><d:prop>{}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>"

MEMORY = "memory"
FSYNC = "fsync"
SYNCFS = "syncfs"
DURABILITY = {
    MEMORY: "minimal ASGI app on uvicorn",
    FSYNC: "the same, each write fsynced",
    SYNCFS: "the same, writes synced in batches",
}
"""How the minimal app keeps what it is sent: in memory only; each PUT's file (and
MKCOL's folder) fsynced with the folder holding it, in a worker thread, as lockr's
store does; or written on the event loop and made durable by one ``syncfs`` of the
file system for every write waiting, in one thread (the cheapest durable shape)."""


def minimal_app(tree: dict[str, int | None], store: Path | None, durability: str) -> Any:
    """An ASGI app answering PROPFIND, MKCOL and PUT over ``tree`` (path -> size, or
    ``None`` for a folder): exactly what an rclone sync of new files sends. Unless
    ``durability`` is :data:`MEMORY`, the tree is also written under ``store``."""
    synced = _Syncer(store) if store is not None and durability == SYNCFS else None

    def response(path: str) -> str:
        size = tree[path]
        date = f"<d:getlastmodified>{formatdate(0, usegmt=True)}</d:getlastmodified>"
        if size is None:
            props = f"<d:resourcetype><d:collection/></d:resourcetype>{date}"
        else:
            props = f"<d:resourcetype/><d:getcontentlength>{size}</d:getcontentlength>{date}"
        return f"<d:response><d:href>{quote(path)}</d:href>{_PROP.format(props)}</d:response>"

    async def keep(path: str, body: bytes | None) -> None:
        if store is None or durability == MEMORY:
            return
        target = store / path.lstrip("/")
        if synced is not None:
            _write(target, body)
            await synced.wait()
        else:
            await asyncio.to_thread(_write_durably, target, body)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        method, headers = scope["method"], dict(scope["headers"])
        path = scope["path"].rstrip("/") or "/"
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        status, out = 405, b""
        parent = path.rsplit("/", 1)[0] or "/"
        if method == "PROPFIND" and path in tree:
            found = [response(path)]
            if headers.get(b"depth") == b"1" and tree[path] is None:
                prefix = path.rstrip("/") + "/"
                found += [response(p) for p in list(tree) if p.rpartition("/")[0] + "/" == prefix]
            xml = '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">'
            status, out = 207, (xml + "".join(found) + "</d:multistatus>").encode()
        elif method == "PROPFIND":
            status = 404
        elif method == "MKCOL" and path not in tree and parent in tree:
            await keep(path, None)
            tree[path], status = None, 201
        elif method == "MKCOL" and path not in tree:
            status = 409
        elif method == "PUT" and parent in tree:
            await keep(path, body)
            tree[path], status = len(body), 201
        length = str(len(out)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", length)],
            }
        )
        await send({"type": "http.response.body", "body": out})

    return app


def _write(target: Path, body: bytes | None) -> None:
    """Make the folder ``target`` (``body`` None) or write the file ``target``."""
    if body is None:
        target.mkdir()
        return
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, body)
    finally:
        os.close(descriptor)


def _write_durably(target: Path, body: bytes | None) -> None:
    _write(target, body)
    if body is not None:
        _fsync(target)
    _fsync(target.parent)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _Syncer:
    """Makes every write made so far durable with one ``syncfs`` per batch of
    waiters, run in one thread at a time."""

    def __init__(self, store: Path) -> None:
        self._store = store
        self._syncfs: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
        self._waiting: list[asyncio.Future[None]] = []
        self._running = False

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.append(future)
        if not self._running:
            self._running = True
            loop.create_task(self._drain())
        await future

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            await asyncio.to_thread(self._sync)
            for future in batch:
                future.set_result(None)
        self._running = False

    def _sync(self) -> None:
        descriptor = os.open(self._store, os.O_RDONLY)
        try:
            if self._syncfs(descriptor) != 0:
                raise OSError(ctypes.get_errno(), "syncfs failed")
        finally:
            os.close(descriptor)


def serve_minimal(port: int, durability: str, store: Path | None) -> None:
    import uvicorn

    app = minimal_app({"/": None}, store, durability)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


def _minimal(source: Path, work: Path, durability: str, number: int) -> tuple[float, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    store = work / f"{durability}-{number}"
    store.mkdir()
    args = [sys.executable, "-m", "benchmarks.davfloor", str(port), durability, str(store)]
    minimal = Server(args, url, "/", dict(os.environ))
    try:
        return _synced(minimal, source, f":webdav,url='{url}',vendor=owncloud:x")
    finally:
        minimal.stop()


def _synced(server: Server, source: Path, remote: str) -> tuple[float, float]:
    """The seconds of a pacer-0 sync of ``source`` to ``remote``, and the server's CPU
    seconds during it."""
    used = cpu_seconds(server.pid)
    seconds = rclone_sync(source, remote, pacer_zero=True)
    return seconds, cpu_seconds(server.pid) - used


def main() -> None:
    rounds = round_count()
    with workspace() as work:
        source = work / "small"
        make_small_tree(source)
        cases: dict[str, Callable[[int], tuple[float, float]]] = {
            DURABILITY[mode]: lambda number, mode=mode: _minimal(source, work, mode, number)
            for mode in DURABILITY
        }
        peer = start_rclone_webdav(work / "rclone")
        lockr = start_lockr(work / "lockr")
        try:
            _, remote = bench_account(lockr)
            cases["rclone serve webdav"] = lambda number: _synced(
                peer, source, f":webdav,url='{peer.url}',vendor=rclone:x{number}"
            )
            cases["lockr"] = lambda number: _synced(lockr, source, f"{remote}x{number}")
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
            for number in range(rounds):
                order = list(cases) if number % 2 == 0 else list(reversed(list(cases)))
                for name in order:
                    runs[name].append(cases[name](number))
        finally:
            lockr.stop()
            peer.stop()

    seconds = {name: statistics.median(run[0] for run in found) for name, found in runs.items()}
    peer_seconds = seconds["rclone serve webdav"]
    print(f"\nWebDAV floor: rclone sync of 1000 x 4 KiB, pacer 0 ({rounds} rounds, medians)")
    print(f"{'server':36} {'seconds':>8} {'server CPU s':>13} {'vs rclone serve webdav':>24}")
    for name, found in runs.items():
        cpu = statistics.median(run[1] for run in found)
        ratio = seconds[name] / peer_seconds
        print(f"{name:36} {seconds[name]:8.2f} {cpu:13.2f} {ratio:23.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        serve_minimal(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
    else:
        main()
