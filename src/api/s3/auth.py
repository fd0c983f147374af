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
from gateway.errors import UnknownAccessKey
from gateway.s3keys import S3Secret


@dataclass(frozen=True)
class Caller:
    """The account a request acts for, and its verified signature (for the body)."""

    account_id: int
    key_id: int
    verified: Verified


def authenticate(
    core: Core, method: str, raw_path: str, query_string: str, headers: Mapping[str, str]
) -> Caller:
    """Blocking (database reads and a write): run it in a worker thread."""
    found: list[S3Secret] = []

    def secret_for(access_key_id: str) -> str | None:
        try:
            secret = core.s3_keys.secret_for(access_key_id)
        except UnknownAccessKey:
            return None  # verify_request answers InvalidAccessKeyId
        found.append(secret)
        return secret.secret_access_key

    verified = verify_request(method, raw_path, query_string, headers, secret_for, clock=core.clock)
    secret = found[-1]
    core.s3_keys.touch(secret.key_id)
    return Caller(secret.account_id, secret.key_id, verified)
