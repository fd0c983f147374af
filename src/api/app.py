"""The ASGI application: JSON API v1, pages, the web app and the health check, over one
:class:`Core`."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import openapi, pages, webapp
from api.access_log import AccessLog
from api.errors import HANDLERS
from api.routes import (
    accounts,
    archive,
    downloads,
    entries,
    files,
    rclone,
    regions,
    s3keys,
    shares,
    uploads,
)
from gateway.core import Core

log = logging.getLogger("lockr")


async def healthz(request: Request) -> Response:
    """GET /healthz -> 200 {"status": "ok"} when the database answers, else 503 (a
    load balancer's signal to send requests elsewhere)."""
    core: Core = request.app.state.core
    try:
        await run_in_threadpool(core.db.ping)
    except SQLAlchemyError:
        log.warning("health check: the database does not answer", exc_info=True)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


def api_routes() -> list[BaseRoute]:
    """Every route this front serves (the OpenAPI test walks them)."""
    return [
        Route("/healthz", healthz, methods=["GET"]),
        *accounts.routes,
        *s3keys.routes,
        *rclone.routes,
        *uploads.routes,
        *regions.routes,
        *files.routes,
        *entries.routes,
        *shares.routes,
        *downloads.routes,
        *archive.routes,
        *openapi.routes,
        *pages.routes,
    ]


def create_app(core: Core, *, extra_routes: list[BaseRoute] | None = None) -> AccessLog:
    """Build the ASGI app: the JSON API, its pages and the web app. ``extra_routes``
    lets the composition root mount routes of other fronts (the link service) on the
    same listener, after these."""
    routes = api_routes() + webapp.routes() + (extra_routes or [])
    app = Starlette(routes=routes, exception_handlers=HANDLERS)
    app.state.core = core
    return AccessLog(app)
