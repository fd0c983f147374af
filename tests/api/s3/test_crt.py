"""boto3 with the AWS Common Runtime installed (``pip install boto3[crt]``): it then
signs requests, presigned URLs and streamed uploads through the CRT, which writes its
own headers; lockr answers it as it answers botocore's own signer."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from typing import Any

from tests.api.s3.conftest import ensure_bucket
from tests.conftest import LockrProcess

CLIENT = r"""
import base64, hashlib, json, sys, urllib.request
import boto3, botocore.compat
from botocore.client import Config
assert botocore.compat.HAS_CRT, "the CRT is not in use"
url, key_id, secret = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=key_id,
                  aws_secret_access_key=secret, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                signature_version="s3v4"))
body = bytes(range(256)) * 4096
s3.put_object(Bucket="crt", Key="dir/one.bin", Body=body, ChecksumAlgorithm="CRC32C")
head = s3.head_object(Bucket="crt", Key="dir/one.bin", ChecksumMode="ENABLED")
got = s3.get_object(Bucket="crt", Key="dir/one.bin")["Body"].read()
signed = s3.generate_presigned_url("get_object", Params={"Bucket": "crt", "Key": "dir/one.bin"})
with urllib.request.urlopen(signed) as answer:
    presigned = answer.read()
keys = [item["Key"] for item in s3.list_objects_v2(Bucket="crt")["Contents"]]
print(json.dumps({
    "etag": head["ETag"], "crc32c": head.get("ChecksumCRC32C"),
    "get": hashlib.sha1(got).hexdigest(), "presigned": hashlib.sha1(presigned).hexdigest(),
    "keys": keys,
}))
"""


def test_boto3_with_the_crt(server: LockrProcess, keys: dict[str, Any], s3: Any) -> None:
    ensure_bucket(s3, "crt")
    environment = {**os.environ, "BOTO_DISABLE_CRT": "false"}
    run = subprocess.run(
        [sys.executable, "-c", CLIENT, server.s3_url, keys["accessKeyId"], keys["secretAccessKey"]],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    seen = json.loads(run.stdout)
    body = bytes(range(256)) * 4096
    digest = hashlib.sha1(body).hexdigest()
    assert seen["etag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert seen["crc32c"] and seen["get"] == digest and seen["presigned"] == digest
    assert seen["keys"] == ["dir/one.bin"]
    stored = s3.get_object(Bucket="crt", Key="dir/one.bin")["Body"].read()
    assert hashlib.sha1(stored).hexdigest() == digest
