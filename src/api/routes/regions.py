"""GET /api/v1/regions: where the caller may put files, and where they go by default."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.requests import acting_principal, core_of, rate_limit


async def list_regions(request: Request) -> Response:
    """Every configured region (any caller may pick one with ``x-upload-region`` or
    a session's ``region``), and the caller's default: its account's, or for a guest
    the server's."""
    core = core_of(request)
    principal = await acting_principal(request, allow_guest=True)
    await rate_limit(request, principal)
    default = principal.account.default_region
    regions = [
        {"name": region.name, "backend": region.backend, "default": region.name == default}
        for region in sorted(core.config.regions.values(), key=lambda region: region.name)
    ]
    return JSONResponse({"regions": regions, "defaultRegion": default})


routes = [Route("/api/v1/regions", list_regions, methods=["GET"])]
