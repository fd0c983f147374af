"""How long a COPY and a DELETE of a large tree hold the database's write transaction,
and how long another account's small writes wait meanwhile (SQLite, the default).

    python -m benchmarks.trees       # LOCKR_BENCH_ENTRIES sets the tree size (50000)

The tree (``big/``: folders of 1,000 one-byte files, each its own blob) is inserted
directly (rows only, no bytes on disk); the copy and the delete go through the engine
while a thread makes folders in another account, one at a time, for as long as they
run. Measured on this machine kind, 50,000 entries (longest write transaction of the
operation; the other account's longest wait):

    copy    one transaction: 60 s / 60 s      in batches: 0.12 s / 0.13 s (6.7 s in all)
    delete  one transaction: 19 s / 19 s      in batches: 0.04 s / 0.07 s (4.6 s in all)
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert, update

from benchmarks.common import start_core, workspace

FILES_PER_FOLDER = 1000


def make_tree(core: Any, account_id: int, entries: int, top_name: str = "big") -> None:
    """``top_name/`` and ``entries - 1`` entries below it (folders of
    :data:`FILES_PER_FOLDER` files), straight into the database."""
    from gateway.models import Account, Node

    top = core.storage.mkdir(account_id, top_name)
    now = time.time()
    left = entries - 1
    folders = files = 0
    with core.db.write() as session:
        while left > 0:
            folder_id = session.execute(
                insert(Node).returning(Node.id),
                _row(account_id, top.id, top.key, f"d{folders:04}", None, now),
            ).scalar_one()
            folder_key = f"{top.key}d{folders:04}/"
            folders += 1
            count = min(left - 1, FILES_PER_FOLDER - 1)
            left -= 1 + count
            if not count:
                break
            blobs = insert_blobs(session, count, now)
            session.execute(
                insert(Node),
                [
                    _row(account_id, folder_id, folder_key, f"f{i:04}", b, now)
                    for i, b in enumerate(blobs)
                ],
            )
            files += count
        session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(used_bytes=files, entry_count=Account.entry_count + entries - 1)
        )


def insert_blobs(session: Any, count: int, now: float) -> list[int]:
    """``count`` one-byte blob rows (no bytes on disk), straight into the database."""
    from gateway.blobkeys import new_key
    from gateway.models import Blob

    rows = [
        {"region": "local", "key": new_key(), "size": 1, "md5": "", "sha1": "",
         "refcount": 1, "created_at": now}
        for _ in range(count)
    ]  # fmt: skip
    returning = insert(Blob).returning(Blob.id, sort_by_parameter_order=True)
    return list(session.execute(returning, rows).scalars())


def _row(
    account_id: int, parent_id: int, parent_key: str, name: str, blob_id: int | None, now: float
) -> dict[str, object]:
    from gateway.tree import child_key, new_uid

    return {
        "uid": new_uid(),
        "key": child_key(parent_key, name, blob_id is None),
        "account_id": account_id,
        "parent_id": parent_id,
        "name": name,
        "is_dir": blob_id is None,
        "blob_id": blob_id,
        "size": 0 if blob_id is None else 1,
        "content_type": "",
        "mtime": now,
        "created_at": now,
    }


def _measure(core: Any, other: int, operation: Any) -> dict[str, float]:
    """Run ``operation`` while another account makes folders; the longest write
    transaction ``operation`` held, and the longest wait of the other writes."""
    holds: list[float] = []
    original = core.db.write
    caller = threading.get_ident()

    @contextmanager
    def timed_write() -> Iterator[Any]:
        context = original()
        session = context.__enter__()
        started = time.perf_counter()
        try:
            yield session
        except BaseException as error:
            context.__exit__(type(error), error, error.__traceback__)
            raise
        else:
            context.__exit__(None, None, None)
        finally:
            if threading.get_ident() == caller:
                holds.append(time.perf_counter() - started)

    core.db.write = timed_write
    done = threading.Event()
    waits: list[float] = []

    def probe() -> None:
        index = 0
        while not done.is_set():
            started = time.perf_counter()
            core.storage.mkdir(other, f"probe-{time.monotonic_ns()}-{index}")
            waits.append(time.perf_counter() - started)
            index += 1

    thread = threading.Thread(target=probe)
    thread.start()
    started = time.perf_counter()
    try:
        operation()
    finally:
        seconds = time.perf_counter() - started
        done.set()
        thread.join()
        core.db.write = original
    return {
        "seconds": seconds,
        "longest_hold": max(holds, default=0.0),
        "transactions": len(holds),
        "probe_writes": len(waits),
        "probe_max_wait": max(waits, default=0.0),
    }


def main() -> None:
    entries = int(os.environ.get("LOCKR_BENCH_ENTRIES", "50000"))
    with workspace() as work:
        core = start_core(work / "data")
        try:
            big = core.accounts.create("bench", "bench@example.com", "bench-password").id
            other = core.accounts.create("other", "other@example.com", "other-password").id
            make_tree(core, big, entries)
            results = {
                "copy": _measure(core, other, lambda: core.storage.copy(big, "big", "big2")),
                "delete": _measure(core, other, lambda: core.storage.delete(big, "big")),
            }
            # The copy's rows, removed after the delete: time the second delete too.
            results["delete copy"] = _measure(core, other, lambda: core.storage.delete(big, "big2"))
        finally:
            core.close()
    print(f"\nA tree of {entries} entries on SQLite, another account making folders meanwhile")
    print(
        f"{'case':<14}{'seconds':>9}{'longest tx':>12}{'write txs':>11}"
        f"{'other writes':>14}{'their max wait':>16}"
    )
    for name, result in results.items():
        print(
            f"{name:<14}{result['seconds']:>9.2f}{result['longest_hold']:>12.3f}"
            f"{result['transactions']:>11.0f}{result['probe_writes']:>14.0f}"
            f"{result['probe_max_wait']:>16.3f}"
        )


if __name__ == "__main__":
    main()
