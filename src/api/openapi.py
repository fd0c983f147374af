"""The OpenAPI 3.1 description of every route, served at ``/api/v1/openapi.json``.

Written by hand next to the routes it describes; ``tests/api/test_openapi.py`` checks
that every served route is described and every described route is served, and
``tests/api/test_openapi_fuzz.py`` that a real server answers as described."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.openapi_parts import BEARER, JSON, errors
from api.openapi_paths import paths
from api.openapi_schemas import schemas


def _shared_errors(method: str, operation: dict[str, Any]) -> dict[str, Any]:
    """The errors any operation of its kind can answer, whatever else it does.

    One that takes credentials: 401 for bad ones, 429 once the caller or its address
    sends too much (requests, wrong passwords), 503 while too many passwords are being
    checked, and, if it changes state, 403 for Basic credentials sent from another
    site. One that reads a JSON body: 400 and 413, and 415 with Basic credentials when
    the body is not labelled JSON."""
    codes: set[int] = set()
    takes_credentials = operation.get("security") != []
    if takes_credentials:
        codes |= {401, 429, 503}
        if method not in ("get", "head"):
            codes.add(403)
    if JSON in operation.get("requestBody", {}).get("content", {}):
        codes |= {400, 413}
        if takes_credentials:
            codes.add(415)
    return errors(*sorted(codes))


MALFORMED = (
    "a request HTTP itself refuses (a malformed header such as a Content-Length that is "
    "not a number), answered by the server in plain text"
)


def _with_shared_errors(by_path: dict[str, Any]) -> dict[str, Any]:
    """Each operation's own answers, the errors of its kind, and 400 for a request the
    HTTP server refuses before any route sees it (plain text, not JSON)."""
    for operations in by_path.values():
        for method, operation in operations.items():
            responses = {**_shared_errors(method, operation), **operation["responses"]}
            bad: dict[str, Any] = responses.get("400") or {"description": "", "content": {}}
            described = bad["description"]
            responses["400"] = {
                "description": f"{described}; or {MALFORMED}" if described else MALFORMED,
                "content": {**bad["content"], "text/plain": {"schema": {"type": "string"}}},
            }
            operation["responses"] = responses
    return by_path


def document(public_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lockr storage API",
            "version": "1",
            "description": "Accounts, S3 access keys, uploads, files and downloads. "
            'Errors are {"error": {"code", "message"}}.',
        },
        "servers": [{"url": public_url}],
        "security": BEARER,
        "paths": _with_shared_errors(paths()),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "username or email, and password. A browser remembers "
                    "these, so a state-changing request a browser marks as cross-site "
                    "(Sec-Fetch-Site, Origin) is refused with 403, and a JSON body must be "
                    "sent as application/json (415 otherwise).",
                },
            },
        },
    }


async def openapi(request: Request) -> Response:
    return JSONResponse(document(request.app.state.core.config.public_url))


routes = [Route("/api/v1/openapi.json", openapi, methods=["GET"])]
