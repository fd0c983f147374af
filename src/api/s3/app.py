"""The S3-compatible front: an ASGI app on its own listener (``s3``, see
:mod:`gateway.server`). Path-style addressing: ``/`` is the service, ``/bucket`` a
bucket, ``/bucket/key`` an object; virtual-host style too when ``s3_domain`` is set
(:mod:`api.s3.addressing`).

Every request is signed (SigV4, :mod:`s3.auth`), counted by the shared burst limiter,
then dispatched on its method, its path, its query and (CopyObject) its
``x-amz-copy-source`` header. Every answer carries an ``x-amz-request-id``; every
error is S3's XML error document. The domain errors of the core are translated here
(:func:`~api.s3.errors.as_s3_error`); the handlers (:mod:`s3.buckets`,
:mod:`s3.listing`, :mod:`s3.multidelete`, :mod:`s3.objects`, :mod:`s3.copy`,
:mod:`s3.multipart`) only translate too.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from api.access_log import AccessLog
from api.s3 import acl, attributes, buckets, copy, listing, multidelete, multipart, objects
from api.s3.addressing import address
from api.s3.auth import authenticate
from api.s3.buckets import require_bucket, valid_bucket_name
from api.s3.context import Handler, S3Request
from api.s3.errors import (
    InternalError,
    MethodNotAllowed,
    NotImplementedYet,
    as_s3_error,
)
from api.s3.threads import Lookups
from api.s3.xml import error_document
from gateway.auth import client_address
from gateway.core import Core
from gateway.errors import LockrError

log = logging.getLogger("lockr")

UNSUPPORTED = frozenset(
    {
        "accelerate",
        "analytics",
        "cors",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "policy",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "tagging",
        "torrent",
        "website",
    }
)
"""Sub-resources this front does not serve yet: ``NotImplemented`` (501)."""

BUCKET_QUERIES: dict[tuple[str, str], Handler] = {
    ("GET", "acl"): acl.get_bucket_acl,
    ("PUT", "acl"): acl.put_bucket_acl,
    ("GET", "ownershipControls"): acl.get_bucket_ownership_controls,
    ("PUT", "ownershipControls"): acl.put_bucket_ownership_controls,
    ("GET", "location"): buckets.get_bucket_location,
    ("GET", "versioning"): buckets.get_bucket_versioning,
    ("GET", "versions"): listing.list_object_versions,
    ("POST", "delete"): multidelete.delete_objects,
}
"""The bucket sub-resources served, by method and query parameter; another method
on one of them (PutBucketVersioning) is ``NotImplemented``."""
_SUBRESOURCES = frozenset(name for _, name in BUCKET_QUERIES)
BUCKET_HANDLERS: dict[str, Handler] = {
    "PUT": buckets.create_bucket,
    "HEAD": buckets.head_bucket,
    "DELETE": buckets.delete_bucket,
}
"""A bucket's operations without a sub-resource, by method (GET: a listing)."""
OBJECT_ACL: dict[str, Handler] = {"GET": acl.get_object_acl, "PUT": acl.put_object_acl}
"""GetObjectAcl and PutObjectAcl (:mod:`api.s3.acl`)."""
OBJECT_HANDLERS: dict[str, Handler] = {
    "PUT": objects.put_object,
    "GET": objects.get_object,
    "HEAD": objects.get_object,
    "DELETE": objects.delete_object,
}
"""An object's operations without a sub-resource, by method (a PUT that names a
copy source is CopyObject)."""


def _route(method: str, bucket: str, key: str, query: set[str], *, copying: bool) -> Handler:
    if query & UNSUPPORTED:
        raise NotImplementedYet(
            f"This S3 operation is not supported yet ({', '.join(sorted(query & UNSUPPORTED))})."
        )
    if not bucket:
        if method == "GET":
            return buckets.list_buckets
        raise MethodNotAllowed()
    if query & multipart.QUERIES:
        return multipart.route(method, key, query)
    if not key:
        named = sorted(query & _SUBRESOURCES)
        if named:
            served = BUCKET_QUERIES.get((method, named[0]))
            if served is None:
                raise NotImplementedYet(f"This S3 operation is not supported yet ({named[0]}).")
            return served
        if method == "GET":
            return listing.list_objects_v2 if "list-type" in query else listing.list_objects_v1
        handler = BUCKET_HANDLERS.get(method)
    elif "acl" in query:
        handler = OBJECT_ACL.get(method)
        if handler is None:
            raise NotImplementedYet("This S3 operation is not supported yet (acl).")
    elif "attributes" in query:
        if method != "GET":
            raise NotImplementedYet("This S3 operation is not supported yet (attributes).")
        handler = attributes.get_object_attributes
    elif copying and method == "PUT":
        handler = copy.copy_object
    else:
        handler = OBJECT_HANDLERS.get(method)
    if handler is None:
        raise MethodNotAllowed()
    return handler


