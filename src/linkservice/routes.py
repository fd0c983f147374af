"""Every route of the link service, for the composition root to mount on the ASGI
app: the JSON API, the dashboard, then the recipient pages at ``/<slug>`` (last, so
that every other route wins)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from gateway.core import Core
from linkservice.api import LinkApi
from linkservice.dashboard import Dashboard
from linkservice.pages import RecipientPages
from linkservice.service import LinkService


def link_routes(core: Core) -> list[BaseRoute]:
    service = LinkService(core)
    return [
        *LinkApi(service).routes(),
        *Dashboard(service).routes(),
        *RecipientPages(service).routes(),
    ]
