"""The ACL headers a write may carry while ACLs are disabled (:mod:`api.s3.acl`):
``x-amz-acl`` ``private`` or ``bucket-owner-full-control``, which grant nothing
beyond the owner's full control; any other canned ACL, or an ``x-amz-grant-*``
header, refuses the write before anything is written."""

from __future__ import annotations

from collections.abc import Mapping

from api.s3.errors import AccessControlListNotSupported, InvalidBucketAclWithObjectOwnership

OWNER_ONLY = frozenset(("private", "bucket-owner-full-control"))
"""The canned ACLs that grant nothing beyond the owner's full control."""
GRANTS = (
    "x-amz-grant-full-control",
    "x-amz-grant-read",
    "x-amz-grant-read-acp",
    "x-amz-grant-write",
    "x-amz-grant-write-acp",
)


def refuse_grants(headers: Mapping[str, str], *, bucket: bool = False) -> None:
    """Refuse a write whose headers grant anything beyond the owner's full control
    (see the module); ``bucket`` for CreateBucket's error."""
    canned = headers.get("x-amz-acl")
    if (canned is not None and canned.strip() not in OWNER_ONLY) or any(
        name in headers for name in GRANTS
    ):
        raise InvalidBucketAclWithObjectOwnership() if bucket else AccessControlListNotSupported()
