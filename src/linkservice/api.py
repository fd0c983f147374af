"""The links JSON API: ``/api/v1/api-key`` (managed by the signed-in owner) and
``/api/v1/links`` (with the API key), exactly as the links seed documents them."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.errors import error_response
from api.requests import json_body
from gateway.errors import BadRequest, QuotaExceeded
from gateway.numbers import whole_number
from linkservice.http import api_key_caller, signed_in_owner
from linkservice.service import LinkService, key_json
from linkservice.validation import parse_link_request

NO_STORE = {"Cache-Control": "no-store"}
MAX_PAGE = 100


class LinkApi:
    def __init__(self, service: LinkService) -> None:
        self.service = service
        self.core = service.core

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/v1/api-key", self.read_key, methods=["GET"]),
            Route("/api/v1/api-key", self.create_key, methods=["POST"]),
            Route("/api/v1/api-key", self.revoke_key, methods=["DELETE"]),
            Route("/api/v1/api-key/rotate", self.rotate_key, methods=["POST"]),
            Route("/api/v1/links", self.create_link, methods=["POST"]),
            Route("/api/v1/links", self.list_links, methods=["GET"]),
            Route("/api/v1/links/{link_id}", self.get_link, methods=["GET"]),
            Route("/api/v1/links/{link_id}", self.delete_link, methods=["DELETE"]),
        ]

    # -- the key, managed by its owner ---------------------------------------------------

    async def read_key(self, request: Request) -> Response:
        """GET /api/v1/api-key -> the active key's prefix and times, and this month's
        quota use; never the key or its hash."""
        owner = await signed_in_owner(request, self.core)
        info = await run_in_threadpool(self.core.api_keys.info, owner.account_id)
        quota = self.service.monthly_quota(owner.account_id)
        used = await run_in_threadpool(self.core.counters.used, quota)
        return JSONResponse(
            {
                "apiKey": key_json(info),
                "plan": owner.account.plan,
                "quota": {
                    "limit": quota.limit,
                    "used": used,
                    "remaining": max(0, quota.limit - used),
                    "resetsAt": int(quota.resets_at),
                },
            },
            headers=NO_STORE,
        )

    async def create_key(self, request: Request) -> Response:
        """POST /api/v1/api-key -> 201 with the key, shown this once (409 if active)."""
        owner = await signed_in_owner(request, self.core)
        info, key = await run_in_threadpool(self.core.api_keys.create, owner.account_id)
        return JSONResponse(
            {"key": key, "apiKey": key_json(info)}, status_code=201, headers=NO_STORE
        )

    async def rotate_key(self, request: Request) -> Response:
        """POST /api/v1/api-key/rotate -> a new key; the old one stops working at once."""
        owner = await signed_in_owner(request, self.core)
        info, key = await run_in_threadpool(self.core.api_keys.rotate, owner.account_id)
        return JSONResponse({"key": key, "apiKey": key_json(info)}, headers=NO_STORE)

    async def revoke_key(self, request: Request) -> Response:
        """DELETE /api/v1/api-key -> 204; the key stops working at once."""
        owner = await signed_in_owner(request, self.core)
        await run_in_threadpool(self.core.api_keys.revoke, owner.account_id)
        return Response(status_code=204)

    # -- links, with the key -------------------------------------------------------------

    async def create_link(self, request: Request) -> Response:
        """POST /api/v1/links -> 201 with the link (never its password or secret)."""
        account, key = await api_key_caller(request, self.core)
        await run_in_threadpool(self.service.admit, key)
        body = await json_body(request)
        link_request = parse_link_request(body, now=self.core.clock())
        quota = self.service.monthly_quota(account.id)
        try:
            info, used = await run_in_threadpool(
                self.service.links.create, account.id, link_request, source="api", quota=quota
            )
        except QuotaExceeded as error:
            headers = self.service.quota_headers(quota, quota.limit)
            return error_response(error.status, error.code, error.message, headers=headers)
        return JSONResponse(
            self.service.link_json(info),
            status_code=201,
            headers=self.service.quota_headers(quota, used),
        )

    async def list_links(self, request: Request) -> Response:
        """GET /api/v1/links?limit=&cursor= -> {"links": [...], "nextCursor"}."""
        account, key = await api_key_caller(request, self.core)
        await run_in_threadpool(self.service.admit, key)
        limit = _page_size(request.query_params.get("limit"))
        links, cursor = await run_in_threadpool(
            self.service.links.page,
            account.id,
            cursor=request.query_params.get("cursor") or None,
            limit=limit,
        )
        return await self._with_quota(
            account.id,
            {"links": [self.service.link_json(link) for link in links], "nextCursor": cursor},
        )

    async def get_link(self, request: Request) -> Response:
        """GET /api/v1/links/{id} -> the link."""
        account, key = await api_key_caller(request, self.core)
        await run_in_threadpool(self.service.admit, key)
        info = await run_in_threadpool(
            self.service.links.get, account.id, request.path_params["link_id"]
        )
        return await self._with_quota(account.id, self.service.link_json(info))

    async def delete_link(self, request: Request) -> Response:
        """DELETE /api/v1/links/{id} -> 204."""
        account, key = await api_key_caller(request, self.core)
        await run_in_threadpool(self.service.admit, key)
        await run_in_threadpool(
            self.service.links.delete, account.id, request.path_params["link_id"]
        )
        return Response(status_code=204, headers=await self._quota_headers(account.id))

    async def _with_quota(self, account_id: int, body: object) -> Response:
        return JSONResponse(body, headers=await self._quota_headers(account_id))

    async def _quota_headers(self, account_id: int) -> dict[str, str]:
        quota = self.service.monthly_quota(account_id)
        return await run_in_threadpool(self.service.quota_headers, quota)


def _page_size(value: str | None) -> int:
    if value is None or value == "":
        return 50
    number = whole_number(value, "limit")
    if not 1 <= number <= MAX_PAGE:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return number
