"""Real S3 clients against one running lockr: the AWS CLI, boto3 in virtual-host style
and with presigned URLs, the MinIO Python client, and rclone with the remote
``lockr rclone-config --s3`` prints. What they write is the same file over WebDAV and
the REST API.

The server serves virtual-host style under ``s3.lockr.test``, a name no resolver
knows: the virtual-host client connects to 127.0.0.1 and sends the ``Host`` header it
signed (see ``loopback``), as DNS pointing the domain at the listener would. The other
clients use path-style on 127.0.0.1, as on a server without ``s3_domain``.
"""

from __future__ import annotations

import configparser
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.auth
import botocore.crt.auth
import httpx
import pytest
import requests
from botocore.awsrequest import AWSPreparedRequest
from botocore.client import Config as BotoConfig
from botocore.exceptions import ClientError
from minio import Minio

import gateway
from tests.conftest import LockrProcess, create_s3_key, run_cli, run_rclone, signup
from tests.doc_examples import Examples

DOMAIN = "s3.lockr.test"
USER = "alice"
DOCS_ENDPOINT = "127.0.0.1:8082"


def fill(example: str, server: LockrProcess, keys: dict[str, str]) -> str:
    """A docs/s3.md example with its placeholders filled in for ``server``."""
    return (
        example.replace(DOCS_ENDPOINT, f"127.0.0.1:{server.s3_port}")
        .replace("YOUR_ACCESS_KEY_ID", keys["accessKeyId"])
        .replace("YOUR_SECRET_ACCESS_KEY", keys["secretAccessKey"])
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockrProcess]:
    data = tmp_path_factory.mktemp("s3clients") / "data"
    process = LockrProcess(data, env={"LOCKR_S3_DOMAIN": DOMAIN}).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def token(server: LockrProcess) -> str:
    return signup(server, USER)


@pytest.fixture(scope="module")
def keys(server: LockrProcess, token: str) -> dict[str, str]:
    return create_s3_key(server, token, "clients")


def boto3_client(server: LockrProcess, keys: dict[str, str], **settings: Any) -> Any:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.pop("endpoint_url", server.s3_url),
        aws_access_key_id=keys["accessKeyId"],
        aws_secret_access_key=keys["secretAccessKey"],
        region_name="us-east-1",
        config=BotoConfig(retries={"max_attempts": 1}, **settings),
    )


@pytest.fixture(scope="module")
def s3(server: LockrProcess, keys: dict[str, str]) -> Iterator[Any]:
    """Path-style; presigned URLs with SigV4 (botocore presigns with SigV2 for
    us-east-1 unless told ``s3v4``, and lockr takes SigV4 only)."""
    client = boto3_client(server, keys, signature_version="s3v4", s3={"addressing_style": "path"})
    yield client
    client.close()


def make_tree(root: Path) -> dict[str, bytes]:
    """A small nested tree of files (an empty one, a 1 MiB one), each with an old
    modification time of its own (to the nanosecond); returns its files by relative
    path."""
    files = {
        "readme.txt": b"hello from the top\n",
        "empty.dat": b"",
        "2024/june/beach.jpg": os.urandom(1024 * 1024),
        "2024/june/notes with spaces.txt": b"sand " * 200,
        "2024/july/ünïcødé ✓.bin": os.urandom(5000),
        "misc/deep/er/still.txt": b"deep",
    }
    for number, (name, body) in enumerate(sorted(files.items())):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        # Nanoseconds, as real files have: rclone writes and compares all nine digits.
        moment = (1_600_000_000 + number * 86_400) * 10**9 + 250_000_001
        os.utime(path, ns=(moment, moment))
    return files


