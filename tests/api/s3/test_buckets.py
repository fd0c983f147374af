"""Bucket operations against a real ``lockr serve`` with boto3: DeleteBucket racing
PutObjects never deletes an object that a PutObject reported stored."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from tests.api.s3.conftest import ensure_bucket, make_client, send_signed
from tests.conftest import LockrProcess

ROUNDS = 20
KEYS = ["top", "new/folder/key", "old/key"]
"""What the racing PutObjects put: a key at the top, one in folders of its own, and
one in a folder that was left empty before the race."""


def race(clients: list[Any], bucket: str) -> tuple[str, list[str]]:
    """The first client deletes ``bucket`` while each other one puts one key of
    :data:`KEYS` into it, all at once: what each answered (``ok`` or the error code)."""
    start = threading.Barrier(len(clients))

    def call(number: int) -> str:
        client = clients[number]
        start.wait()
        try:
            if number == 0:
                client.delete_bucket(Bucket=bucket)
            else:
                client.put_object(Bucket=bucket, Key=KEYS[number - 1], Body=b"x")
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "ok"

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(call, range(len(clients))))
    return answers[0], answers[1:]


def test_delete_bucket_racing_puts_loses_no_object(
    server: LockrProcess, keys: dict[str, str]
) -> None:
    clients = [
        make_client(server, keys["accessKeyId"], keys["secretAccessKey"])
        for _ in range(len(KEYS) + 1)
    ]
    s3 = clients[0]
    outcomes = set()
    for number in range(ROUNDS):
        bucket = f"race-{number}"
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="old/seed", Body=b"")
        s3.delete_object(Bucket=bucket, Key="old/seed")  # the bucket is empty again
        deleted, puts = race(clients, bucket)
        outcomes.add(deleted)
        buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        if deleted == "ok":
            # Every PutObject came after the delete: it found no bucket and made none.
            assert puts == ["NoSuchBucket"] * len(KEYS)
            assert bucket not in buckets
        else:
            # The delete saw an object, so the bucket stayed: every object is there.
            assert deleted == "BucketNotEmpty" and puts == ["ok"] * len(KEYS), puts
            for key in KEYS:
                assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"x"
    assert outcomes <= {"ok", "BucketNotEmpty"}
    for client in clients:
        client.close()


def test_list_buckets_pages_and_prefixes(
    server: LockrProcess, keys: dict[str, Any], s3: Any
) -> None:
    """ListBuckets' ``max-buckets``, ``continuation-token`` and ``prefix``, with each
    bucket's region, as S3 answers them."""
    names = [f"paged-{number}" for number in range(5)]
    for name in [*names, "other-bucket", "zz-after"]:  # around the prefix's names
        ensure_bucket(s3, name)
    region = s3.head_bucket(Bucket=names[0])["BucketRegion"]
    pages, token = [], None
    while True:
        asked: dict[str, Any] = {"Prefix": "paged-", "MaxBuckets": 2}
        if token:
            asked["ContinuationToken"] = token
        page = s3.list_buckets(**asked)
        assert page["Prefix"] == "paged-"
        pages.append([bucket["Name"] for bucket in page["Buckets"]])
        assert {bucket["BucketRegion"] for bucket in page["Buckets"]} == {region}
        token = page.get("ContinuationToken")
        if not token:
            break
    assert pages == [names[:2], names[2:4], names[4:]]
    everything = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    assert set(names) <= set(everything) and "ContinuationToken" not in s3.list_buckets()
    assert s3.list_buckets(BucketRegion="eu-west-3")["Buckets"] == []
    for wrong in ("max-buckets=0", "max-buckets=10001", "continuation-token=not-a-token"):
        answer = send_signed(server, keys, "GET", f"/?{wrong}")
        assert answer.status_code == 400, wrong
        assert b"<Code>InvalidArgument</Code>" in answer.content, wrong
    for name in [*names, "other-bucket", "zz-after"]:
        s3.delete_bucket(Bucket=name)
