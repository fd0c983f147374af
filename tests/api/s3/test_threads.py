"""Where the S3 front's reads run: on the event loop over SQLite, in the process's
worker threads over PostgreSQL; writes always in a worker thread. A real server on
PostgreSQL answers every read over S3 (its reads then in threads)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from api.s3.threads import Lookups
from gateway.threads import WorkerThreads
from tests.api.s3.conftest import error_code, make_client
from tests.conftest import LockrProcess, create_s3_key, fresh_postgres_database, signup


@pytest.fixture
def threads() -> Iterator[WorkerThreads]:
    pool = WorkerThreads()
    yield pool
    pool.close()


def where(lookups: Lookups) -> tuple[str, str]:
    """The threads a read and a write ran in."""

    async def run() -> tuple[str, str]:
        def name() -> str:
            return threading.current_thread().name

        return await lookups.read(name), await lookups.thread(name)

    return asyncio.run(run())


def test_reads_run_on_the_loop_over_sqlite_and_writes_in_a_thread(
    threads: WorkerThreads,
) -> None:
    read, write = where(Lookups(threads, inline_reads=True))
    assert read == threading.current_thread().name
    assert write.startswith("lockr-worker")


def test_reads_run_in_a_thread_over_another_database(threads: WorkerThreads) -> None:
    read, write = where(Lookups(threads, inline_reads=False))
    assert read.startswith("lockr-worker") and write.startswith("lockr-worker")


def test_a_failure_comes_back_to_the_caller(threads: WorkerThreads) -> None:
    def fails() -> None:
        raise ValueError("no")

    for inline in (True, False):
        with pytest.raises(ValueError, match="no"):
            asyncio.run(Lookups(threads, inline_reads=inline).read(fails))


@pytest.fixture
def pg_server(tmp_path: Path, postgres_server: str) -> Iterator[LockrProcess]:
    url, drop = fresh_postgres_database(postgres_server)
    process = LockrProcess(tmp_path / "data", env={"LOCKR_DATABASE_URL": url}).start()
    try:
        yield process
    finally:
        process.stop()
        drop()


def test_the_front_reads_in_threads_over_postgresql(pg_server: LockrProcess) -> None:
    keys = create_s3_key(pg_server, signup(pg_server, "alice"))
    s3 = make_client(pg_server, keys["accessKeyId"], keys["secretAccessKey"])
    s3.create_bucket(Bucket="docs")
    s3.put_object(Bucket="docs", Key="a/b.txt", Body=b"hello", Metadata={"mtime": "1.5"})
    head = s3.head_object(Bucket="docs", Key="a/b.txt")
    assert head["ContentLength"] == 5 and head["Metadata"] == {"mtime": "1.5"}
    assert s3.get_object(Bucket="docs", Key="a/b.txt")["Body"].read() == b"hello"
    listed = s3.list_objects(Bucket="docs", Prefix="a/", Delimiter="/")
    assert [item["Key"] for item in listed["Contents"]] == ["a/b.txt"]
    assert listed["Contents"][0]["Owner"]["DisplayName"] == "alice"
    assert [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]] == ["docs"]
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket="docs", Key="a/none.txt")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as unknown:
        make_client(pg_server, "LK" + "A" * 18, "x" * 40).list_buckets()
    assert error_code(unknown) == "InvalidAccessKeyId"
    s3.close()
