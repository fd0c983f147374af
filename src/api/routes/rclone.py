"""``POST /api/v1/rclone-config``: a ready rclone remote for the caller, with a new
credential in it (shown this once), and the storage seed's migration command."""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.requests import check_fields, core_of, json_body, rate_limit, require_principal
from gateway import rclone
from gateway.errors import BadRequest

REMOTE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


async def rclone_config(request: Request) -> Response:
    """POST /api/v1/rclone-config {"kind": "webdav" | "s3", "remote"?} -> 201
    {"kind", "remote", "config", "command"}: ``config`` is an rclone.conf section
    holding a new login token (webdav) or S3 access key (s3)."""
    core = core_of(request)
    principal = await require_principal(request)
    await rate_limit(request, principal)
    body = await json_body(request, optional=True)
    check_fields(body, required=set(), optional={"kind", "remote"})
    kind, remote = body.get("kind", "webdav"), body.get("remote", "lockr")
    if kind not in ("webdav", "s3"):
        raise BadRequest("kind must be webdav or s3")
    if not isinstance(remote, str) or not REMOTE.match(remote):
        raise BadRequest(
            "remote must be 1-32 of a-z, 0-9, _ and -, starting with a letter or digit"
        )
    account = principal.account
    if kind == "s3":
        info, secret = await run_in_threadpool(core.s3_keys.create, account.id, "rclone")
        text = rclone.s3_remote(
            remote,
            core.config,
            rclone.s3_endpoint(core.config),
            info.access_key_id,
            secret,
            account.default_region,
        )
    else:
        _token, secret = await run_in_threadpool(core.accounts.create_token, account.id, "rclone")
        text = rclone.webdav_remote(
            remote, rclone.webdav_url(core.config), secret, account.username
        )
    return JSONResponse(
        {
            "kind": kind,
            "remote": remote,
            "config": text,
            "command": rclone.migration_command(remote, account.username),
        },
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


routes = [Route("/api/v1/rclone-config", rclone_config, methods=["POST"])]