def rest_files(server: LockrProcess, token: str) -> dict[str, dict[str, Any]]:
    """The account's files as the REST API lists them, by path (without a leading /)."""
    found: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    while True:
        params = {"limit": "1000"} | ({"cursor": cursor} if cursor else {})
        page = httpx.get(
            server.url + "/api/v1/files",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        found |= {item["path"].strip("/"): item for item in page["files"]}
        cursor = page["nextCursor"]
        if cursor is None:
            return found


def webdav_listing(server: LockrProcess, token: str, path: str) -> dict[str, dict[str, Any]]:
    """``rclone lsjson -R --hash`` of ``path`` over WebDAV, by path."""
    remote = f":webdav,url='http://127.0.0.1:{server.dav_port}',vendor=owncloud"
    remote += f",bearer_token='{token}':{USER}/{path}"
    listing = json.loads(run_rclone("lsjson", "-R", "--hash", "--files-only", remote).stdout)
    return {item["Path"]: item for item in listing}


def assert_same_files_everywhere(
    server: LockrProcess, token: str, folder: str, files: dict[str, bytes]
) -> None:
    """``files`` are in ``folder`` of the account's tree, with their bytes' MD5, over
    the REST API and over WebDAV."""
    md5s = {name: hashlib.md5(body).hexdigest() for name, body in files.items()}
    rest = rest_files(server, token)
    assert {name: rest[f"{folder}/{name}"]["md5"] for name in files} == md5s
    dav = webdav_listing(server, token, folder)
    assert {name: item["Hashes"]["md5"] for name, item in dav.items()} == md5s


# -- boto3: virtual-host style ------------------------------------------------------


def loopback(request: AWSPreparedRequest, **_: Any) -> None:
    """Send a request for ``*.s3.lockr.test`` to 127.0.0.1, with the ``Host`` header it
    was signed with: what a DNS record for the domain would do."""
    parts = urlsplit(request.url)
    request.headers["Host"] = parts.netloc
    request.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port}"))


def test_virtual_host_style(server: LockrProcess, keys: dict[str, str], token: str) -> None:
    client = boto3_client(
        server,
        keys,
        endpoint_url=f"http://{DOMAIN}:{server.s3_port}",
        s3={"addressing_style": "virtual"},
    )
    sent: list[str] = []
    client.meta.events.register_first(
        "before-send.s3", lambda request, **_: sent.append(urlsplit(request.url).netloc)
    )
    client.meta.events.register("before-send.s3", loopback)
    client.create_bucket(Bucket="virtual")
    body = b"addressed by the host name"
    client.put_object(Bucket="virtual", Key="2024/a b.txt", Body=body)
    assert client.get_object(Bucket="virtual", Key="2024/a b.txt")["Body"].read() == body
    assert client.head_object(Bucket="virtual", Key="2024/a b.txt")["ContentLength"] == len(body)
    listed = client.list_objects_v2(Bucket="virtual")
    assert [item["Key"] for item in listed["Contents"]] == ["2024/a b.txt"]
    assert "virtual" in [bucket["Name"] for bucket in client.list_buckets()["Buckets"]]
    assert sent[0] == f"virtual.{DOMAIN}:{server.s3_port}"  # the bucket was in the host
    assert f"{DOMAIN}:{server.s3_port}" in sent  # ListBuckets: the domain itself
    assert_same_files_everywhere(server, token, "virtual", {"2024/a b.txt": body})
    assert f"path-style, and BUCKET.{DOMAIN}" in server.output()  # the banner says so

    # The same server still answers path-style, on its address and on the domain.
    path_style = boto3_client(
        server,
        keys,
        endpoint_url=f"http://{DOMAIN}:{server.s3_port}",
        s3={"addressing_style": "path"},
    )
    path_style.meta.events.register("before-send.s3", loopback)
    assert path_style.get_object(Bucket="virtual", Key="2024/a b.txt")["Body"].read() == body
    client.delete_object(Bucket="virtual", Key="2024/a b.txt")
    with pytest.raises(ClientError) as gone:
        client.head_object(Bucket="virtual", Key="2024/a b.txt")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


# -- boto3: presigned URLs used by another client ----------------------------------


@pytest.fixture(scope="module")
def presigned(s3: Any) -> str:
    """The bucket of the presigned URLs."""
    s3.create_bucket(Bucket="presigned")
    return "presigned"


def presign(s3: Any, operation: str, key: str, expires: int = 3600) -> str:
    url: str = s3.generate_presigned_url(
        operation, Params={"Bucket": "presigned", "Key": key}, ExpiresIn=expires
    )
    return url


def s3_error(response: httpx.Response) -> tuple[int, str]:
    code = response.text.partition("<Code>")[2].partition("</Code>")[0]
    return response.status_code, code


