"""Requests for what lockr does not do, refused before anything is written, rather
than taken and silently not done (a client must not believe it has a protection it
has not):

- customer-provided keys (SSE-C) and KMS keys (SSE-KMS) on a write:
  ``501 NotImplemented`` (lockr keeps no keys; the object would be readable without
  the client's key); SSE-C headers on a read: ``400 InvalidRequest``, as S3 answers
  them for an object not encrypted with such a key;
- object lock on a write (retention, legal hold): ``400 InvalidRequest``, as S3
  answers for a bucket without an object lock configuration; a CreateBucket that
  asks for object lock, or for an object ownership other than
  ``BucketOwnerEnforced`` (:mod:`api.s3.acl`): ``501 NotImplemented``;
- tags (a non-empty ``x-amz-tagging``): ``501 NotImplemented`` (an object has none,
  so a CopyObject's ``x-amz-tagging-directive`` ``COPY`` or ``REPLACE`` without tags
  changes nothing; another directive is ``400 InvalidArgument``).

``x-amz-server-side-encryption: AES256`` (S3-managed keys, which S3 applies to every
object anyway) is taken; lockr does not encrypt objects itself (docs/s3.md).
"""

from __future__ import annotations

from collections.abc import Mapping

from api.s3.errors import InvalidArgument, InvalidRequest, NotImplementedYet
from api.s3.grants import refuse_grants

SSE = "x-amz-server-side-encryption"
SSE_C = (
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-server-side-encryption-customer-key-md5",
)
COPY_SOURCE_SSE_C = tuple(name.replace("x-amz-", "x-amz-copy-source-", 1) for name in SSE_C)
KMS = (
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-server-side-encryption-context",
)
OBJECT_LOCK = (
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
)
TAGGING = "x-amz-tagging"


def refuse_unkept(headers: Mapping[str, str]) -> None:
    """Refuse a write (PutObject, CopyObject, CreateMultipartUpload, UploadPart) that
    asks for grants beyond the owner's (:func:`api.s3.grants.refuse_grants`), keys,
    object lock or tags (see the module)."""
    refuse_grants(headers)
    if any(name in headers for name in SSE_C) or any(name in headers for name in KMS):
        raise NotImplementedYet(
            "Server-side encryption with customer-provided or KMS keys is not supported: "
            "lockr keeps no keys."
        )
    if headers.get(SSE, "AES256").strip() != "AES256":
        raise NotImplementedYet("Only x-amz-server-side-encryption: AES256 is taken.")
    if any(name in headers for name in COPY_SOURCE_SSE_C):
        raise InvalidRequest("The encryption parameters are not applicable to this object.")
    if any(name in headers for name in OBJECT_LOCK):
        raise InvalidRequest("Bucket is missing Object Lock Configuration")
    directive = headers.get("x-amz-tagging-directive")
    if directive is not None and directive.strip() not in ("COPY", "REPLACE"):
        raise InvalidArgument(f"Unknown tagging directive: {directive.strip()[:32]!r}")
    if headers.get(TAGGING, "").strip():
        raise NotImplementedYet("Object tags are not supported.")


def refuse_customer_keys(headers: Mapping[str, str]) -> None:
    """Refuse a read (GetObject, HeadObject) that gives a customer-provided key: no
    object was stored with one (see the module)."""
    if any(name in headers for name in SSE_C):
        raise InvalidRequest("The encryption parameters are not applicable to this object.")


def refuse_bucket_features(headers: Mapping[str, str]) -> None:
    """Refuse a CreateBucket that asks for object lock or for ACLs (an object
    ownership other than ``BucketOwnerEnforced``)."""
    if headers.get("x-amz-bucket-object-lock-enabled", "false").strip().lower() == "true":
        raise NotImplementedYet("Object lock is not supported.")
    ownership = headers.get("x-amz-object-ownership", "BucketOwnerEnforced").strip()
    if ownership != "BucketOwnerEnforced":
        raise NotImplementedYet(
            "Only the object ownership BucketOwnerEnforced is supported (ACLs are disabled)."
        )
