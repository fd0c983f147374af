"""The S3 object store beyond the contract (``test_objectstore.py``): how a stream is
cut into parts, how the store's errors become domain errors, a missing bucket."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from gateway import objectstore_s3
from gateway.errors import BadRequest, Busy, Forbidden, LockrError, NotFound
from gateway.objectstore_s3 import S3ObjectStore, _spools, _translated
from tests.conftest import S3Server, free_port


def cut(blocks: list[bytes], part_size: int) -> list[tuple[int, bool]]:
    sizes = []
    for spool, last in _spools(blocks, part_size):
        with spool:
            sizes.append((spool.size, last))
    return sizes


def test_streams_are_cut_into_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cut([], 4) == [(0, True)]
    assert cut([b"abc"], 4) == [(3, True)]
    assert cut([b"ab", b"cd"], 4) == [(4, True)]  # no empty part after a full one
    assert cut([b"abcdefghij"], 4) == [(4, False), (4, False), (2, True)]
    monkeypatch.setattr(objectstore_s3, "PARTS_PER_STEP", 2)
    assert cut([b"x" * 30], 4) == [(4, False), (4, False), (8, False), (8, False), (6, True)]


@pytest.mark.parametrize(
    ("code", "domain"),
    [
        ("NoSuchKey", NotFound),
        ("NoSuchUpload", NotFound),
        ("404", NotFound),
        ("InvalidPart", BadRequest),
        ("EntityTooSmall", BadRequest),
        ("SlowDown", Busy),
        ("ServiceUnavailable", Busy),
        ("NoSuchBucket", LockrError),
        ("AccessDenied", LockrError),
        ("SignatureDoesNotMatch", LockrError),
    ],
)
def test_store_errors_become_domain_errors(code: str, domain: type[LockrError]) -> None:
    with pytest.raises(domain) as raised, _translated():
        raise ClientError({"Error": {"Code": code, "Message": "..."}}, "GetObject")
    assert type(raised.value) is domain
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_an_unreachable_store_is_busy() -> None:
    with pytest.raises(Busy, match="did not answer"), _translated():
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")


def test_part_size_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="part_size"):
        S3ObjectStore(
            endpoint="http://127.0.0.1:9",
            bucket="b",
            access_key_id="a",
            secret_access_key="s",
            part_size=1024,
        )


@pytest.mark.slow
def test_a_missing_bucket_is_a_server_error(s3_server: S3Server) -> None:
    store = S3ObjectStore(
        endpoint=s3_server.endpoint,
        bucket="no-such-bucket",
        access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key,
    )
    try:
        with pytest.raises(LockrError, match="bucket does not exist") as raised:
            store.put("object", [b"x"])
        assert raised.value.status == 500
    finally:
        store.close()


@pytest.mark.slow
def test_a_part_larger_than_the_memory_allowance(s3_server: S3Server) -> None:
    """A part beyond ``part_size`` spills to a temporary file and arrives whole."""
    store = S3ObjectStore(
        endpoint=s3_server.endpoint,
        bucket="lockr-test",
        prefix="spill",
        access_key_id=s3_server.access_key_id,
        secret_access_key=s3_server.secret_access_key,
        part_size=S3ObjectStore.min_part_size,
    )
    data = bytes(range(256)) * (26 * 1024)  # 6.5 MiB
    try:
        upload_id = store.create_multipart("big")
        part = store.put_part("big", upload_id, 1, [data[:1_000_000], data[1_000_000:]])
        assert part.size == len(data)
        assert store.complete_multipart("big", upload_id, [part]) == len(data)
        assert b"".join(store.open_reader("big")) == data
        store.delete("big")
    finally:
        store.close()


@pytest.mark.slow
def test_check_says_what_is_wrong(s3_server: S3Server) -> None:
    """Before a node serves a region, its store is checked: a missing bucket, refused
    keys and a silent endpoint each say so."""

    def store(**overrides: str) -> S3ObjectStore:
        settings = {
            "endpoint": s3_server.endpoint,
            "bucket": "lockr-test",
            "access_key_id": s3_server.access_key_id,
            "secret_access_key": s3_server.secret_access_key,
            **overrides,
        }
        return S3ObjectStore(**settings, timeout=5)

    store().check()
    with pytest.raises(NotFound, match="'no-such-bucket' does not exist"):
        store(bucket="no-such-bucket").check()
    with pytest.raises(Forbidden, match="refused these keys"):
        store(secret_access_key="not-the-secret-access-key").check()
    with pytest.raises(Busy, match="did not answer"):
        store(endpoint=f"http://127.0.0.1:{free_port()}").check()
