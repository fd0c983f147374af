"""The floor under lockr's pacer-0 small-file sync: rclone sync of 1,000 4 KiB files
(``--transfers=16 --checkers=8 --webdav-pacer-min-sleep 0``) against the smallest
ASGI app that answers it on uvicorn, lockr's own server (an in-memory tree: no auth,
no storage, no database, no wsgidav), against ``rclone serve webdav``, and against
lockr, in one run. How far the minimal app stays behind rclone is what the Python
stack itself costs.

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
    """An ASGI app answering PROPFIND, MKCOL and PUT over ``tree`` (path -> size, or
    ``None`` for a folder): exactly what an rclone sync of new files sends."""

    def response(path: str) -> str:
        size = tree[path]
        date = f"<d:getlastmodified>{formatdate(0, usegmt=True)}</d:getlastmodified>"
        if size is None:
            props = f"<d:resourcetype><d:collection/></d:resourcetype>{date}"
        else:
            props = f"<d:resourcetype/><d:getcontentlength>{size}</d:getcontentlength>{date}"
        return f"<d:response><d:href>{quote(path)}</d:href>{_PROP.format(props)}</d:response>"

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        method, headers = scope["method"], dict(scope["headers"])
        path = scope["path"].rstrip("/") or "/"
        more = True
        while more:
            more = (await receive()).get("more_body", False)
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
            tree[path], status = None, 201
        elif method == "MKCOL" and path not in tree:
            status = 409
        elif method == "PUT" and parent in tree:
            tree[path], status = int(headers.get(b"content-length") or 0), 201
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


def serve_minimal(port: int) -> None:
    import uvicorn

    uvicorn.run(
        minimal_app({"/": None}), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )


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
            results["minimal ASGI app on uvicorn"] = rclone_sync(
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
