"""Who signed an S3 request: SigV4 checked against the account's S3 access keys.

Every request must be signed (no anonymous access in this front yet). The key's
secret comes from :meth:`gateway.s3keys.S3Keys.secret_for`; an unknown or revoked key
is ``InvalidAccessKeyId``, a wrong signature ``SignatureDoesNotMatch``. A good
signature records the key's use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from api.s3.sigv4 import Verified, verify_request
from gateway.core import Core
from gateway.s3keys import S3Secret


@dataclass(frozen=True)
class Caller:
    """The account a request acts for, and its verified signature (for the body)."""

    account_id: int
    verified: Verified


def authenticate(
    core: Core, method: str, raw_path: str, query_string: str, headers: Mapping[str, str]
) -> Caller:
    """Blocking (database reads, and a write at most once a minute per key): run it in
    a worker thread."""
    found: S3Secret | None = None

    def secret_for(access_key_id: str) -> str | None:
        nonlocal found
        found = core.s3_keys.secret_for(access_key_id)  # None: InvalidAccessKeyId
        return None if found is None else found.secret_access_key

    verified = verify_request(method, raw_path, query_string, headers, secret_for, clock=core.clock)
    assert found is not None  # the signature was checked with it
    core.s3_keys.touch(found)
    return Caller(found.account_id, verified)
