"""The composition root of ``lockr serve``: builds the core once and runs the fronts.

The ASGI app (JSON API, pages) runs on uvicorn; the WebDAV and the S3-compatible
fronts are uvicorn servers of their own listeners in the same event loop. The three
listening sockets are bound first, so that a taken port fails the start at once.
SIGINT and SIGTERM stop the process cleanly: the servers stop accepting and let
requests in flight finish (an upload that cannot finish aborts and leaves nothing
visible), then the core unregisters.

With ``workers`` above 1 this process migrates the database and checks the stores
once, then supervises that many worker processes (:mod:`gateway.workers`), each of
which builds its own core over the same configuration and serves the same sockets.

malloc's thresholds are set first (:mod:`gateway.allocator`; forked workers inherit
them), and each serving process gives freed memory back once it falls idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import uvicorn

from api.app import create_app
from api.s3.app import create_s3_app
from gateway.allocator import IdleTrim, tune_allocator
from gateway.config import Config, Listen
from gateway.core import Core, build_core
from gateway.errors import LockrError
from gateway.listeners import BoundedHttpToolsProtocol
from gateway.workers import Supervisor
from linkservice.routes import link_routes
from webdav.app import create_dav_app

log = logging.getLogger("lockr")

GRACEFUL_SECONDS = 30
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def configure_logging(level: str, *, workers: int = 1) -> None:
    """Log to standard error; with several workers each line names its process."""
    process = "[%(process)d]" if workers > 1 else ""
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s %(levelname)s %(name)s{process} %(message)s",
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
    if config.workers > 1:
        lines.append(f"  workers {config.workers} processes share these listeners")
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
        *,
        on_started: Callable[[], None],
        companions: list[tuple[_Companion, socket.socket]],
    ) -> None:
        super().__init__(config)
        self.on_started = on_started
        self.companions = companions

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
            self.on_started()


LISTENERS = ("HTTP", "WebDAV", "S3")


def _listen_all(config: Config) -> list[socket.socket] | None:
    """The HTTP, WebDAV and S3 listening sockets, or ``None`` (logged) if one cannot
    be had."""
    sockets: list[socket.socket] = []
    for name, listen in zip(LISTENERS, (config.http, config.dav, config.s3), strict=True):
        try:
            sockets.append(_listening_socket(listen))
        except OSError as error:
            log.error("cannot listen for %s on %s: %s", name, listen, error)
            for sock in sockets:
                sock.close()
            return None
    return sockets


def _run(core: Core, sockets: list[socket.socket], *, on_started: Callable[[], None]) -> int:
    """Serve the fronts of a started ``core`` on ``sockets`` (HTTP, WebDAV, S3) until
    SIGINT or SIGTERM; calls ``on_started`` once they serve. Returns the exit code."""
    config = core.config
    http, dav_socket, s3_socket = sockets
    dav = _Companion(_uvicorn_config(create_dav_app(core), config.dav))
    s3 = _Companion(_uvicorn_config(create_s3_app(core), config.s3))
    app = create_app(core, extra_routes=link_routes(core))
    server = _Server(
        _uvicorn_config(app, config.http),
        on_started=on_started,
        companions=[(dav, dav_socket), (s3, s3_socket)],
    )
    with IdleTrim():
        server.run(sockets=[http])
    return 0 if server.started else 1


def serve(config: Config) -> int:
    """Run lockr until SIGINT or SIGTERM, in one process or, with ``workers`` above
    1, in that many worker processes (:mod:`gateway.workers`). Returns the process
    exit code."""
    configure_logging(config.log_level, workers=config.workers)
    tune_allocator()
    sockets = _listen_all(config)
    if sockets is None:
        return 1
    try:
        if config.workers > 1:
            return _supervise(config, sockets)
        core = build_core(config)
        core.start()
        try:
            return _run(core, sockets, on_started=lambda: print(banner(core), flush=True))
        finally:
            core.close()
    finally:
        for sock in sockets:
            sock.close()
        log.info("lockr stopped")


def _supervise(config: Config, sockets: list[socket.socket]) -> int:
    """Migrate and check the stores once, then run the workers: each builds a core of
    its own (its own recovery instance) and serves on the inherited ``sockets``."""
    core = build_core(config)
    try:
        core.check_stores()
        text = banner(core)
    finally:
        core.dispose()

    def worker(serving: Callable[[], None]) -> int:
        own = build_core(config, migrate=False)
        try:
            own.start()
        except LockrError as error:
            log.error("%s", error.message)
            own.dispose()
            return 2
        try:
            return _run(own, sockets, on_started=serving)
        finally:
            own.close()

    return Supervisor(config.workers, worker, on_serving=lambda: print(text, flush=True)).run()
