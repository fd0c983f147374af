"""The ``s3`` object store: objects in a bucket of any S3-compatible store.

Works with AWS S3, MinIO, Ceph RGW and ``rclone serve s3``: path-style addressing,
SigV4, and checksums only where the API requires them (many S3-compatible stores do not
accept the trailer checksums recent boto3 sends by default); every body carries its
``Content-MD5`` instead. Memory stays flat whatever the object's size: a whole-object
:meth:`S3ObjectStore.put` is sent as one PUT if it fits in one part and as a multipart
upload otherwise, buffering one part at a time (a part larger than the memory allowance
spills to a temporary file), and reads stream through in blocks.

Every botocore error is translated into a domain error at this edge (:func:`_translated`).
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    ParamValidationError,
)
from botocore.exceptions import ConnectionError as StoreConnectionError
from botocore.response import StreamingBody

from gateway.disposition import content_disposition
from gateway.errors import BadRequest, Busy, Forbidden, LockrError, NotFound
from gateway.objectstore import (
    BLOCK,
    Part,
    check_key,
    check_part_number,
    check_parts,
    check_range,
    check_segments,
)

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

MiB = 1024 * 1024
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
PARTS_PER_STEP = 1000
"""A long :meth:`S3ObjectStore.put` grows its parts by one ``part_size`` every this many
parts, so that 10,000 parts hold ``55,000 * part_size`` bytes (430 GiB at 8 MiB)."""

_NOT_FOUND = {"NoSuchKey", "NoSuchUpload", "NotFound", "404"}
_BAD_REQUEST = {
    "BadDigest",
    "EntityTooLarge",
    "EntityTooSmall",
    "InvalidArgument",
    "InvalidDigest",
    "InvalidPart",
    "InvalidPartOrder",
    "InvalidRequest",
    "KeyTooLongError",
}
_BUSY = {"InternalError", "RequestTimeout", "ServiceUnavailable", "SlowDown", "500", "503"}


class S3ObjectStore:
    """An :class:`gateway.objectstore.ObjectStore` in ``bucket`` (under ``prefix``) of
    the S3-compatible store at ``endpoint``. Nothing is created implicitly: the bucket
    MUST exist."""

    min_part_size = 5 * MiB

    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
        region_name: str = "us-east-1",
        prefix: str = "",
        part_size: int = 8 * MiB,
        connections: int = 32,
        timeout: float = 60,
    ) -> None:
        if part_size < self.min_part_size:
            raise ValueError(f"part_size must be at least {self.min_part_size}")
        prefix = prefix.strip("/")
        self.bucket = bucket
        self.prefix = check_segments(prefix, what="S3 key prefix") + "/" if prefix else ""
        self.part_size = part_size
        self._client: S3Client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region_name,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 5, "mode": "standard"},
                connect_timeout=10,
                read_timeout=timeout,
                max_pool_connections=connections,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    # -- whole objects ---------------------------------------------------------------

    def put(self, key: str, blocks: Iterable[bytes]) -> int:
        name = self._name(key)
        spools = _spools(blocks, self.part_size)
        first, last = next(spools)
        if not last:
            return self._put_multipart(name, _chain(first, spools))
        with first, _translated():
            self._client.put_object(Bucket=self.bucket, Key=name, **first.body())
        return first.size

    def put_pending(self, key: str, blocks: Iterable[bytes]) -> tuple[int, str]:
        upload_id = self.create_multipart(key)
        try:
            size = self.put(key, blocks)
        except BaseException:
            self.abort_multipart(key, upload_id)
            raise
        return size, upload_id

    def open_reader(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        name = self._name(key)
        check_range(offset, length)
        if length == 0:
            self.size(key)  # a missing key is NotFound even for an empty range
            return iter(())
        ranged: dict[str, Any] = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            ranged["Range"] = f"bytes={offset}-{end}"
        try:
            with _translated():
                response = self._client.get_object(Bucket=self.bucket, Key=name, **ranged)
        except _PastTheEnd:
            return iter(())
        return _stream(response["Body"])

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def size(self, key: str) -> int:
        with _translated():
            return self._client.head_object(Bucket=self.bucket, Key=self._name(key))[
                "ContentLength"
            ]

    def delete(self, key: str) -> None:
        with _translated():
            self._client.delete_object(Bucket=self.bucket, Key=self._name(key))

    # -- multipart uploads -----------------------------------------------------------

    def create_multipart(self, key: str) -> str:
        with _translated():
            return self._client.create_multipart_upload(Bucket=self.bucket, Key=self._name(key))[
                "UploadId"
            ]

    def put_part(self, key: str, upload_id: str, number: int, blocks: Iterable[bytes]) -> Part:
        name = self._name(key)
        check_part_number(number)
        with _Spool(self.part_size) as spool:
            for block in blocks:
                spool.write(block)
            return self._upload_part(name, upload_id, number, spool)

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[Part]) -> int:
        name = self._name(key)
        check_parts(parts, self.min_part_size)
        self._complete(name, upload_id, parts)
        return sum(part.size for part in parts)

    def assembly(self, key: str, upload_id: str) -> None:
        """None: an S3 store's parts cannot be read before the upload is complete."""
        return None

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            with _translated():
                self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self._name(key), UploadId=upload_id
                )
        except NotFound:
            pass

    def list_multipart(self, prefix: str = "") -> list[tuple[str, str]]:
        found = []
        try:
            with _translated():
                pages = self._client.get_paginator("list_multipart_uploads").paginate(
                    Bucket=self.bucket, Prefix=self.prefix + prefix
                )
                for page in pages:
                    for upload in page.get("Uploads", []):
                        found.append((upload["Key"][len(self.prefix) :], upload["UploadId"]))
        except NotFound:
            return []  # rclone's answer (NoSuchUpload) for a bucket that never had an upload
        return sorted(found)

    def presigned_url(self, key: str, *, expires: int, filename: str | None = None) -> str | None:
        if not 1 <= expires <= MAX_PRESIGN_SECONDS:
            raise BadRequest(f"a presigned URL expires in 1 to {MAX_PRESIGN_SECONDS} seconds")
        params = {"Bucket": self.bucket, "Key": self._name(key)}
        if filename is not None:
            params["ResponseContentDisposition"] = content_disposition(filename)
        with _translated():
            return self._client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires
            )

    def check(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                raise NotFound(f"the bucket {self.bucket!r} does not exist") from None
            if status in (401, 403):
                raise Forbidden(
                    f"the store refused these keys for the bucket {self.bucket!r}"
                ) from None
            raise _domain_error(error) from None
        except (StoreConnectionError, HTTPClientError, BotoCoreError) as error:
            raise Busy(f"the object store did not answer ({type(error).__name__})") from None

    def close(self) -> None:
        self._client.close()

    # -- helpers ---------------------------------------------------------------------

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _put_multipart(self, name: str, spools: Iterator[_Spool]) -> int:
        """Send ``spools`` as the parts of a new upload of ``name``; if anything fails
        (the caller's stream included), abort it and let the failure propagate."""
        with _translated():
            upload_id = self._client.create_multipart_upload(Bucket=self.bucket, Key=name)[
                "UploadId"
            ]
        try:
            parts = []
            for number, spool in enumerate(spools, 1):
                with spool:
                    parts.append(self._upload_part(name, upload_id, number, spool))
            self._complete(name, upload_id, parts)
        except BaseException:
            self._abort(name, upload_id)
            raise
        return sum(part.size for part in parts)

    def _upload_part(self, name: str, upload_id: str, number: int, spool: _Spool) -> Part:
        with _translated():
            etag = self._client.upload_part(
                Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, **spool.body()
            )["ETag"]
        return Part(number, spool.size, etag)

    def _complete(self, name: str, upload_id: str, parts: Sequence[Part]) -> None:
        with _translated():
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [{"PartNumber": part.number, "ETag": part.etag} for part in parts]
                },
            )

    def _abort(self, name: str, upload_id: str) -> None:
        """Abort after a failure, keeping that failure the one that propagates."""
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
        except (BotoCoreError, ClientError):
            pass


