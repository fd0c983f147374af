"""The composition root of ``lockr serve``: builds the core once and runs the fronts.

The ASGI app (JSON API, pages) runs on uvicorn; the WebDAV and the S3-compatible
fronts are uvicorn servers of their own listeners in the same event loop. SIGINT and
SIGTERM stop the process cleanly: the servers stop accepting and let requests in
flight finish (an upload that cannot finish aborts and leaves nothing visible), then
the core unregisters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn

from api.app import create_app
from api.s3.app import create_s3_app
from gateway.config import Config, Listen
from gateway.core import Core, build_core
from gateway.listeners import BoundedHttpToolsProtocol
from linkservice.routes import link_routes
from webdav.app import create_dav_app

log = logging.getLogger("lockr")

GRACEFUL_SECONDS = 30
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
        force=True,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _s3_addressing(domain: str | None) -> str:
    return f"path-style, and BUCKET.{domain}" if domain else "path-style"


def banner(core: Core) -> str:
    config = core.config
    lines = [
        "lockr is running",
        f"  HTTP    {config.public_url}  (web app, JSON API /api/v1; sign up at /signup)",
        f"  WebDAV  http://{config.dav}{config.dav_mount}<username>/  (rclone: vendor = owncloud)",
        f"  S3      http://{config.s3}  ({_s3_addressing(config.s3_domain)}; "
        "keys from POST /api/v1/s3-keys)",
        f"  data    {config.data}",
    ]
    if core.accounts.count() == 0:
        lines.append(
            f"  no accounts yet: create one at {config.public_url}/signup "
            "or with `lockr user add NAME --email EMAIL`"
        )
    lines.append("  stop with Ctrl+C")
    return "\n".join(lines)


def _uvicorn_config(app: Any, listen: Listen) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=listen.host,
        port=listen.port,
        access_log=False,
        log_config=None,
        lifespan="off",
        server_header=False,
        # The fronts read X-Forwarded-For themselves, only when configured to.
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        http=BoundedHttpToolsProtocol,
    )


def _listening_socket(listen: Listen) -> socket.socket:
    """A socket bound and listening on ``listen``, so that connections queue from now
    on, before its server runs; raises OSError (the address is taken, say)."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((listen.host, listen.port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _Companion(uvicorn.Server):
    """A uvicorn server run beside the main one, in its event loop: the main server
    handles the signals and stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Server(uvicorn.Server):
    def __init__(
        self,
        config: uvicorn.Config,
        core: Core,
        *,
        companions: list[tuple[_Companion, socket.socket]] | None = None,
    ) -> None:
        super().__init__(config)
        self.core = core
        self.companions = companions or []

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        running = [
            asyncio.create_task(companion.serve(sockets=[sock]))
            for companion, sock in self.companions
        ]
        try:
            await super().serve(sockets)
        finally:
            for companion, _ in self.companions:
                companion.should_exit = True
            await asyncio.gather(*running, return_exceptions=True)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        for companion, _ in self.companions:
            companion.should_exit = True
            companion.force_exit = self.force_exit

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Like uvicorn's, but a graceful stop on SIGINT/SIGTERM ends with exit code 0
        instead of re-raising the signal once the server has shut down."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if self.started:
            print(banner(self.core), flush=True)


def serve(config: Config) -> int:
    """Run lockr until SIGINT or SIGTERM. Returns the process exit code."""
    configure_logging(config.log_level)
    core = build_core(config)
    core.start()
    sockets: list[socket.socket] = []
    try:
        for name, listen in (("WebDAV", config.dav), ("S3", config.s3)):
            try:
                sockets.append(_listening_socket(listen))
            except OSError as error:
                log.error("cannot listen for %s on %s: %s", name, listen, error)
                return 1
        dav = _Companion(_uvicorn_config(create_dav_app(core), config.dav))
        s3 = _Companion(_uvicorn_config(create_s3_app(core), config.s3))
        app = create_app(core, extra_routes=link_routes(core))
        server = _Server(
            _uvicorn_config(app, config.http),
            core,
            companions=[(dav, sockets[0]), (s3, sockets[1])],
        )
        server.run()
        return 0 if server.started else 1
    finally:
        for sock in sockets:
            sock.close()
        core.close()
        log.info("lockr stopped")
