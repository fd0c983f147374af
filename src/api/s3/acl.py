"""ACLs as S3 has them with ACLs disabled, its default for every new bucket since
April 2023 (Object Ownership ``BucketOwnerEnforced``): the account that owns a bucket
has full control of it and of every object in it, and nothing else can be granted.

- GetBucketAcl and GetObjectAcl answer that policy: the owner, ``FULL_CONTROL``.
- PutBucketAcl and PutObjectAcl take only what changes nothing: the canned ACL
  ``private`` or ``bucket-owner-full-control``, or a policy granting the owner
  ``FULL_CONTROL`` alone; anything else is ``400 AccessControlListNotSupported``.
- A write that asks for other grants with its ``x-amz-acl`` or ``x-amz-grant-*``
  headers (PutObject, CopyObject, CreateMultipartUpload) is refused the same way,
  before anything is written; CreateBucket with them is
  ``400 InvalidBucketAclWithObjectOwnership``.
- GetBucketOwnershipControls answers ``BucketOwnerEnforced``;
  PutBucketOwnershipControls takes it, and refuses S3's other settings (501).

So a client asking for a public object learns that it cannot have one, rather than
believing it has.
"""

from __future__ import annotations

from starlette.responses import Response

from api.s3.body import CheckedBody, read_document
from api.s3.buckets import require_bucket
from api.s3.context import S3Request
from api.s3.errors import (
    AccessControlListNotSupported,
    MalformedACLError,
    MalformedXML,
    NotImplementedYet,
    S3Error,
)
from api.s3.grants import refuse_grants
from api.s3.objects import find_object
from api.s3.xml import acl_document, ownership_document
from api.s3.xmlrequest import XmlNode, parse_xml

XML = "application/xml"
MAX_POLICY = 64 * 1024


async def get_bucket_acl(s3: S3Request) -> Response:
    await s3.lookups.read(require_bucket, s3)
    return Response(acl_document(s3.owner), media_type=XML)


async def get_object_acl(s3: S3Request) -> Response:
    await s3.lookups.read(find_object, s3)
    return Response(acl_document(s3.owner), media_type=XML)


async def get_bucket_ownership_controls(s3: S3Request) -> Response:
    await s3.lookups.read(require_bucket, s3)
    return Response(ownership_document(), media_type=XML)


OWNERSHIPS = frozenset(("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"))
"""S3's object ownership settings; only ``BucketOwnerEnforced`` is lockr's."""


async def put_bucket_ownership_controls(s3: S3Request) -> Response:
    """PutBucketOwnershipControls: ``BucketOwnerEnforced`` (what every bucket has) is
    taken; S3's other settings, which enable ACLs, are ``501 NotImplemented``; a
    document that is not one rule of a known setting is ``MalformedXML``."""
    body = CheckedBody(s3.caller.verified, s3.headers, hash_md5=True)
    too_large = MalformedXML(f"Ownership controls are at most {MAX_POLICY} bytes.")
    document = await read_document(s3.request, body, limit=MAX_POLICY, too_large=too_large)
    body.finish()
    root = parse_xml(document)
    rules = root.find_all("Rule")
    if root.tag != "OwnershipControls" or len(rules) != 1:
        raise MalformedXML("Ownership controls hold exactly one Rule.")
    ownership = rules[0].child_text("ObjectOwnership")
    if ownership not in OWNERSHIPS:
        raise MalformedXML("The ObjectOwnership is not one S3 knows.")
    await s3.lookups.read(require_bucket, s3)
    if ownership != "BucketOwnerEnforced":
        raise NotImplementedYet("Only BucketOwnerEnforced is supported (ACLs are disabled).")
    return Response(status_code=200)


async def put_bucket_acl(s3: S3Request) -> Response:
    await _check_put(s3)
    await s3.lookups.read(require_bucket, s3)
    return Response(status_code=200)


async def put_object_acl(s3: S3Request) -> Response:
    await _check_put(s3)
    await s3.lookups.read(find_object, s3)
    return Response(status_code=200)


async def _check_put(s3: S3Request) -> None:
    """A PutBucketAcl or PutObjectAcl's headers and policy (its body), checked."""
    refuse_grants(s3.headers)
    body = CheckedBody(s3.caller.verified, s3.headers, hash_md5=True)
    too_large = MalformedACLError(f"An access control policy is at most {MAX_POLICY} bytes.")
    document = await read_document(s3.request, body, limit=MAX_POLICY, too_large=too_large)
    body.finish()
    if document.strip():
        _check_policy(document, s3.owner.id)


def _check_policy(document: bytes, owner_id: str) -> None:
    """An ``AccessControlPolicy`` granting the owner ``FULL_CONTROL`` and nothing else,
    or the error S3 answers."""
    try:
        root = parse_xml(document)
    except S3Error:
        raise MalformedACLError() from None
    listed = root.find_all("AccessControlList")
    if root.tag != "AccessControlPolicy" or len(listed) != 1:
        raise MalformedACLError()
    grants = listed[0].find_all("Grant")
    if not grants or not all(_owner_full_control(grant, owner_id) for grant in grants):
        raise AccessControlListNotSupported()


def _owner_full_control(grant: XmlNode, owner_id: str) -> bool:
    grantees = grant.find_all("Grantee")
    return (
        len(grantees) == 1
        and grantees[0].child_text("ID") == owner_id
        and grant.child_text("Permission") == "FULL_CONTROL"
    )