class _PastTheEnd(BadRequest):
    """A ranged read starting at or past the object's end (which reads nothing)."""


class _Spool:
    """One part's bytes, counted and hashed: in memory up to ``memory`` bytes, in a
    temporary file past that."""

    def __init__(self, memory: int) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=memory)
        self.md5 = hashlib.md5()
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        self.file.write(data)
        self.md5.update(data)
        self.size += len(data)

    def body(self) -> dict[str, Any]:
        """The body arguments of a PUT of these bytes."""
        self.file.seek(0)
        return {
            "Body": self.file,
            "ContentLength": self.size,
            "ContentMD5": base64.b64encode(self.md5.digest()).decode(),
        }

    def __enter__(self) -> _Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()


def _spools(blocks: Iterable[bytes], part_size: int) -> Iterator[tuple[_Spool, bool]]:
    """Cut ``blocks`` into spools of ``part_size`` bytes (one more ``part_size`` every
    :data:`PARTS_PER_STEP` parts), the last one shorter, each with whether it is the
    last; never an empty spool but the first. Only the spool being filled is held: the
    caller closes each it receives."""
    count = 1
    spool = _Spool(part_size)
    try:
        for block in blocks:
            view = memoryview(block)
            while view:
                limit = part_size * (1 + (count - 1) // PARTS_PER_STEP)
                if spool.size == limit:
                    yield spool, False
                    count += 1
                    spool = _Spool(part_size)
                    continue
                taken = view[: limit - spool.size]
                spool.write(taken)
                view = view[len(taken) :]
    except BaseException:
        spool.file.close()
        raise
    yield spool, True


def _chain(first: _Spool, rest: Iterator[tuple[_Spool, bool]]) -> Iterator[_Spool]:
    yield first
    for spool, _ in rest:
        yield spool


def _stream(body: StreamingBody) -> Iterator[bytes]:
    try:
        with _translated():
            for chunk in body.iter_chunks(BLOCK):
                if chunk:
                    yield chunk
    finally:
        body.close()


@contextmanager
def _translated() -> Iterator[None]:
    """Re-raise botocore errors as domain errors."""
    try:
        yield
    except ClientError as error:
        raise _domain_error(error) from None
    except (StoreConnectionError, HTTPClientError, IncompleteReadError) as error:
        raise Busy(f"the object store did not answer ({type(error).__name__})") from None
    except ParamValidationError:
        raise BadRequest("the object store request is malformed") from None
    except BotoCoreError as error:
        raise LockrError(f"the object store client failed ({type(error).__name__})") from None


def _domain_error(error: ClientError) -> LockrError:
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in _NOT_FOUND:
        return NotFound("no such object or upload in the object store")
    if code == "InvalidRange":
        return _PastTheEnd("the range starts past the end of the object")
    if code in _BAD_REQUEST:
        return BadRequest(f"the object store refused the request ({code})")
    if code in _BUSY:
        return Busy(f"the object store is unavailable ({code})", retry_after=1)
    if code == "NoSuchBucket":
        return LockrError("the object store's bucket does not exist")
    return LockrError(f"the object store refused the request ({code or 'no code'})")
