"""The process's worker threads: jobs run in them and answer back, the core closes
them (waiting for the jobs in flight), and both fronts hand their jobs to the same
pool."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

from api.s3.app import create_s3_app
from gateway.core import Core
from gateway.threads import WorkerThreads
from tests.api.s3.conftest import make_client
from tests.conftest import PASSWORD, serving
from webdav.app import create_dav_app


def test_a_job_runs_in_a_worker_thread_and_answers_back() -> None:
    threads = WorkerThreads()
    try:
        name = asyncio.run(threads.run(lambda: threading.current_thread().name))
        assert name.startswith("lockr-worker") and name != threading.current_thread().name

        def fails(message: str) -> None:
            raise ValueError(message)

        with pytest.raises(ValueError, match="no"):
            asyncio.run(threads.run(fails, "no"))
    finally:
        threads.close()


def test_closing_waits_for_the_jobs_in_flight_and_refuses_more() -> None:
    threads = WorkerThreads()
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def job() -> None:
        started.set()
        release.wait(30)
        finished.set()

    async def hand_over() -> None:
        running = asyncio.ensure_future(threads.run(job))
        await asyncio.to_thread(started.wait, 30)
        closing = threading.Thread(target=threads.close)
        closing.start()
        closing.join(0.2)
        assert closing.is_alive() and not finished.is_set()  # waits for the job
        release.set()
        await running
        await asyncio.to_thread(closing.join, 30)
        assert finished.is_set() and not closing.is_alive()

    asyncio.run(hand_over())
    with pytest.raises(RuntimeError):
        asyncio.run(threads.run(job))
    threads.close()  # again: nothing to do


def test_the_core_closes_its_worker_threads(core: Core) -> None:
    assert asyncio.run(core.threads.run(sum, [1, 2])) == 3
    core.close()
    with pytest.raises(RuntimeError):
        asyncio.run(core.threads.run(sum, [1, 2]))


def test_both_fronts_share_the_worker_threads(core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a pool of one thread, a WebDAV fast-path job and an S3 job run in that
    same thread."""
    core.threads.close()
    core.threads = WorkerThreads(1)
    alice = core.accounts.create("alice", "alice@example.com", PASSWORD)
    info, secret = core.s3_keys.create(alice.id)
    ran: dict[str, str] = {}

    def recording(name: str, method: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            ran[name] = threading.current_thread().name
            return method(*args, **kwargs)

        return run

    # A WebDAV MKCOL makes its folder in a worker thread; the first S3 request
    # counts against the burst limits in one.
    monkeypatch.setattr(core.storage, "mkdir", recording("dav", core.storage.mkdir))
    monkeypatch.setattr(core.s3_limiter, "check", recording("s3", core.s3_limiter.check))
    with serving(create_dav_app(core)) as dav, serving(create_s3_app(core)) as s3:
        made = httpx.request("MKCOL", f"{dav}/alice/docs/", auth=("alice", PASSWORD))
        assert made.status_code == 201
        client = make_client(s3, info.access_key_id, secret)
        assert [bucket["Name"] for bucket in client.list_buckets()["Buckets"]] == ["docs"]
        client.close()
    assert ran == {"dav": "lockr-worker_0", "s3": "lockr-worker_0"}
