"""One log line per request: method, path (never the query string, which may carry
a key hash), status, bytes sent, duration and client address. Credentials are never
logged."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.logsafe import loggable

log = logging.getLogger("lockr.access")


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)  # nothing to count for a line not written
            return
        started = time.perf_counter()
        # Read now: routing adds a mount's prefix to the scope's root_path as it goes.
        where = loggable(scope.get("root_path", "") + scope["path"])
        status = 0
        sent = 0

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            client = scope.get("client")
            log.info(
                "%s %s %s %d %.1fms %s",
                scope["method"],
                where,
                status or "-",
                sent,
                (time.perf_counter() - started) * 1000,
                client[0] if client else "-",
            )
