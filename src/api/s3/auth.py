"""Who signed an S3 request: SigV4 checked against the account's S3 access keys.

Every request must be signed (no anonymous access in this front yet). The key's
secret comes from :meth:`gateway.s3keys.S3Keys.secret_for`; an unknown or revoked key
is ``InvalidAccessKeyId``, a wrong signature ``SignatureDoesNotMatch``. A good
signature records the key's use.

Checking a signature is a little arithmetic once the key's secret is known, so a
request whose key the process has read lately is checked on the event loop; only a
key to read from the database, or a use to record, takes a worker thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool

from api.s3.sigv4 import Verified, verify_request
from gateway.core import Core
from gateway.s3keys import S3Secret


@dataclass(frozen=True)
class Caller:
    """The account a request acts for (its id and username), and its verified
    signature (for the body)."""

    account_id: int
    username: str
    verified: Verified


class _NotCached(Exception):
    """The key is not in the process's cache: check the request in a thread."""


async def authenticate(
    core: Core, method: str, raw_path: str, query_string: str, headers: Mapping[str, str]
) -> Caller:
    """The caller, or one of the ``s3.errors`` (see :func:`~api.s3.sigv4.verify_request`)."""
    keys = core.s3_keys
    found: S3Secret | None = None

    def cached(access_key_id: str) -> str | None:
        nonlocal found
        found = keys.cached(access_key_id)
        if found is None:
            raise _NotCached()
        return found.secret_access_key

    try:
        verified = verify_request(method, raw_path, query_string, headers, cached, clock=core.clock)
    except _NotCached:
        return await run_in_threadpool(
            authenticate_blocking, core, method, raw_path, query_string, headers
        )
    assert found is not None  # the signature was checked with it
    if keys.touch_due(found):
        await run_in_threadpool(keys.touch, found)
    return Caller(found.account_id, found.username, verified)


def authenticate_blocking(
    core: Core, method: str, raw_path: str, query_string: str, headers: Mapping[str, str]
) -> Caller:
    """:func:`authenticate` in a worker thread: database reads, and a write at most
    once a minute per key."""
    found: S3Secret | None = None

    def secret_for(access_key_id: str) -> str | None:
        nonlocal found
        found = core.s3_keys.secret_for(access_key_id)  # None: InvalidAccessKeyId
        return None if found is None else found.secret_access_key

    verified = verify_request(method, raw_path, query_string, headers, secret_for, clock=core.clock)
    assert found is not None  # the signature was checked with it
    core.s3_keys.touch(found)
    return Caller(found.account_id, found.username, verified)
