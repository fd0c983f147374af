"""The composition root of ``lockr serve``: builds the core once and runs the fronts.

The ASGI app (JSON API, pages) runs on uvicorn; WebDAV gets its own cheroot listener
in a background thread of the same process. SIGINT and SIGTERM stop the process
cleanly: uvicorn stops accepting and lets requests in flight finish (an upload that
cannot finish aborts and leaves nothing visible), cheroot does the same, then the
core unregisters.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn

from api.app import create_app
from gateway.config import Config
from gateway.core import Core, build_core
from gateway.listeners import BoundedHttpToolsProtocol
from linkservice.routes import link_routes
from webdav.app import DavServer

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


def banner(core: Core) -> str:
    config = core.config
    lines = [
        "lockr is running",
        f"  HTTP    {config.public_url}  (JSON API /api/v1, sign-up and sign-in at /account)",
        f"  WebDAV  http://{config.dav}{config.dav_mount}<username>/  (rclone: vendor = owncloud)",
        f"  data    {config.data}",
    ]
    if core.accounts.count() == 0:
        lines.append(
            f"  no accounts yet: create one at {config.public_url}/account "
            "or with `lockr user add NAME --email EMAIL`"
        )
    lines.append("  stop with Ctrl+C")
    return "\n".join(lines)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, core: Core) -> None:
        super().__init__(config)
        self.core = core

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
    dav: DavServer | None = None
    try:
        dav = DavServer(core)
        try:
            dav.start()
        except OSError as error:
            log.error("cannot listen for WebDAV on %s: %s", config.dav, error)
            return 1
        app = create_app(core, extra_routes=link_routes(core))
        server = _Server(
            uvicorn.Config(
                app,
                host=config.http.host,
                port=config.http.port,
                access_log=False,
                log_config=None,
                lifespan="off",
                server_header=False,
                # The fronts read X-Forwarded-For themselves, only when configured to.
                proxy_headers=False,
                timeout_graceful_shutdown=GRACEFUL_SECONDS,
                http=BoundedHttpToolsProtocol,
            ),
            core,
        )
        server.run()
        return 0 if server.started else 1
    finally:
        if dav is not None:
            dav.stop()
        core.close()
        log.info("lockr stopped")
