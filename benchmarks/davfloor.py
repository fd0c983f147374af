"""The floor under lockr's pacer-0 small-file sync: rclone sync of 1,000 4 KiB files
(``--transfers=16 --checkers=8 --webdav-pacer-min-sleep 0``) against the smallest
WSGI app that answers it on cheroot (an in-memory tree: no auth, no storage, no
database, no wsgidav), against ``rclone serve webdav``, and against lockr, in one run.
How far the minimal app stays behind rclone is what the Python stack itself costs.

    python -m benchmarks.davfloor
"""

from __future__ import annotations

import os
import sys
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

from benchmarks.common import workspace
from benchmarks.servers import Server, free_port, start_lockr, start_rclone_webdav
from benchmarks.webdav import bench_account, make_small_tree, rclone_sync

_PROP = "<d:propstat><d:prop>{}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>"


def minimal_app(tree: dict[str, int | None]) -> Any:
    """A WSGI app answering PROPFIND, MKCOL and PUT over ``tree`` (path -> size, or
    ``None`` for a folder): exactly what an rclone sync of new files sends."""

    def response(path: str) -> str:
        size = tree[path]
        date = f"<d:getlastmodified>{formatdate(0, usegmt=True)}</d:getlastmodified>"
        if size is None:
            props = f"<d:resourcetype><d:collection/></d:resourcetype>{date}"
        else:
            props = f"<d:resourcetype/><d:getcontentlength>{size}</d:getcontentlength>{date}"
        return f"<d:response><d:href>{quote(path)}</d:href>{_PROP.format(props)}</d:response>"

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ["PATH_INFO"].encode("latin-1").decode()
        path = path.rstrip("/") or "/"
        body = environ["wsgi.input"]
        while body.read(65536):
            pass
        status, out = "405 Method Not Allowed", b""
        parent = path.rsplit("/", 1)[0] or "/"
        if method == "PROPFIND" and path in tree:
            found = [response(path)]
            if environ.get("HTTP_DEPTH") == "1" and tree[path] is None:
                prefix = path.rstrip("/") + "/"
                found += [response(p) for p in list(tree) if p.rpartition("/")[0] + "/" == prefix]
            xml = '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">'
            status, out = "207 Multi-Status", (xml + "".join(found) + "</d:multistatus>").encode()
        elif method == "PROPFIND":
            status = "404 Not Found"
        elif method == "MKCOL" and path not in tree and parent in tree:
            tree[path], status = None, "201 Created"
        elif method == "MKCOL" and path not in tree:
            status = "409 Conflict"
        elif method == "PUT" and parent in tree:
            tree[path], status = int(environ.get("CONTENT_LENGTH") or 0), "201 Created"
        start_response(status, [("Content-Length", str(len(out)))])
        return [out]

    return app


def serve_minimal(port: int) -> None:
    from cheroot import wsgi

    wsgi.Server(("127.0.0.1", port), minimal_app({"/": None}), numthreads=32).safe_start()


def main() -> None:
    with workspace() as work:
        source = work / "small"
        make_small_tree(source)
        results: dict[str, float] = {}

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        minimal = Server(
            [sys.executable, "-m", "benchmarks.davfloor", str(port)], url, "/", dict(os.environ)
        )
        try:
            results["minimal WSGI app on cheroot"] = rclone_sync(
                source, f":webdav,url='{url}',vendor=owncloud:x", pacer_zero=True
            )
        finally:
            minimal.stop()

        peer = start_rclone_webdav(work / "rclone")
        try:
            results["rclone serve webdav"] = rclone_sync(
                source, f":webdav,url='{peer.url}',vendor=rclone:x", pacer_zero=True
            )
        finally:
            peer.stop()

        lockr = start_lockr(work / "lockr")
        try:
            _, remote = bench_account(lockr)
            results["lockr"] = rclone_sync(source, remote + "x", pacer_zero=True)
        finally:
            lockr.stop()

    peer_seconds = results["rclone serve webdav"]
    print("\nWebDAV floor: rclone sync of 1000 x 4 KiB, pacer 0")
    print(f"{'server':32} {'seconds':>8} {'vs rclone serve webdav':>24}")
    for name, seconds in results.items():
        print(f"{name:32} {seconds:8.2f} {seconds / peer_seconds:23.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        serve_minimal(int(sys.argv[1]))
    else:
        main()
