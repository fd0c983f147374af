"""Each configured region opens the object store its backend names."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.objectstore_local import LocalObjectStore
from gateway.objectstore_s3 import S3ObjectStore
from gateway.regions import open_object_store
from tests.conftest import S3Server


def test_a_local_region_opens_its_directory(tmp_path: Path) -> None:
    config = load_config(env={}, flags={"data": str(tmp_path / "data")})
    store = open_object_store(config.regions["local"])
    assert isinstance(store, LocalObjectStore)
    assert store.root == tmp_path / "data" / "blobs" / "local"
    assert store.put("ab/cd/abcd", [b"bytes"]) == 5


@pytest.mark.slow
def test_an_s3_region_opens_its_bucket(tmp_path: Path, s3_server: S3Server) -> None:
    toml = tmp_path / "lockr.toml"
    toml.write_text(
        f'default_region = "s3"\n[regions.s3]\nbackend = "s3"\nendpoint = "{s3_server.endpoint}"\n'
        'bucket = "lockr-test"\nprefix = "regions"\n'
    )
    env = {
        "LOCKR_REGION_S3_ACCESS_KEY_ID": s3_server.access_key_id,
        "LOCKR_REGION_S3_SECRET_ACCESS_KEY": s3_server.secret_access_key,
    }
    store = open_object_store(load_config(file=toml, env=env).regions["s3"])
    try:
        assert isinstance(store, S3ObjectStore)
        assert store.put("object", [b"in ", b"the bucket"]) == 13
        assert b"".join(store.open_reader("object")) == b"in the bucket"
        client = s3_server.client()
        assert client.head_object(Bucket="lockr-test", Key="regions/object")["ContentLength"] == 13
        client.close()
        store.delete("object")
    finally:
        store.close()
