"""DeleteObjects: ``POST /bucket?delete`` with S3's multi-object delete document::

    <Delete>
      <Quiet>true</Quiet>
      <Object><Key>a.txt</Key></Object>
      <Object><Key>b/c.txt</Key><VersionId>null</VersionId></Object>
    </Delete>

From 1 to 1,000 keys, each deleted as DeleteObject deletes one (a missing key counts
as deleted). The answer lists every key as ``Deleted`` or as an ``Error`` with its
S3 code, in the order asked; in quiet mode, the errors only. A version other than
``null`` is ``NoSuchVersion`` (the buckets are unversioned).

As S3 requires, the body MUST come with a checksum: ``Content-MD5`` or an
``x-amz-checksum-*`` header or trailer (else ``InvalidRequest``). It is checked, with
the payload's signature, before any key is deleted. A body that is not such a
document is ``MalformedXML``; it is parsed with defusedxml (no DTD, no entities) and
at most :data:`MAX_BODY` bytes of it are read.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.s3.body import CheckedBody, read_document
from api.s3.buckets import XML, require_bucket
from api.s3.context import S3Request
from api.s3.errors import (
    InvalidRequest,
    MalformedXML,
    NoSuchVersion,
    as_s3_error,
)
from api.s3.objects import delete_key
from api.s3.xml import Deleted, delete_result_document
from gateway.errors import LockrError

MAX_OBJECTS = 1000
MAX_BODY = 4 * 1024 * 1024
"""The most bytes of a request read: 1,000 keys of up to 1,024 bytes, escaped, fit."""


def _name(element: Element) -> str:
    """An element's name without its namespace (S3's, or none)."""
    return element.tag.rpartition("}")[2]


def parse_delete(body: bytes) -> tuple[list[tuple[str, str | None]], bool]:
    """The keys (with their version ids, if any) and the quiet flag of a
    multi-object delete document; ``MalformedXML`` for anything else."""
    try:
        root: Element = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException):
        raise MalformedXML() from None
    if _name(root) != "Delete":
        raise MalformedXML()
    objects: list[tuple[str, str | None]] = []
    quiet = False
    for child in root:
        if _name(child) == "Quiet":
            text = (child.text or "").strip().lower()
            if text not in ("true", "false"):
                raise MalformedXML()
            quiet = text == "true"
        elif _name(child) == "Object":
            keys = [part.text or "" for part in child if _name(part) == "Key"]
            versions = [part.text or "" for part in child if _name(part) == "VersionId"]
            if len(keys) != 1 or len(versions) > 1:
                raise MalformedXML()
            objects.append((keys[0], versions[0] if versions else None))
    if not 1 <= len(objects) <= MAX_OBJECTS:
        raise MalformedXML()
    return objects, quiet


async def delete_objects(s3: S3Request) -> Response:
    body = CheckedBody(s3.caller.verified, s3.headers, hash_md5=True)
    if not body.has_checksum:
        raise InvalidRequest("Missing required header for this request: Content-MD5")
    too_large = MalformedXML(f"A DeleteObjects request is at most {MAX_BODY} bytes.")
    document = await read_document(s3.request, body, limit=MAX_BODY, too_large=too_large)

    def delete() -> tuple[list[Deleted], bool]:
        body.finish()
        objects, quiet = parse_delete(document)
        require_bucket(s3)
        return [_delete_one(s3, key, version) for key, version in objects], quiet

    results, quiet = await run_in_threadpool(delete)
    return Response(delete_result_document(results, quiet=quiet), media_type=XML)


def _delete_one(s3: S3Request, key: str, version: str | None) -> Deleted:
    """One key of the request's bucket, which the caller has found."""
    try:
        if version is not None and version != "null":
            raise NoSuchVersion()
        delete_key(s3, key, bucket_found=True)
    except LockrError as failure:
        error = as_s3_error(failure, key=key)
        return Deleted(key, version, error.code, error.message)
    return Deleted(key, version)
