"""Requests for what lockr does not do (:mod:`api.s3.refusals`) over a real
``lockr serve`` with boto3: customer and KMS keys, object lock and tags refused
before anything is written, customer keys on reads, a bucket asking for object lock
or ACLs, and a key over S3's 1,024 bytes."""

from __future__ import annotations

import datetime
from typing import Any

from tests.api.s3.conftest import ensure_bucket, refused

NOT_DONE = (501, "NotImplemented")
CUSTOMER_KEY = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "k" * 32}


def test_writes_asking_for_keys_locks_or_tags_write_nothing(s3: Any) -> None:
    ensure_bucket(s3, "refused")
    key = {"Bucket": "refused", "Key": "k", "Body": b"x"}
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    no_lock = (400, "InvalidRequest")
    asked = [
        ({**CUSTOMER_KEY}, NOT_DONE),
        ({"ServerSideEncryption": "aws:kms"}, NOT_DONE),
        ({"Tagging": "team=a"}, NOT_DONE),
        ({"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": until}, no_lock),
        ({"ObjectLockLegalHoldStatus": "ON"}, no_lock),
    ]
    for extra, expected in asked:
        assert refused(s3.put_object, **key, **extra) == expected, extra
        upload = {"Bucket": "refused", "Key": "mp", **extra}
        assert refused(s3.create_multipart_upload, **upload) == expected, extra
    assert refused(s3.head_object, Bucket="refused", Key="k") == (404, "404")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="refused")
    # S3-managed keys are S3's own default: taken.
    s3.put_object(**key, ServerSideEncryption="AES256")


def test_a_part_or_copy_with_keys_or_tags_is_refused(s3: Any) -> None:
    ensure_bucket(s3, "refused")
    s3.put_object(Bucket="refused", Key="source", Body=b"x")
    upload = {"Bucket": "refused", "Key": "mp"}
    upload["UploadId"] = s3.create_multipart_upload(**upload)["UploadId"]
    part = {**upload, "PartNumber": 1, "Body": b"part"}
    assert refused(s3.upload_part, **part, **CUSTOMER_KEY) == NOT_DONE
    source = {"Bucket": "refused", "Key": "source"}
    copy = {"Bucket": "refused", "Key": "copy", "CopySource": source}
    assert refused(s3.copy_object, **copy, Tagging="a=b", TaggingDirective="REPLACE") == NOT_DONE
    customer = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": "k" * 32}
    assert refused(s3.copy_object, **copy, **customer) == (400, "InvalidRequest")
    bad = refused(s3.copy_object, **copy, TaggingDirective="MERGE")
    assert bad == (400, "InvalidArgument")
    # No tags to copy or replace: either directive without tags changes nothing.
    s3.copy_object(**copy, TaggingDirective="REPLACE")
    s3.copy_object(**copy, TaggingDirective="COPY")


def test_a_read_with_a_customer_key_is_refused(s3: Any) -> None:
    ensure_bucket(s3, "refused")
    s3.put_object(Bucket="refused", Key="plain", Body=b"x")
    read = {"Bucket": "refused", "Key": "plain", **CUSTOMER_KEY}
    assert refused(s3.get_object, **read) == (400, "InvalidRequest")
    assert refused(s3.head_object, **read) == (400, "400")


def test_a_bucket_asking_for_object_lock_or_acls_is_not_made(s3: Any) -> None:
    locked = refused(s3.create_bucket, Bucket="locked", ObjectLockEnabledForBucket=True)
    assert locked == NOT_DONE
    writer = refused(s3.create_bucket, Bucket="writer", ObjectOwnership="ObjectWriter")
    assert writer == NOT_DONE
    for name in ("locked", "writer"):
        assert refused(s3.head_bucket, Bucket=name) == (404, "404")
    s3.create_bucket(Bucket="enforced", ObjectOwnership="BucketOwnerEnforced")
    s3.delete_bucket(Bucket="enforced")


def test_a_key_over_1024_bytes_is_key_too_long(s3: Any) -> None:
    ensure_bucket(s3, "refused")
    long = refused(s3.put_object, Bucket="refused", Key="k" * 1025, Body=b"x")
    assert long == (400, "KeyTooLongError")
