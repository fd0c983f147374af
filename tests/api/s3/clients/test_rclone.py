"""rclone against a running lockr's S3 front: with the remote ``lockr rclone-config
--s3`` prints (sync, modification times to the nanosecond, check, delete, purge), and
with docs/s3.md's remote for a multipart upload of a file over its cutoff."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from tests.api.s3.clients.conftest import (
    USER,
    MiB,
    assert_same_files_everywhere,
    boto3_client,
    file_md5,
    fill,
    make_tree,
    multipart_etag,
    random_file,
    rest_files,
    webdav_listing,
)
from tests.conftest import LockrProcess, run_cli, run_rclone
from tests.doc_examples import Examples


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
