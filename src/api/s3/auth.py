"""Who signed an S3 request: SigV4 checked against the account's S3 access keys.

Every request must be signed (no anonymous access in this front yet). The key's
secret comes from :meth:`gateway.s3keys.S3Keys.secret_for`; an unknown or revoked key
is ``InvalidAccessKeyId``, a wrong signature ``SignatureDoesNotMatch``. A good
signature records the key's use.

Checking a signature is a little arithmetic once the key's secret is known, so it is
done on the event loop, with the key the process keeps from an earlier request; only
a key to read (:meth:`~api.s3.threads.Lookups.read`) or a use to record (a write, in
a thread) waits for the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from api.s3.sigv4 import Verified, verify_request
from api.s3.threads import Lookups
from gateway.core import Core
from gateway.s3keys import S3Secret


@dataclass(frozen=True)
class Caller:
    """The account a request acts for (its id and username), and its verified
    signature (for the body)."""

    account_id: int
    username: str
    verified: Verified


class _NotKept(Exception):
    """The process does not keep the key the request names: it must be read."""

    def __init__(self, access_key_id: str) -> None:
        super().__init__()
        self.access_key_id = access_key_id


async def authenticate(
    core: Core,
    lookups: Lookups,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
) -> Caller:
    """The caller, or one of the ``s3.errors`` (see :func:`~api.s3.sigv4.verify_request`).
    ``headers`` MUST be by lowercase name, as :func:`api.s3.app.request_headers`
    gives them."""
    keys = core.s3_keys
    found: S3Secret | None = None

    def kept(access_key_id: str) -> str | None:
        nonlocal found
        found = keys.cached(access_key_id)
        if found is None:
            raise _NotKept(access_key_id)
        return found.secret_access_key

    def read(_access_key_id: str) -> str | None:
        return None if found is None else found.secret_access_key  # None: InvalidAccessKeyId

    try:
        verified = verify_request(
            method, raw_path, query_string, headers, kept, clock=core.clock, lowercase=True
        )
    except _NotKept as missing:
        found = await lookups.read(keys.secret_for, missing.access_key_id)
        verified = verify_request(
            method, raw_path, query_string, headers, read, clock=core.clock, lowercase=True
        )
    assert found is not None  # the signature was checked with it
    if keys.touch_due(found):
        await lookups.thread(keys.touch, found)
    return Caller(found.account_id, found.username, verified)
