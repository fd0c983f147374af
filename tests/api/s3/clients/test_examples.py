"""docs/s3.md's examples, run against a running lockr: boto3's, MinIO's and the
rclone remote's (test_aws_cli runs the AWS CLI's)."""

from __future__ import annotations

import configparser
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import gateway
from tests.api.s3.clients.conftest import (
    AwsCli,
    assert_same_files_everywhere,
    fill,
    make_tree,
    rest_files,
)
from tests.conftest import LockrProcess
from tests.doc_examples import Examples


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