def request_headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lowercase name, a repeated header's values joined
    with commas (as SigV4 signs them): one pass over the ASGI list, for the
    lookups every request makes (starlette's ``Headers`` scans the list each time)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


class _BodyWatch:
    """Tells whether a request's body has been read to its end."""

    def __init__(self, headers: dict[str, str], receive: Receive) -> None:
        length = headers.get("content-length", "0").strip()
        self.finished = length in ("", "0") and "transfer-encoding" not in headers
        self._receive = receive

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            self.finished = True
        return message


class S3App:
    """The ASGI app of the S3 front over one core."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.lookups = Lookups(core.threads, inline_reads=core.db.is_sqlite)
        self._id_prefix = secrets.token_hex(4).upper()
        self._ids = itertools.count()
        """Request ids: this app's random prefix, then a count (unique, and no
        random bytes for each request)."""
        self._taking: asyncio.Future[None] | None = None
        """The burst counts being taken in a thread, if they are (:meth:`_admit`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = request_headers(scope)
        body = _BodyWatch(headers, receive)
        request = Request(scope, body.receive)
        request_id = f"{self._id_prefix}{next(self._ids) & 0xFFFFFFFF:08X}"
        key = ""
        try:
            raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("utf-8", "replace")
            bucket, key = address(raw_path, headers.get("host", ""), self.core.config.s3_domain)
            response = await self._handle(request, headers, raw_path, bucket, key, request_id)
        except Exception as error:  # every failure becomes S3's XML error document
            response = self._error(request, error, key, request_id)
        # Appended as they go out (no handler sets them): cheaper than by name.
        response.raw_headers.append((b"x-amz-request-id", request_id.encode()))
        if not body.finished:
            # The client may still send (or be about to send, after Expect:
            # 100-continue) a body nobody reads: the connection cannot be reused.
            response.raw_headers.append((b"connection", b"close"))
        await response(scope, body.receive, send)

    async def _handle(
        self,
        request: Request,
        headers: dict[str, str],
        raw_path: str,
        bucket: str,
        key: str,
        request_id: str,
    ) -> Response:
        core = self.core
        query_string = request.scope.get("query_string", b"").decode("latin-1")
        lookups = self.lookups
        caller = await authenticate(core, lookups, request.method, raw_path, query_string, headers)
        peer = request.scope.get("client")
        client = client_address(
            peer[0] if peer else "",
            headers.get("x-forwarded-for"),
            trust_proxy=core.config.trust_proxy_headers,
        )
        await self._admit(caller.account_id, client)
        s3 = S3Request(core, request, headers, caller, bucket, key, request_id, lookups)
        try:
            handler = _route(
                request.method,
                bucket,
                key,
                set(request.query_params.keys()) if query_string else set(),
                copying=copy.SOURCE in headers,
            )
        except NotImplementedYet:
            if bucket and valid_bucket_name(bucket):
                await lookups.read(require_bucket, s3)  # a missing bucket is NoSuchBucket
            raise
        return await handler(s3)

    async def _admit(self, account_id: int, client: str) -> None:
        """Count the request against the burst limits (``SlowDown`` past them).

        Mostly against the counts this process holds, on the loop. When they run out,
        one request takes more in a thread (a database write); the requests that find
        it doing so wait for it and count again, rather than each taking a thread
        that would only wait for the limiter's lock and find the counts taken."""
        limiter = self.core.s3_limiter
        while not limiter.check_held(account_id=account_id, address=client):
            taking = self._taking
            if taking is None or taking.done():
                break
            await asyncio.wait((taking,))  # its outcome is its request's, not ours
        else:
            return
        self._taking = taking = asyncio.ensure_future(
            self.lookups.thread(limiter.check, account_id=account_id, address=client)
        )
        try:
            await taking
        finally:
            if self._taking is taking:
                self._taking = None

    def _error(self, request: Request, error: Exception, key: str, request_id: str) -> Response:
        if isinstance(error, LockrError):
            s3_error = as_s3_error(error, key=key)
        else:
            log.exception("S3 %s %s failed", request.method, request.url.path)
            s3_error = InternalError()
        headers = {}
        if error_retry := getattr(error, "retry_after", None):
            headers["Retry-After"] = str(error_retry)
        if request.method == "HEAD":
            return Response(status_code=s3_error.status, headers=headers)
        body = error_document(s3_error.code, s3_error.message, request.url.path, request_id)
        return Response(
            body, status_code=s3_error.status, headers=headers, media_type="application/xml"
        )


def create_s3_app(core: Core) -> AccessLog:
    """The S3 front, with one access-log line per request (as the other fronts)."""
    return AccessLog(S3App(core))