@pytest.mark.usefixtures("presigned")
def test_presigned_get_and_put(s3: Any) -> None:
    body = os.urandom(70_000)
    put = httpx.put(presign(s3, "put_object", "up/loaded.bin"), content=body)
    assert put.status_code == 200, put.text
    assert put.headers["etag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = httpx.get(presign(s3, "get_object", "up/loaded.bin", expires=7 * 24 * 3600))
    assert got.status_code == 200 and got.content == body
    ranged = httpx.get(presign(s3, "get_object", "up/loaded.bin"), headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.content == body[:10]


@pytest.mark.usefixtures("presigned")
def test_presigned_get_and_put_with_requests(s3: Any) -> None:
    """The same URLs sent by ``requests``, which sends a body of its own way (a file
    object: ``Content-Length`` from its size)."""
    body = os.urandom(300_000)
    with io.BytesIO(body) as source:
        put = requests.put(presign(s3, "put_object", "requests/up.bin"), data=source, timeout=30)
    assert put.status_code == 200, put.text
    assert put.headers["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = requests.get(presign(s3, "get_object", "requests/up.bin"), timeout=30)
    assert got.status_code == 200 and got.content == body
    assert got.headers["Content-Length"] == str(len(body))


@pytest.mark.usefixtures("presigned")
def test_presigned_urls_that_must_be_refused(
    server: LockrProcess, keys: dict[str, str], s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.put_object(Bucket="presigned", Key="kept.txt", Body=b"kept")
    sigv2 = boto3_client(server, keys, s3={"addressing_style": "path"})
    unsupported = httpx.get(presign(sigv2, "get_object", "kept.txt"))
    assert "Signature=" in str(unsupported.url)  # botocore's default for us-east-1
    assert s3_error(unsupported) == (400, "InvalidRequest")
    too_long = httpx.get(presign(s3, "get_object", "kept.txt", expires=7 * 24 * 3600 + 1))
    assert s3_error(too_long) == (400, "AuthorizationQueryParametersError")

    url = presign(s3, "get_object", "kept.txt")
    tampered = httpx.get(url.replace("kept.txt", "kept.txx"))
    assert s3_error(tampered) == (403, "SignatureDoesNotMatch")
    other_put = httpx.put(presign(s3, "get_object", "kept.txt"), content=b"overwritten")
    assert s3_error(other_put) == (403, "SignatureDoesNotMatch")  # signed for a GET
    assert s3.get_object(Bucket="presigned", Key="kept.txt")["Body"].read() == b"kept"

    with monkeypatch.context() as past:  # signed two hours ago, for one hour
        two_hours_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
        past.setattr(botocore.auth, "get_current_datetime", lambda *_, **__: two_hours_ago)
        # boto3 signs through the AWS Common Runtime when it is installed.
        past.setattr(botocore.crt.auth, "get_current_datetime", lambda *_, **__: two_hours_ago)
        expired = presign(s3, "get_object", "kept.txt", expires=3600)
    assert s3_error(httpx.get(expired)) == (403, "AccessDenied")


# -- the MinIO Python client ---------------------------------------------------------


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


# -- the AWS CLI ---------------------------------------------------------------------


class AwsCli:
    """The AWS CLI (``awscli``) with the profile docs/s3.md shows, in files of its own
    folder, which is also its home and current folder: nothing of the real home's
    ``~/.aws`` or of the environment's ``AWS_*`` is read."""

    def __init__(self, folder: Path, server: LockrProcess, keys: dict[str, str]) -> None:
        self.folder = folder
        self.fill = lambda text: fill(text, server, keys)
        examples = Examples("s3.md", "ini")
        config = folder / "config"
        config.write_text(self.fill(examples.take("[profile lockr]")) + "\n")
        credentials = folder / "credentials"
        credentials.write_text(self.fill(examples.take("aws_access_key_id")) + "\n")
        self.env = {name: value for name, value in os.environ.items() if "AWS" not in name}
        self.env |= {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(folder),
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "AWS_PROFILE": "lockr",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }

    def __call__(self, *args: str, stdin: bytes = b"") -> bytes:
        done = subprocess.run(
            [sys.executable, "-m", "awscli", *args],
            input=stdin,
            capture_output=True,
            env=self.env,
            cwd=self.folder,
            timeout=120,
        )
        if done.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed:\n{done.stderr.decode()}")
        return done.stdout

    def shell(self, example: str, **env: str) -> str:
        """A docs example (bash), its placeholders filled in; its standard output."""
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self.fill(example)],
            capture_output=True,
            cwd=self.folder,
            env=self.env | env,
            timeout=120,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


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


MiB = 1024 * 1024


def random_file(path: Path, size: int) -> Path:
    """``path`` filled with ``size`` random bytes, written in blocks of 8 MiB (never
    held whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for start in range(0, size, 8 * MiB):
            handle.write(os.urandom(min(8 * MiB, size - start)))
    return path


def multipart_etag(path: Path, part_size: int) -> str:
    """S3's quoted ETag of ``path`` uploaded in parts of ``part_size`` bytes: the MD5
    of the parts' binary MD5s, a dash and the number of parts."""
    digests = []
    with path.open("rb") as handle:
        while part := handle.read(part_size):
            digests.append(hashlib.md5(part).digest())
    return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while block := handle.read(8 * MiB):
            digest.update(block)
    return digest.hexdigest()


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


# -- rclone, with the remote `lockr rclone-config --s3` prints -----------------------


def test_rclone(server: LockrProcess, token: str, tmp_path: Path) -> None:
    printed = run_cli(
        "rclone-config", USER, "--s3", "--data", str(server.data), "--url", server.s3_url
    )
    assert printed.returncode == 0, printed.stderr
    assert "shown only now" in printed.stderr and "secret_access_key" not in printed.stderr
    config = tmp_path / "rclone.conf"
    config.write_text(printed.stdout)

    def rclone(*args: str) -> str:
        done = run_rclone(*args, config=config)
        return done.stdout + done.stderr

    source = tmp_path / "tree"
    files = make_tree(source)
    rclone("sync", str(source), "lockr:rclone/tree")
    assert "rclone" in rclone("lsd", "lockr:")
    listed = rclone("lsf", "-R", "--fast-list", "--files-only", "lockr:rclone").splitlines()
    assert sorted(listed) == sorted(f"tree/{name}" for name in files)
    sizes = dict(
        reversed(line.split(maxsplit=1)) for line in rclone("ls", "lockr:rclone").splitlines()
    )
    assert sizes == {f"tree/{name}": str(len(body)) for name, body in files.items()}
    assert_same_files_everywhere(server, token, "rclone/tree", files)

    # Modification times round-trip (x-amz-meta-mtime); WebDAV shows whole seconds.
    over_s3 = json.loads(rclone("lsjson", "-R", "--files-only", "lockr:rclone/tree"))
    over_dav = webdav_listing(server, token, "rclone/tree")
    for item in over_s3:
        local = (source / item["Path"]).stat().st_mtime
        assert _epoch(item["ModTime"]) == pytest.approx(local, abs=1e-6), item
        assert _epoch(over_dav[item["Path"]]["ModTime"]) == int(local), item

    again = rclone("sync", "-v", "--stats-one-line", str(source), "lockr:rclone/tree")
    # Nothing copied, and no time touched: the nanoseconds rclone wrote read back.
    assert "Copied" not in again and "0 B / 0 B" in again, again
    assert "Updated modification time" not in again, again
    rclone("check", str(source), "lockr:rclone/tree")  # MD5s from the ETags
    rclone("copy", str(source / "readme.txt"), "lockr:rclone/extra")
    assert rclone("cat", "lockr:rclone/extra/readme.txt").encode() == files["readme.txt"]

    rclone("delete", "lockr:rclone/tree/2024")
    left = rclone("lsf", "-R", "--files-only", "lockr:rclone").splitlines()
    assert sorted(left) == sorted(
        ["extra/readme.txt", *(f"tree/{n}" for n in files if not n.startswith("2024/"))]
    )
    rclone("purge", "lockr:rclone")
    assert "rclone" not in rclone("lsd", "lockr:").split()
    assert not [path for path in rest_files(server, token) if path.startswith("rclone/")]


def test_rclone_multipart(
    server: LockrProcess, keys: dict[str, str], token: str, tmp_path: Path
) -> None:
    """A nested tree with a file over rclone's default ``upload_cutoff`` (200 MiB),
    which it sends as a multipart upload in parts of its default ``chunk_size`` (5 MiB);
    the second sync transfers nothing and ``check --download`` reads every byte back."""
    config = tmp_path / "rclone.conf"
    config.write_text(fill(Examples("s3.md", "ini").take("type = s3"), server, keys))
    remote = "lockr-s3:bigsync/tree"

    def rclone(*args: str) -> str:
        done = run_rclone(*args, config=config)
        return done.stdout + done.stderr

    source = tmp_path / "tree"
    files = make_tree(source)
    big = random_file(source / "video/raw/big.bin", 300 * MiB)
    os.utime(big, ns=(1_650_000_000_123_456_789,) * 2)
    rclone("mkdir", "lockr-s3:bigsync")
    rclone("sync", str(source), remote)
    s3 = boto3_client(server, keys, s3={"addressing_style": "path"})
    head = s3.head_object(Bucket="bigsync", Key="tree/video/raw/big.bin")
    assert head["ContentLength"] == 300 * MiB
    assert head["ETag"] == multipart_etag(big, 5 * MiB)  # "…-60"
    assert head["Metadata"]["md5chksum"]  # rclone's MD5 of the whole, for check
    assert rest_files(server, token)["bigsync/tree/video/raw/big.bin"]["md5"] == file_md5(big)
    again = rclone("sync", "-v", "--stats-one-line", str(source), remote)
    assert "Copied" not in again and "0 B / 0 B" in again, again
    assert "Updated modification time" not in again, again
    checked = rclone("check", "--download", str(source), remote)
    assert f"{len(files) + 1} matching files" in checked, checked
    listed = rclone("lsf", "-R", "--fast-list", "--files-only", remote).splitlines()
    assert sorted(listed) == sorted([*files, "video/raw/big.bin"])
    rclone("purge", "lockr-s3:bigsync")
    big.unlink()  # pytest keeps the temporary folders of the last runs


def _epoch(text: str) -> float:
    """Seconds since the epoch of an rclone ``ModTime`` (RFC 3339, up to nanoseconds)."""
    whole, _, fraction = text.removesuffix("Z").partition(".")
    digits, sign, zone = fraction.partition("+") if "+" in fraction else (fraction, "", "")
    moment = datetime.fromisoformat(whole + (sign + zone if sign else "+00:00"))
    return moment.timestamp() + (float("0." + digits) if digits else 0.0)


# -- docs/s3.md's examples ---------------------------------------------------------


def test_every_example_in_docs_s3(
    server: LockrProcess,
    keys: dict[str, str],
    token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The boto3, MinIO and rclone examples (test_aws_cli runs the AWS CLI's)."""
    examples = {language: Examples("s3.md", language) for language in ("ini", "sh", "python")}
    examples["ini"].take("[profile lockr]")  # run by test_aws_cli
    examples["ini"].take("aws_access_key_id")
    examples["sh"].take("aws s3 mb")
    aws = AwsCli(tmp_path, server, keys)  # for its shell
    albums = make_tree(tmp_path / "albums")
    (tmp_path / "todo.txt").write_bytes(b"call mum\n")

    monkeypatch.chdir(tmp_path)  # the examples' files are in the current folder
    namespace: dict[str, Any] = {}
    exec(fill(examples["python"].take("import boto3"), server, keys), namespace)
    assert httpx.get(namespace["url"]).content == b"buy milk\n"
    exec(fill(examples["python"].take("from minio import Minio"), server, keys), {})
    assert rest_files(server, token)["notes/backup/todo.txt"]["size"] == len(b"call mum\n")

    rclone_config = tmp_path / "rclone.conf"
    commands = examples["sh"].take("lockr rclone-config")
    synced = aws.shell(
        commands.replace("lockr rclone-config", f"{sys.executable} -m gateway.cli rclone-config"),
        RCLONE_CONFIG=str(rclone_config),
        PYTHONPATH=str(Path(gateway.__file__).parent.parent),
        LOCKR_DATA=str(server.data),
        LOCKR_S3=f"127.0.0.1:{server.s3_port}",
    )
    files_listed = [line for line in synced.splitlines() if not line.endswith("/")]
    assert sorted(files_listed) == sorted(f"albums/{name}" for name in albums)
    assert_same_files_everywhere(server, token, "backup/albums", albums)
    shown = configparser.ConfigParser()
    shown.read_string(fill(examples["ini"].take("type = s3"), server, keys))
    printed = configparser.ConfigParser()
    printed.read(rclone_config)
    secrets = {"access_key_id": "", "secret_access_key": ""}
    assert list(printed["lockr-s3"]) == list(shown["lockr-s3"])
    assert dict(printed["lockr-s3"]) | secrets == dict(shown["lockr-s3"]) | secrets

    for language, left in examples.items():
        assert not left.untaken(), f"docs/s3.md {language} examples no test runs"
