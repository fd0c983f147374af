"""The web app: one sign-in, and pages (files, settings) whose scripts are clients of
the JSON API. ``routes()`` is every route it serves."""

from __future__ import annotations

from starlette.routing import BaseRoute

from api.layout import static_mount
from api.webapp import pages, signin


def routes() -> list[BaseRoute]:
    return [*signin.routes, *pages.routes, static_mount()]
