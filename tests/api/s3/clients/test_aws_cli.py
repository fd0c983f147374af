"""The AWS CLI against a running lockr, with the profile docs/s3.md shows: ``aws s3``
(sync, pipes, rm, rb), and multipart uploads by ``aws s3 cp`` and by ``aws s3api``."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from tests.api.s3.clients.conftest import (
    AwsCli,
    MiB,
    assert_same_files_everywhere,
    file_md5,
    make_tree,
    multipart_etag,
    random_file,
    rest_files,
)
from tests.conftest import LockrProcess
from tests.doc_examples import Examples


def keys_of(output: bytes) -> list[str]:
    """The keys of the ``aws s3 ls --recursive`` lines in ``output`` (date, time,
    size, key)."""
    lines = output.decode().splitlines()
    return [line.split(maxsplit=3)[3] for line in lines if re.match(r"\d{4}-\d\d-\d\d ", line)]


def test_aws_cli(server: LockrProcess, keys: dict[str, str], token: str, tmp_path: Path) -> None:
    """docs/s3.md's AWS CLI example, then more of ``aws s3``: a second sync that
    uploads nothing, copies from and to a pipe, rm --recursive and rb."""
    aws = AwsCli(tmp_path, server, keys)
    beach = os.urandom(100_000)
    (tmp_path / "beach.jpg").write_bytes(beach)
    albums = make_tree(tmp_path / "albums")
    shown = aws.shell(Examples("s3.md", "sh").take("aws s3 mb"))
    assert "make_bucket: photos" in shown and shown.count("upload: ") == 1 + len(albums)
    listed, _, head = shown.partition("{")
    assert keys_of(listed.encode()) == sorted(
        ["2024/beach.jpg", *(f"albums/{name}" for name in albums)]
    )
    head_object = json.loads("{" + head)
    assert head_object["ContentLength"] == len(beach)
    assert head_object["ETag"] == f'"{hashlib.md5(beach).hexdigest()}"'
    assert_same_files_everywhere(server, token, "photos/albums", albums)
    assert aws("s3", "sync", "albums", "s3://photos/albums") == b""  # nothing new

    piped = os.urandom(200_000)
    aws("s3", "cp", "-", "s3://photos/piped.bin", stdin=piped)
    assert aws("s3", "cp", "s3://photos/piped.bin", "-") == piped
    top = aws("s3", "ls", "s3://photos").decode().splitlines()
    assert [line.split() for line in top[:2]] == [["PRE", "2024/"], ["PRE", "albums/"]]
    assert top[2].split()[2:] == [str(len(piped)), "piped.bin"]

    removed = aws("s3", "rm", "--recursive", "s3://photos/albums").decode()
    assert removed.count("delete: ") == len(albums), removed
    assert keys_of(aws("s3", "ls", "--recursive", "s3://photos")) == [
        "2024/beach.jpg",
        "piped.bin",
    ]
    aws("s3", "rm", "--recursive", "s3://photos")
    assert aws("s3", "rb", "s3://photos").decode().strip() == "remove_bucket: photos"


def test_aws_cli_multipart(
    server: LockrProcess, keys: dict[str, str], token: str, tmp_path: Path
) -> None:
    """``aws s3 cp`` of a file over the CLI's default ``multipart_threshold`` (8 MiB,
    in parts of 8 MiB) up and down, then a multipart upload driven by ``aws s3api``."""
    aws = AwsCli(tmp_path, server, keys)
    big = random_file(tmp_path / "big.bin", 20 * MiB)
    aws("s3", "mb", "s3://multi")
    aws("s3", "cp", "big.bin", "s3://multi/cp/big.bin")
    head = json.loads(aws("s3api", "head-object", "--bucket", "multi", "--key", "cp/big.bin"))
    assert head["ContentLength"] == 20 * MiB
    assert head["ETag"] == multipart_etag(big, 8 * MiB)  # "…-3"
    aws("s3", "cp", "s3://multi/cp/big.bin", "down.bin")  # ranged GETs, in parallel
    assert (tmp_path / "down.bin").read_bytes() == big.read_bytes()
    assert rest_files(server, token)["multi/cp/big.bin"]["md5"] == file_md5(big)

    def s3api(operation: str, *args: str) -> dict[str, Any]:
        output = aws("s3api", operation, "--bucket", "multi", *args)
        return json.loads(output) if output.strip() else {}

    first, second = os.urandom(5 * MiB), os.urandom(1000)
    (tmp_path / "part1.bin").write_bytes(first)
    (tmp_path / "part2.bin").write_bytes(second)
    upload = s3api("create-multipart-upload", "--key", "api/joined.bin")["UploadId"]
    sent = {}
    for number in (2, 1):  # the last part first
        answer = s3api(
            "upload-part",
            *("--key", "api/joined.bin", "--upload-id", upload),
            *("--part-number", str(number), "--body", f"part{number}.bin"),
        )
        sent[number] = answer["ETag"]
    assert sent == {
        1: f'"{hashlib.md5(first).hexdigest()}"',
        2: f'"{hashlib.md5(second).hexdigest()}"',
    }
    parts = s3api("list-parts", "--key", "api/joined.bin", "--upload-id", upload)["Parts"]
    assert [(part["PartNumber"], part["ETag"], part["Size"]) for part in parts] == [
        (1, sent[1], len(first)),
        (2, sent[2], len(second)),
    ]
    listed = s3api("list-multipart-uploads")["Uploads"]
    assert [(item["Key"], item["UploadId"]) for item in listed] == [("api/joined.bin", upload)]
    (tmp_path / "parts.json").write_text(
        json.dumps({"Parts": [{"PartNumber": n, "ETag": sent[n]} for n in (1, 2)]})
    )
    done = s3api(
        "complete-multipart-upload",
        *("--key", "api/joined.bin", "--upload-id", upload),
        *("--multipart-upload", "file://parts.json"),
    )
    whole = hashlib.md5(hashlib.md5(first).digest() + hashlib.md5(second).digest())
    assert done["ETag"] == f'"{whole.hexdigest()}-2"'
    aws("s3", "cp", "s3://multi/api/joined.bin", "joined.bin")
    assert (tmp_path / "joined.bin").read_bytes() == first + second

    abandoned = s3api("create-multipart-upload", "--key", "api/abandoned.bin")["UploadId"]
    s3api(
        "upload-part",
        *("--key", "api/abandoned.bin", "--upload-id", abandoned),
        *("--part-number", "1", "--body", "part1.bin"),
    )
    assert [item["UploadId"] for item in s3api("list-multipart-uploads")["Uploads"]] == [abandoned]
    s3api("abort-multipart-upload", "--key", "api/abandoned.bin", "--upload-id", abandoned)
    assert "Uploads" not in s3api("list-multipart-uploads")
    with pytest.raises(AssertionError, match="NoSuchUpload"):
        s3api("list-parts", "--key", "api/abandoned.bin", "--upload-id", abandoned)
    assert keys_of(aws("s3", "ls", "--recursive", "s3://multi")) == [
        "api/joined.bin",
        "cp/big.bin",
    ]
