"""The OpenAPI document and the routes agree, both ways."""

from __future__ import annotations

import httpx
from starlette.routing import Route

from api.app import api_routes
from api.openapi import document
from tests.conftest import LockrProcess


def served() -> set[tuple[str, str]]:
    pairs = set()
    for route in api_routes():
        assert isinstance(route, Route)
        for method in route.methods or ():
            if (
                method == "HEAD"
                and "GET" in (route.methods or ())
                and route.path != ("/api/v1/download/{file_id}")
            ):
                continue
            pairs.add((method.lower(), route.path))
    return pairs


def documented() -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, operations in document("http://x")["paths"].items()
        for method in operations
    }


def test_every_route_is_documented_and_every_documented_route_exists() -> None:
    assert served() - documented() == set(), "served but not in the OpenAPI document"
    assert documented() - served() == set(), "documented but not served"


def test_served_over_http(server: LockrProcess) -> None:
    response = httpx.get(server.url + "/api/v1/openapi.json")
    assert response.status_code == 200
    body = response.json()
    assert body["openapi"] == "3.1.0"
    assert body["servers"] == [{"url": server.url}]
