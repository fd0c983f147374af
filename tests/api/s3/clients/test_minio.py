"""The MinIO Python client against a running lockr: buckets, streamed and file
uploads and downloads, stat, listings with and without a delimiter, and removal."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from minio import Minio

from tests.api.s3.clients.conftest import assert_same_files_everywhere
from tests.conftest import LockrProcess


def test_minio_client(
    server: LockrProcess, keys: dict[str, str], token: str, tmp_path: Path
) -> None:
    client = Minio(
        f"127.0.0.1:{server.s3_port}",
        access_key=keys["accessKeyId"],
        secret_key=keys["secretAccessKey"],
        secure=False,
        region="us-east-1",  # else it asks for the bucket's location first
    )
    assert not client.bucket_exists("minio")
    client.make_bucket("minio")
    assert client.bucket_exists("minio")

    body = os.urandom(3 * 1024 * 1024)  # a known length below its 5 MiB part size
    written = client.put_object(
        "minio", "data/stream.bin", io.BytesIO(body), len(body), content_type="image/png"
    )
    assert written.etag == hashlib.md5(body).hexdigest()
    source = tmp_path / "upload.txt"
    source.write_bytes(b"from a file\n" * 1000)
    client.fput_object("minio", "data/sub/file.txt", str(source))

    response = client.get_object("minio", "data/stream.bin")
    try:
        assert response.read() == body
    finally:
        response.close()
        response.release_conn()
    target = tmp_path / "download.txt"
    client.fget_object("minio", "data/sub/file.txt", str(target))
    assert target.read_bytes() == source.read_bytes()

    stat = client.stat_object("minio", "data/stream.bin")
    assert (stat.size, stat.etag, stat.content_type) == (
        len(body),
        hashlib.md5(body).hexdigest(),
        "image/png",
    )
    top = [(item.object_name, item.is_dir) for item in client.list_objects("minio")]
    assert top == [("data/", True)]
    below = [item.object_name for item in client.list_objects("minio", prefix="data/")]
    assert below == ["data/stream.bin", "data/sub/"]
    everything = client.list_objects("minio", recursive=True)
    assert [(item.object_name, item.size) for item in everything] == [
        ("data/stream.bin", len(body)),
        ("data/sub/file.txt", source.stat().st_size),
    ]
    assert_same_files_everywhere(
        server,
        token,
        "minio",
        {"data/stream.bin": body, "data/sub/file.txt": source.read_bytes()},
    )
    client.remove_object("minio", "data/stream.bin")
    left = [item.object_name for item in client.list_objects("minio", recursive=True)]
    assert left == ["data/sub/file.txt"]
