"""The account's tree of folders and files: list a folder a page at a time, make a
folder, rename or move an entry, delete one (``/api/v1/entries…``, ``/api/v1/folders``).

Entries are named by id (a file's download id ``REGION_OBJECT``, a folder's
``folder_OBJECT``) and a folder's listing by its path. A listing's cursor is opaque to
clients: it holds where the page ended, in the order it was asked for."""

from __future__ import annotations

import base64
import json
import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.files_json import entry_json
from api.requests import check_fields, core_of, json_body, rate_limit, require_principal
from gateway.auth import Principal
from gateway.errors import BadRequest, Forbidden
from gateway.files import uid_of
from gateway.folders import MAX_PAGE, SORTS, Position
from gateway.numbers import whole_number
from gateway.storage import Entry, check_new_name

DEFAULT_PAGE = 100
ORDERS = ("asc", "desc")
KINDS = ("all", "folder")


async def list_entries(request: Request) -> Response:
    """GET /api/v1/entries?path=&sort=&order=&limit=&cursor=&kind= -> {"folder",
    "entries", "nextCursor", "count"}; ``count`` on the first page only."""
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    query = request.query_params
    path = query.get("path", "")
    sort = query.get("sort", "name")
    order = query.get("order", "asc")
    kind = query.get("kind", "all")
    if sort not in SORTS:
        raise BadRequest(f"sort must be one of {', '.join(SORTS)}")
    if order not in ORDERS:
        raise BadRequest("order must be asc or desc")
    if kind not in KINDS:
        raise BadRequest("kind must be all or folder")
    limit = DEFAULT_PAGE
    if "limit" in query:
        limit = whole_number(query["limit"], "limit")
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
    listed = (sort, order, kind)
    cursor = query.get("cursor") or None
    after = None if cursor is None else _decode_cursor(cursor, listed)
    page = await run_in_threadpool(
        lambda: core.folders.page(
            principal.account_id,
            path,
            sort=sort,
            descending=order == "desc",
            after=after,
            limit=limit,
            folders_only=kind == "folder",
            count=cursor is None,
        )
    )
    base = core.config.public_url
    return JSONResponse(
        {
            "folder": entry_json(page.folder, base),
            "entries": [entry_json(entry, base) for entry in page.entries],
            "nextCursor": None if page.next is None else _encode_cursor(page.next, listed),
            "count": page.count,
        }
    )


async def make_folder(request: Request) -> Response:
    """POST /api/v1/folders {"path"} -> 201 with the folder; its parent must exist."""
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    body = await json_body(request)
    check_fields(body, required={"path"}, optional=set())
    if not isinstance(body["path"], str):
        raise BadRequest("path must be the new folder's path, such as 'photos/2024'")
    folder = await run_in_threadpool(core.storage.mkdir, principal.account_id, body["path"])
    return JSONResponse(entry_json(folder, core.config.public_url), status_code=201)


async def _own_entry(request: Request) -> tuple[Principal, Entry]:
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    entry = await run_in_threadpool(core.storage.get, uid_of(request.path_params["entry_id"]))
    if entry.account_id != principal.account_id:
        raise Forbidden("this entry belongs to another account")
    return principal, entry


async def change_entry(request: Request) -> Response:
    """PATCH /api/v1/entries/{id} {"name"?, "parentId"?} -> 200 with the entry, renamed
    and/or moved into the folder ``parentId``; 409 where the name is taken."""
    core = core_of(request)
    principal, entry = await _own_entry(request)
    body = await json_body(request)
    check_fields(body, required=set(), optional={"name", "parentId"})
    name = body.get("name", entry.name)
    parent_id = body.get("parentId")
    if not isinstance(name, str):
        raise BadRequest("name must be a string")
    if "name" in body:
        check_new_name(name)  # a name given; one made before the checks may move as it is
    if parent_id is not None and not isinstance(parent_id, str):
        raise BadRequest("parentId must be a folder's id")
    if entry.parent_id is None:
        raise Forbidden("the root folder cannot be renamed or moved")

    def move() -> Entry:
        if parent_id is None:
            folder = entry.path.rpartition("/")[0]
        else:
            folder = core.folders.folder_of(principal.account_id, uid_of(parent_id)).path
        return core.storage.move(principal.account_id, entry, f"{folder}/{name}", overwrite=False)

    moved = await run_in_threadpool(move)
    return JSONResponse(entry_json(moved, core.config.public_url))


async def delete_entry(request: Request) -> Response:
    """DELETE /api/v1/entries/{id} -> 204; a folder goes with everything in it."""
    core = core_of(request)
    principal, entry = await _own_entry(request)
    await run_in_threadpool(core.storage.delete, principal.account_id, entry)
    return Response(status_code=204)


def _encode_cursor(position: Position, listed: tuple[str, str, str]) -> str:
    raw = json.dumps([*listed, position.is_dir, position.value, position.name])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, listed: tuple[str, str, str]) -> Position:
    """The position a cursor holds; 400 for one this listing did not give (another
    sort, order or kind, or anything else)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort, order, kind, is_dir, value, name = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        raise BadRequest("cursor is not one this API returned") from None
    if (sort, order, kind) != listed or not isinstance(is_dir, bool) or not _usable(name, "name"):
        raise BadRequest("cursor is not one this API returned for this sort, order and kind")
    if not _usable(value, listed[0]):
        raise BadRequest("cursor is not one this API returned for this sort, order and kind")
    return Position(is_dir, value, name)


def _usable(value: object, sort: str) -> bool:
    """Whether a cursor's value could be a sort value of ``sort``, one the database
    can compare: text that is UTF-8, a 64-bit whole number, a finite number."""
    if sort in ("name", "type"):
        if not isinstance(value, str):
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if sort == "size":
        return type(value) is int and 0 <= value < 2**63
    return type(value) in (int, float) and math.isfinite(value)  # type: ignore[arg-type]


routes = [
    Route("/api/v1/entries", list_entries, methods=["GET"]),
    Route("/api/v1/folders", make_folder, methods=["POST"]),
    Route("/api/v1/entries/{entry_id}", change_entry, methods=["PATCH"]),
    Route("/api/v1/entries/{entry_id}", delete_entry, methods=["DELETE"]),
]
