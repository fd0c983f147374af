"""Multipart uploads over the S3 front of a real ``lockr serve``: boto3's low-level
calls (parts out of order, a retried part, ListParts, ListMultipartUploads,
UploadPartCopy with a range, every error, a completion sent again), its managed
``upload_file``, and rclone's s3 backend above its upload cutoff."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import os
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError

from api.s3.multipart import answer_when_done
from api.s3.xml import HEAD
from gateway.errors import LockrError
from tests.api.s3.conftest import ensure_bucket, error_code, send_paused, send_signed
from tests.conftest import LockrProcess, run_rclone

MiB = 1024 * 1024
PART = 5 * MiB


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(*parts: bytes) -> str:
    joined = b"".join(hashlib.md5(part).digest() for part in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


def status(info: pytest.ExceptionInfo[ClientError]) -> int:
    return int(info.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_parts_out_of_order_with_a_retry(server: LockrProcess, s3: Any, token: str) -> None:
    ensure_bucket(s3, "multi")
    created = s3.create_multipart_upload(
        Bucket="multi",
        Key="dir/big.bin",
        ContentType="video/x-test",
        Metadata={"mtime": "1700000000.5", "camera": "x100"},
        CacheControl="max-age=60",
    )
    upload_id = created["UploadId"]
    assert created["Bucket"] == "multi" and created["Key"] == "dir/big.bin"
    data = {1: os.urandom(PART), 2: os.urandom(PART), 3: os.urandom(1000)}
    sent = {1: b"x" * PART, 2: data[2], 3: data[3]}  # part 1 is sent again below
    for number in (3, 1, 2):
        answer = s3.upload_part(
            Bucket="multi", Key="dir/big.bin", UploadId=upload_id, PartNumber=number,
            Body=sent[number],
        )  # fmt: skip
        assert answer["ETag"] == f'"{md5(sent[number])}"'
    retried = s3.upload_part(
        Bucket="multi", Key="dir/big.bin", UploadId=upload_id, PartNumber=1, Body=data[1]
    )
    assert retried["ETag"] == f'"{md5(data[1])}"'
    listed = s3.list_parts(Bucket="multi", Key="dir/big.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed["Parts"]] == [
        (number, f'"{md5(data[number])}"', len(data[number])) for number in (1, 2, 3)
    ]
    assert not listed["IsTruncated"] and listed["Parts"][0]["LastModified"].year >= 2025

    done = s3.complete_multipart_upload(
        Bucket="multi",
        Key="dir/big.bin",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [{"PartNumber": n, "ETag": f'"{md5(data[n])}"'} for n in (1, 2, 3)]
        },
    )
    whole = data[1] + data[2] + data[3]
    etag = multipart_etag(data[1], data[2], data[3])
    assert done["ETag"] == etag and etag.endswith('-3"')
    assert done["Bucket"] == "multi" and done["Key"] == "dir/big.bin"
    assert done["Location"] == f"{server.s3_url}/multi/dir/big.bin"
    head = s3.head_object(Bucket="multi", Key="dir/big.bin")
    assert head["ETag"] == etag and head["ContentLength"] == len(whole)
    assert head["ContentType"] == "video/x-test"
    assert head["Metadata"] == {"mtime": "1700000000.5", "camera": "x100"}
    assert head["CacheControl"] == "max-age=60"
    got = s3.get_object(Bucket="multi", Key="dir/big.bin")
    assert got["ETag"] == etag and md5(got["Body"].read()) == md5(whole)
    listing = s3.list_objects_v2(Bucket="multi", Prefix="dir/")
    assert [(o["Key"], o["ETag"]) for o in listing["Contents"]] == [("dir/big.bin", etag)]
    conditional = s3.get_object(Bucket="multi", Key="dir/big.bin", IfMatch=etag, Range="bytes=0-9")
    assert conditional["Body"].read() == whole[:10]
    # REST (and WebDAV) keep answering with the whole object's MD5.
    files = httpx.get(
        server.url + "/api/v1/files", headers={"Authorization": f"Bearer {token}"}
    ).json()["files"]
    assert [f["md5"] for f in files if f["name"] == "big.bin"] == [md5(whole)]
    with pytest.raises(ClientError) as gone:
        s3.list_parts(Bucket="multi", Key="dir/big.bin", UploadId=upload_id)
    assert error_code(gone) == "NoSuchUpload" and status(gone) == 404


def test_upload_file_goes_multipart(s3: Any, tmp_path: Path) -> None:
    ensure_bucket(s3, "managed")
    data = os.urandom(12 * MiB + 17)
    source, back = tmp_path / "up.bin", tmp_path / "down.bin"
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=3)
    s3.upload_file(str(source), "managed", "up.bin", Config=config)
    head = s3.head_object(Bucket="managed", Key="up.bin")
    assert head["ETag"] == multipart_etag(data[:PART], data[PART : 2 * PART], data[2 * PART :])
    s3.download_file("managed", "up.bin", str(back), Config=config)
    assert md5(back.read_bytes()) == md5(data)


def test_parts_and_uploads_are_listed_in_pages(s3: Any) -> None:
    ensure_bucket(s3, "pending")
    ids = {
        key: s3.create_multipart_upload(Bucket="pending", Key=key)["UploadId"]
        for key in ["a.bin", "b/1.bin", "b/2.bin", "c d.bin"]
    }
    again = s3.create_multipart_upload(Bucket="pending", Key="a.bin")["UploadId"]
    for number in (4, 1, 3):
        s3.upload_part(
            Bucket="pending", Key="a.bin", UploadId=again, PartNumber=number, Body=b"%d" % number
        )
    pages = list(
        s3.get_paginator("list_parts").paginate(
            Bucket="pending", Key="a.bin", UploadId=again, PaginationConfig={"PageSize": 2}
        )
    )
    assert [[p["PartNumber"] for p in page["Parts"]] for page in pages] == [[1, 3], [4]]
    assert pages[0]["IsTruncated"] and pages[0]["NextPartNumberMarker"] == 3

    everything = s3.list_multipart_uploads(Bucket="pending")
    assert [(u["Key"], u["UploadId"]) for u in everything["Uploads"]] == [
        ("a.bin", ids["a.bin"]),
        ("a.bin", again),
        ("b/1.bin", ids["b/1.bin"]),
        ("b/2.bin", ids["b/2.bin"]),
        ("c d.bin", ids["c d.bin"]),
    ]
    assert everything["Uploads"][0]["Initiated"].year >= 2025
    top = s3.list_multipart_uploads(Bucket="pending", Delimiter="/")
    assert [u["Key"] for u in top["Uploads"]] == ["a.bin", "a.bin", "c d.bin"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["b/"]
    under = s3.list_multipart_uploads(Bucket="pending", Prefix="b/")
    assert [u["Key"] for u in under["Uploads"]] == ["b/1.bin", "b/2.bin"]
    paged = list(
        s3.get_paginator("list_multipart_uploads").paginate(
            Bucket="pending", Delimiter="/", PaginationConfig={"PageSize": 1}
        )
    )
    seen = [
        item.get("UploadId") or item.get("Prefix")
        for page in paged
        for item in page.get("Uploads", []) + page.get("CommonPrefixes", [])
    ]
    assert seen == [ids["a.bin"], again, "b/", ids["c d.bin"]]
    after = s3.list_multipart_uploads(
        Bucket="pending", KeyMarker="a.bin", UploadIdMarker=ids["a.bin"]
    )
    assert [u["UploadId"] for u in after["Uploads"]][:2] == [again, ids["b/1.bin"]]

    s3.abort_multipart_upload(Bucket="pending", Key="a.bin", UploadId=again)
    remaining = s3.list_multipart_uploads(Bucket="pending")["Uploads"]
    assert again not in [u["UploadId"] for u in remaining]
    with pytest.raises(ClientError) as aborted:
        s3.abort_multipart_upload(Bucket="pending", Key="a.bin", UploadId=again)
    assert error_code(aborted) == "NoSuchUpload"


def test_a_part_copied_from_a_range_of_an_object(s3: Any) -> None:
    ensure_bucket(s3, "copies")
    data = os.urandom(PART + 4000)
    source = s3.put_object(Bucket="copies", Key="src/ü source.bin", Body=data)
    upload_id = s3.create_multipart_upload(Bucket="copies", Key="joined.bin")["UploadId"]
    common = {"Bucket": "copies", "Key": "joined.bin", "UploadId": upload_id}
    first = s3.upload_part_copy(
        **common,
        PartNumber=1,
        CopySource={"Bucket": "copies", "Key": "src/ü source.bin"},
        CopySourceRange=f"bytes=0-{PART - 1}",
        CopySourceIfMatch=source["ETag"],
    )
    assert first["CopyPartResult"]["ETag"] == f'"{md5(data[:PART])}"'
    second = s3.upload_part_copy(
        **common,
        PartNumber=2,
        CopySource="copies/src/ü source.bin",
        CopySourceRange=f"bytes=100-{PART + 99}",
    )
    assert second["CopyPartResult"]["ETag"] == f'"{md5(data[100 : PART + 100])}"'
    third = s3.upload_part(**common, PartNumber=3, Body=b"end")
    failures = [
        ("PreconditionFailed", {"CopySourceIfMatch": '"0123"'}),
        ("PreconditionFailed", {"CopySourceIfNoneMatch": source["ETag"]}),
        ("InvalidRange", {"CopySourceRange": f"bytes=10-{len(data)}"}),
        ("InvalidArgument", {"CopySourceRange": "bytes=10-"}),
    ]
    for code, extra in failures:
        with pytest.raises(ClientError) as refused:
            s3.upload_part_copy(
                **common,
                PartNumber=3,
                CopySource={"Bucket": "copies", "Key": "src/ü source.bin"},
                **extra,
            )
        assert error_code(refused) == code, extra
    with pytest.raises(ClientError) as missing:
        s3.upload_part_copy(**common, PartNumber=3, CopySource="copies/nothing")
    assert error_code(missing) == "NoSuchKey"
    parts = s3.list_parts(**common)["Parts"]
    assert [p["ETag"] for p in parts] == [
        f'"{md5(data[:PART])}"',
        f'"{md5(data[100 : PART + 100])}"',
        third["ETag"],
    ]
    s3.complete_multipart_upload(
        **common,
        MultipartUpload={
            "Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
        },
    )
    body = s3.get_object(Bucket="copies", Key="joined.bin")["Body"].read()
    assert body == data[:PART] + data[100 : PART + 100] + b"end"


def raw_request(
    server: LockrProcess,
    s3: Any,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """A request signed as boto3 signs, sent as given (``Content-Length`` may claim
    more than the body holds); the status and the body of the answer."""
    request = AWSRequest(
        method=method,
        url=server.s3_url + path,
        data=body,
        headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD", **(headers or {})},
    )
    s3._request_signer.sign("PutObject", request)
    connection = http.client.HTTPConnection("127.0.0.1", server.s3_port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True, skip_host=True)
        connection.putheader("Host", f"127.0.0.1:{server.s3_port}")
        for name, value in request.headers.items():
            if name.lower() != "host":  # the CRT signer adds one
                connection.putheader(name, value)
        if "Content-Length" not in request.headers:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_errors(server: LockrProcess, s3: Any) -> None:
    ensure_bucket(s3, "wrong")
    with pytest.raises(ClientError) as unknown:
        s3.upload_part(Bucket="wrong", Key="k", UploadId="nope", PartNumber=1, Body=b"x")
    assert error_code(unknown) == "NoSuchUpload" and status(unknown) == 404
    upload_id = s3.create_multipart_upload(Bucket="wrong", Key="k")["UploadId"]
    common = {"Bucket": "wrong", "Key": "k", "UploadId": upload_id}
    with pytest.raises(ClientError) as other_key:
        s3.list_parts(Bucket="wrong", Key="other", UploadId=upload_id)
    assert error_code(other_key) == "NoSuchUpload"
    small = s3.upload_part(**common, PartNumber=1, Body=b"small")["ETag"]
    big = s3.upload_part(**common, PartNumber=2, Body=b"b" * PART)["ETag"]
    end = s3.upload_part(**common, PartNumber=3, Body=b"end")["ETag"]
    failures = [
        ("InvalidPart", [(2, big), (3, '"' + "0" * 32 + '"')]),
        ("InvalidPart", [(2, big), (7, end)]),
        ("InvalidPart", [(-4, big)]),  # no part of any upload, in a well-formed list
        ("InvalidPartOrder", [(3, end), (2, big)]),
        ("EntityTooSmall", [(1, small), (2, big), (3, end)]),
    ]
    for code, parts in failures:
        with pytest.raises(ClientError) as refused:
            s3.complete_multipart_upload(
                **common,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in parts]},
            )
        assert error_code(refused) == code and status(refused) == 400, parts
    for number in (0, 10_001):
        with pytest.raises(ClientError) as bad_number:
            s3.upload_part(**common, PartNumber=number, Body=b"x")
        assert error_code(bad_number) == "InvalidArgument"
    with pytest.raises(ClientError) as digest:
        s3.upload_part(**common, PartNumber=4, Body=b"abc", ContentMD5="AAAAAAAAAAAAAAAAAAAAAA==")
    assert error_code(digest) == "BadDigest"
    assert [p["PartNumber"] for p in s3.list_parts(**common)["Parts"]] == [1, 2, 3]

    path = f"/wrong/k?uploadId={upload_id}"
    for document in [b"<CompleteMultipartUpload><Part>", b"<Other/>", b""]:
        code, text = raw_request(server, s3, "POST", path, body=document)
        assert code == 400 and "<Code>MalformedXML</Code>" in text, text
    entity = b'<!DOCTYPE x [<!ENTITY e "2">]><CompleteMultipartUpload><Part><PartNumber>&e;'
    code, text = raw_request(server, s3, "POST", path, body=entity + b"</PartNumber></Part>")
    assert code == 400 and "<Code>MalformedXML</Code>" in text
    code, text = raw_request(
        server,
        s3,
        "PUT",
        f"/wrong/k?partNumber=5&uploadId={upload_id}",
        headers={"Content-Length": str(5 * 1024**3 + 1)},
    )
    assert code == 400 and "<Code>EntityTooLarge</Code>" in text, text
    code, text = raw_request(server, s3, "GET", "/wrong/k?partNumber=1")
    assert code == 404 and "<Code>NoSuchKey</Code>" in text

    answer = s3.abort_multipart_upload(**common)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as gone:
        s3.complete_multipart_upload(
            **common, MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": big}]}
        )
    assert error_code(gone) == "NoSuchUpload"
    with pytest.raises(ClientError) as no_bucket:
        s3.create_multipart_upload(Bucket="nosuchbucket", Key="k")
    assert error_code(no_bucket) == "NoSuchBucket"


def test_a_slow_completion_answers_at_once_and_ends_with_its_result() -> None:
    async def run(outcome: bytes | LockrError) -> bytes:
        async def work() -> bytes:
            await asyncio.sleep(0.05)
            if isinstance(outcome, LockrError):
                raise outcome
            return outcome

        task = asyncio.ensure_future(work())
        body = answer_when_done(task, lambda error: b"<Error>" + str(error).encode(), 0.01)
        return b"".join([chunk async for chunk in body])

    done = asyncio.run(run(b"<CompleteMultipartUploadResult/>"))
    assert done.startswith(HEAD.encode()) and done.endswith(b"<CompleteMultipartUploadResult/>")
    assert done[len(HEAD) : -len(b"<CompleteMultipartUploadResult/>")].strip(b" ") == b""
    assert b" " in done[len(HEAD) :]
    failed = asyncio.run(run(LockrError("it failed")))
    assert failed.startswith(HEAD.encode()) and failed.endswith(b"<Error>it failed")


def test_rclone_uploads_above_its_cutoff_in_parts(
    server: LockrProcess, s3: Any, keys: dict[str, Any], tmp_path: Path
) -> None:
    ensure_bucket(s3, "rclone")
    source = tmp_path / "src"
    source.mkdir()
    data = os.urandom(12 * MiB + 3)
    (source / "big.bin").write_bytes(data)
    remote = (
        f":s3,provider=Other,endpoint='{server.s3_url}',"
        f"access_key_id={keys['accessKeyId']},secret_access_key='{keys['secretAccessKey']}',"
        "list_version=2:rclone"
    )
    run_rclone(
        "copyto",
        "--s3-upload-cutoff",
        "5M",
        "--s3-chunk-size",
        "5M",
        str(source / "big.bin"),
        f"{remote}/in/big.bin",
    )
    head = s3.head_object(Bucket="rclone", Key="in/big.bin")
    assert head["ETag"].endswith('-3"') and head["ContentLength"] == len(data)
    run_rclone("check", "--download", str(source), f"{remote}/in")
    fetched = tmp_path / "back.bin"
    run_rclone("copyto", f"{remote}/in/big.bin", str(fetched))
    assert md5(fetched.read_bytes()) == md5(data)
    assert s3.list_multipart_uploads(Bucket="rclone").get("Uploads", []) == []


def test_a_completion_sent_again_is_answered_as_the_first(server: LockrProcess, s3: Any) -> None:
    ensure_bucket(s3, "again")
    key = "dir/sent-twice.bin"
    upload_id = s3.create_multipart_upload(Bucket="again", Key=key, ChecksumAlgorithm="SHA256")[
        "UploadId"
    ]
    common = {"Bucket": "again", "Key": key, "UploadId": upload_id}
    data = [os.urandom(PART), b"tail" * 100]
    parts = []
    for number, chunk in enumerate(data, start=1):
        sent = s3.upload_part(**common, PartNumber=number, Body=chunk, ChecksumAlgorithm="SHA256")
        parts.append(
            {"PartNumber": number, "ETag": sent["ETag"], "ChecksumSHA256": sent["ChecksumSHA256"]}
        )
    fields = ("Location", "Bucket", "Key", "ETag", "ChecksumSHA256", "ChecksumType")
    first = s3.complete_multipart_upload(**common, MultipartUpload={"Parts": parts})
    assert first["ETag"] == multipart_etag(*data) and first["ChecksumSHA256"].endswith("-2")
    again = s3.complete_multipart_upload(**common, MultipartUpload={"Parts": parts})
    assert {f: again[f] for f in fields} == {f: first[f] for f in fields}
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = s3.get_object(Bucket="again", Key=key)
    assert got["ETag"] == first["ETag"] and md5(got["Body"].read()) == md5(b"".join(data))

    # Only the same list (checksums included), to the same key, is the same request.
    unquoted = [dict(part, ETag=part["ETag"].strip('"')) for part in parts]
    assert (
        s3.complete_multipart_upload(**common, MultipartUpload={"Parts": unquoted})["ETag"]
        == first["ETag"]
    )
    for other in (
        parts[:1],
        [parts[0], dict(parts[1], ChecksumSHA256=parts[0]["ChecksumSHA256"])],
    ):
        with pytest.raises(ClientError) as different:
            s3.complete_multipart_upload(**common, MultipartUpload={"Parts": other})
        assert error_code(different) == "NoSuchUpload" and status(different) == 404
    with pytest.raises(ClientError) as other_key:
        s3.complete_multipart_upload(
            **(common | {"Key": "dir/other.bin"}), MultipartUpload={"Parts": parts}
        )
    assert error_code(other_key) == "NoSuchUpload"
    # A completed upload cannot be aborted (S3: NoSuchUpload), and the object stays.
    with pytest.raises(ClientError) as abort:
        s3.abort_multipart_upload(**common)
    assert error_code(abort) == "NoSuchUpload" and status(abort) == 404
    assert s3.head_object(Bucket="again", Key=key)["ETag"] == first["ETag"]

    # Once the object is replaced (or deleted), the upload's result is gone with it.
    s3.put_object(Bucket="again", Key=key, Body=b"newer")
    with pytest.raises(ClientError) as replaced:
        s3.complete_multipart_upload(**common, MultipartUpload={"Parts": parts})
    assert error_code(replaced) == "NoSuchUpload"
    assert s3.get_object(Bucket="again", Key=key)["Body"].read() == b"newer"
    created = s3.create_multipart_upload(Bucket="again", Key="gone.bin")["UploadId"]
    tag = s3.upload_part(
        Bucket="again", Key="gone.bin", UploadId=created, PartNumber=1, Body=b"short"
    )["ETag"]
    listed = {"Parts": [{"PartNumber": 1, "ETag": tag}]}
    s3.complete_multipart_upload(
        Bucket="again", Key="gone.bin", UploadId=created, MultipartUpload=listed
    )
    s3.delete_object(Bucket="again", Key="gone.bin")
    with pytest.raises(ClientError) as deleted:
        s3.complete_multipart_upload(
            Bucket="again", Key="gone.bin", UploadId=created, MultipartUpload=listed
        )
    assert error_code(deleted) == "NoSuchUpload"
    with pytest.raises(ClientError):
        s3.head_object(Bucket="again", Key="gone.bin")


def test_a_deleted_bucket_takes_its_uploads(s3: Any) -> None:
    """Every multipart call naming a bucket deleted meanwhile is ``NoSuchBucket``, as
    S3 answers a request to a bucket that is not there; DeleteBucket does not wait for
    the bucket's unfinished uploads (S3 deletes it with them), and nothing makes the
    bucket again."""
    ensure_bucket(s3, "doomed")
    upload_id = s3.create_multipart_upload(Bucket="doomed", Key="dir/k")["UploadId"]
    common = {"Bucket": "doomed", "Key": "dir/k", "UploadId": upload_id}
    etag = s3.upload_part(**common, PartNumber=1, Body=b"only part")["ETag"]
    s3.delete_bucket(Bucket="doomed")
    calls = {
        "CompleteMultipartUpload": lambda: s3.complete_multipart_upload(
            **common, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}
        ),
        "UploadPart": lambda: s3.upload_part(**common, PartNumber=2, Body=b"more"),
        "ListParts": lambda: s3.list_parts(**common),
        "AbortMultipartUpload": lambda: s3.abort_multipart_upload(**common),
        "ListMultipartUploads": lambda: s3.list_multipart_uploads(Bucket="doomed"),
        "CreateMultipartUpload": lambda: s3.create_multipart_upload(Bucket="doomed", Key="k"),
    }
    for name, call in calls.items():
        with pytest.raises(ClientError) as missing:
            call()
        assert error_code(missing) == "NoSuchBucket" and status(missing) == 404, name
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket="doomed")
    # A bucket of the same name made again holds none of the old uploads.
    s3.create_bucket(Bucket="doomed")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="doomed")
    with pytest.raises(ClientError) as gone:
        s3.list_parts(**common)
    assert error_code(gone) == "NoSuchUpload"
    s3.delete_bucket(Bucket="doomed")


def test_a_part_streaming_while_its_bucket_is_deleted_is_no_such_bucket(
    server: LockrProcess, keys: dict[str, Any], s3: Any
) -> None:
    """DeleteBucket aborts the uploads of the bucket; a part still streaming into one
    then fails as any call naming the missing bucket does, ``NoSuchBucket``."""
    ensure_bucket(s3, "doomed-mid")
    upload_id = s3.create_multipart_upload(Bucket="doomed-mid", Key="k")["UploadId"]
    deleted: list[int] = []

    def delete_bucket() -> None:
        deleted.append(send_signed(server, keys, "DELETE", "/doomed-mid").status_code)

    target = f"/doomed-mid/k?partNumber=1&uploadId={upload_id}"
    answer = send_paused(server, keys, "PUT", target, os.urandom(2 * MiB), delete_bucket)
    assert deleted == [204]
    assert answer.status_code == 404 and b"<Code>NoSuchBucket</Code>" in answer.content


NS = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}


def uploads_page(server: LockrProcess, keys: dict[str, Any], query: str) -> ElementTree.Element:
    """A ListMultipartUploads answer of the bucket ``listed``, as sent (boto3 decodes
    nothing of it and keeps no order of its own)."""
    answer = send_signed(server, keys, "GET", f"/listed?uploads&{query}")
    assert answer.status_code == 200, answer.text
    return ElementTree.fromstring(answer.content)


def texts(root: ElementTree.Element, path: str) -> list[str]:
    return [element.text or "" for element in root.iterfind(path, NS)]


def test_list_multipart_uploads_as_s3_documents_it(
    server: LockrProcess, keys: dict[str, Any], s3: Any
) -> None:
    ensure_bucket(s3, "listed")
    created: dict[str, list[str]] = {}
    for key in ["a", "a", "b/1", "b/2", "c%d+e f.bin", "d/x"]:
        extra = {"ChecksumAlgorithm": "CRC32C"} if key == "d/x" else {}
        upload_id = s3.create_multipart_upload(Bucket="listed", Key=key, **extra)["UploadId"]
        created.setdefault(key, []).append(upload_id)

    # The uploads of one key in the order they were made; each with its checksum.
    everything = s3.list_multipart_uploads(Bucket="listed")
    assert [(u["Key"], u["UploadId"]) for u in everything["Uploads"]] == [
        (key, upload_id) for key, ids in created.items() for upload_id in ids
    ]
    summed = [u for u in everything["Uploads"] if "ChecksumAlgorithm" in u]
    assert [(u["Key"], u["ChecksumAlgorithm"], u["ChecksumType"]) for u in summed] == [
        ("d/x", "CRC32C", "COMPOSITE")
    ]

    # A common prefix is listed only above the key marker: a marker inside one (or
    # the prefix itself) resumes after it.
    for marker in ["b/1", "b/", "b/2"]:
        page = s3.list_multipart_uploads(Bucket="listed", Delimiter="/", KeyMarker=marker)
        assert [u["Key"] for u in page["Uploads"]] == ["c%d+e f.bin"], marker
        assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["d/"], marker
    below = s3.list_multipart_uploads(Bucket="listed", Delimiter="/", KeyMarker="a")
    assert [p["Prefix"] for p in below["CommonPrefixes"]] == ["b/", "d/"]

    # upload-id-marker counts only with a key marker, and then only for that key.
    first, second = created["a"]
    after = s3.list_multipart_uploads(Bucket="listed", KeyMarker="a", UploadIdMarker=first)
    assert [u["UploadId"] for u in after["Uploads"]][:2] == [second, created["b/1"][0]]
    ignored = s3.list_multipart_uploads(Bucket="listed", UploadIdMarker=second)
    assert len(ignored["Uploads"]) == 6 and ignored["UploadIdMarker"] == second

    # Pages of two: the markers of the last upload listed, until the end.
    paged = uploads_page(server, keys, "max-uploads=2")
    assert texts(paged, "s3:IsTruncated") == ["true"] and texts(paged, "s3:MaxUploads") == ["2"]
    assert texts(paged, "s3:NextKeyMarker") == ["a"]
    assert texts(paged, "s3:NextUploadIdMarker") == [second]
    pages = list(
        s3.get_paginator("list_multipart_uploads").paginate(
            Bucket="listed", PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(page["Uploads"]) for page in pages] == [2, 2, 2]
    assert not pages[-1]["IsTruncated"] and "NextKeyMarker" not in pages[-1]
    assert texts(uploads_page(server, keys, "max-uploads=5000"), "s3:MaxUploads") == ["1000"]

    # encoding-type=url: keys, prefixes, markers and the delimiter, percent-encoded.
    encoded = uploads_page(
        server, keys, "encoding-type=url&prefix=c%25&key-marker=c%25&delimiter=%2B&max-uploads=1"
    )
    assert texts(encoded, "s3:EncodingType") == ["url"]
    assert texts(encoded, "s3:Prefix") == ["c%25"]
    assert texts(encoded, "s3:KeyMarker") == ["c%25"]
    assert texts(encoded, "s3:Delimiter") == ["%2B"]
    assert texts(encoded, "s3:CommonPrefixes/s3:Prefix") == ["c%25d%2B"]
    plain = uploads_page(server, keys, "prefix=c")
    assert texts(plain, "s3:Upload/s3:Key") == ["c%d+e f.bin"] and not texts(
        plain, "s3:EncodingType"
    )
    spaced = uploads_page(server, keys, "prefix=c&encoding-type=url")
    assert texts(spaced, "s3:Upload/s3:Key") == ["c%25d%2Be%20f.bin"]

    for bad in ["max-uploads=-1", "max-uploads=x", "encoding-type=base64"]:
        answer = send_signed(server, keys, "GET", f"/listed?uploads&{bad}")
        assert answer.status_code == 400 and "<Code>InvalidArgument</Code>" in answer.text, bad
    for key, ids in created.items():
        for upload_id in ids:
            s3.abort_multipart_upload(Bucket="listed", Key=key, UploadId=upload_id)
