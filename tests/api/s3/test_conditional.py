"""Conditional writes (:mod:`api.s3.conditional`) over a real ``lockr serve`` with
boto3 and raw signed requests: ``If-None-Match: *`` and ``If-Match`` on PutObject
(small and streamed bodies), CompleteMultipartUpload and CopyObject's destination,
checked before the bytes
and again at the commit, so that of writers racing for one key exactly one wins."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.s3.conftest import (
    ensure_bucket,
    make_client,
    refused,
    send_paused,
    send_signed,
)
from tests.conftest import LockrProcess

MiB = 1024 * 1024


def body_of(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket="cond", Key=key)["Body"].read())


def test_if_none_match_writes_only_a_new_key(s3: Any) -> None:
    ensure_bucket(s3, "cond")
    assert s3.put_object(Bucket="cond", Key="new", Body=b"first", IfNoneMatch="*")["ETag"]
    put = s3.put_object
    again = refused(put, Bucket="cond", Key="new", Body=b"second", IfNoneMatch="*")
    assert again == (412, "PreconditionFailed")
    assert body_of(s3, "new") == b"first"
    # A streamed body is refused before any byte is taken.
    big = refused(put, Bucket="cond", Key="new", Body=os.urandom(MiB), IfNoneMatch="*")
    assert big == (412, "PreconditionFailed")
    assert body_of(s3, "new") == b"first"


def test_if_none_match_takes_only_a_star(server: LockrProcess, keys: dict[str, Any]) -> None:
    answer = send_signed(server, keys, "PUT", "/cond/etag", b"x", {"If-None-Match": '"abc"'})
    assert answer.status_code == 501 and b"<Code>NotImplemented</Code>" in answer.content


def test_if_match_replaces_only_the_object_it_names(s3: Any) -> None:
    ensure_bucket(s3, "cond")
    tag = s3.put_object(Bucket="cond", Key="cas", Body=b"one")["ETag"]
    put = s3.put_object
    assert refused(put, Bucket="cond", Key="cas", Body=b"x", IfMatch='"0"') == (
        412,
        "PreconditionFailed",
    )
    new_tag = s3.put_object(Bucket="cond", Key="cas", Body=b"two", IfMatch=tag)["ETag"]
    assert body_of(s3, "cas") == b"two"
    old = refused(put, Bucket="cond", Key="cas", Body=b"three", IfMatch=tag)
    assert old == (412, "PreconditionFailed")
    s3.put_object(Bucket="cond", Key="cas", Body=b"three", IfMatch=new_tag.strip('"'))
    s3.put_object(Bucket="cond", Key="cas", Body=b"four", IfMatch="*")
    assert body_of(s3, "cas") == b"four"
    missing = refused(put, Bucket="cond", Key="none", Body=b"x", IfMatch=tag)
    assert missing == (404, "NoSuchKey")


def test_completing_an_upload_is_conditional(s3: Any) -> None:
    ensure_bucket(s3, "cond")
    s3.put_object(Bucket="cond", Key="mp", Body=b"there")
    common = {"Bucket": "cond", "Key": "mp"}
    common["UploadId"] = s3.create_multipart_upload(**common)["UploadId"]
    tag = s3.upload_part(**common, PartNumber=1, Body=b"the part")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": tag}]}
    complete = s3.complete_multipart_upload
    unless_there = refused(complete, **common, MultipartUpload=parts, IfNoneMatch="*")
    assert unless_there == (412, "PreconditionFailed")
    other = refused(complete, **common, MultipartUpload=parts, IfMatch='"other"')
    assert other == (412, "PreconditionFailed")
    assert body_of(s3, "mp") == b"there"  # and the upload is still there:
    current = s3.head_object(Bucket="cond", Key="mp")["ETag"]
    complete(**common, MultipartUpload=parts, IfMatch=current)
    assert body_of(s3, "mp") == b"the part"


def test_copying_onto_a_key_is_conditional(s3: Any) -> None:
    ensure_bucket(s3, "cond")
    s3.put_object(Bucket="cond", Key="copy-source", Body=b"source")
    target = s3.put_object(Bucket="cond", Key="copy-target", Body=b"target")["ETag"]
    source = {"Bucket": "cond", "Key": "copy-source"}
    copy = s3.copy_object
    onto = {"Bucket": "cond", "Key": "copy-target", "CopySource": source}
    assert refused(copy, **onto, IfNoneMatch="*") == (412, "PreconditionFailed")
    assert refused(copy, **onto, IfMatch='"other"') == (412, "PreconditionFailed")
    assert body_of(s3, "copy-target") == b"target"
    copy(**onto, IfMatch=target)
    assert body_of(s3, "copy-target") == b"source"
    new = {"Bucket": "cond", "Key": "copy-new", "CopySource": source}
    assert refused(copy, **new, IfMatch=target) == (404, "NoSuchKey")
    copy(**new, IfNoneMatch="*")
    assert body_of(s3, "copy-new") == b"source"
    assert refused(copy, **new, IfNoneMatch="*") == (412, "PreconditionFailed")


def test_deleting_with_if_match(s3: Any) -> None:
    ensure_bucket(s3, "cond")
    tag = s3.put_object(Bucket="cond", Key="doomed", Body=b"x")["ETag"]
    delete = s3.delete_object
    assert refused(delete, Bucket="cond", Key="doomed", IfMatch='"other"') == (
        412,
        "PreconditionFailed",
    )
    assert body_of(s3, "doomed") == b"x"
    delete(Bucket="cond", Key="doomed", IfMatch=tag)
    assert refused(s3.head_object, Bucket="cond", Key="doomed") == (404, "404")
    delete(Bucket="cond", Key="doomed", IfMatch=tag)  # gone already: 204 still


def test_of_writers_racing_for_a_new_key_one_wins(
    server: LockrProcess, keys: dict[str, Any], s3: Any
) -> None:
    ensure_bucket(s3, "cond")
    writers = 6
    clients = [
        make_client(server, keys["accessKeyId"], keys["secretAccessKey"]) for _ in range(writers)
    ]
    barrier = threading.Barrier(writers)
    outcomes: list[str] = [""] * writers

    def write(number: int) -> None:
        barrier.wait()
        try:
            clients[number].put_object(
                Bucket="cond", Key="race", Body=f"writer {number}".encode(), IfNoneMatch="*"
            )
            outcomes[number] = "written"
        except ClientError as error:
            outcomes[number] = error.response["Error"]["Code"]

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    assert outcomes.count("written") == 1, outcomes
    assert set(outcomes) <= {"written", "PreconditionFailed", "ConditionalRequestConflict"}
    assert body_of(s3, "race") == f"writer {outcomes.index('written')}".encode()


@pytest.mark.parametrize("condition", ["none", "match"])
def test_a_write_whose_condition_fails_while_it_streams_writes_nothing(
    server: LockrProcess, keys: dict[str, Any], s3: Any, condition: str
) -> None:
    ensure_bucket(s3, "cond")
    key = f"streamed-{condition}"
    headers = {"If-None-Match": "*"}
    if condition == "match":
        headers = {"If-Match": s3.put_object(Bucket="cond", Key=key, Body=b"before")["ETag"]}
    meanwhile: list[int] = []

    def replace() -> None:
        meanwhile.append(send_signed(server, keys, "PUT", f"/cond/{key}", b"meanwhile").status_code)

    data = os.urandom(2 * MiB)  # streamed: the condition is checked before the body
    answer = send_paused(server, keys, "PUT", f"/cond/{key}", data, replace, headers)
    assert meanwhile == [200]
    assert answer.status_code == 409, answer.text
    assert b"<Code>ConditionalRequestConflict</Code>" in answer.content
    assert body_of(s3, key) == b"meanwhile"
