"""A large folder as the web app browses it (SQLite, the embedded default): a page of
100 entries of a folder of 10,000 and of one of 100,000, by each sort, first page and
a page from the middle (after a cursor), and the folder's count.

    python -m benchmarks.folders    # LOCKR_BENCH_REPEAT sets the repetitions (30)

Each folder holds 1 folder in 100 and files of varied sizes, times and types,
inserted directly (rows only, no bytes on disk), as :mod:`benchmarks.trees` does.
By name a page reads about its own size (the unique index on the folder and name);
by another sort the database sorts the folder's rows, so that page grows with the
folder.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from sqlalchemy import insert, update

from benchmarks.common import start_core, workspace
from benchmarks.namespace import _medians_ms
from benchmarks.trees import insert_blobs

SIZES = (10_000, 100_000)
TYPES = ("image/jpeg", "application/pdf", "text/plain", "video/mp4", "")


def make_folder(core: Any, account_id: int, entries: int, name: str) -> None:
    """The folder ``name`` holding ``entries`` entries, straight into the database."""
    from gateway.models import Account, Node
    from gateway.tree import child_key, new_uid

    top = core.storage.mkdir(account_id, name)
    chance = random.Random(entries)
    now = time.time()
    with core.db.write() as session:
        for start in range(0, entries, 1000):
            count = min(1000, entries - start)
            blobs = insert_blobs(session, count, now)
            rows = []
            for offset, blob_id in enumerate(blobs):
                number = start + offset
                is_dir = number % 100 == 0
                entry = f"e{chance.getrandbits(40):012x}-{number}"
                rows.append(
                    {
                        "uid": new_uid(),
                        "key": child_key(top.key, entry, is_dir),
                        "account_id": account_id,
                        "parent_id": top.id,
                        "name": entry,
                        "is_dir": is_dir,
                        "blob_id": None if is_dir else blob_id,
                        "size": 0 if is_dir else chance.randrange(1, 1 << 30),
                        "content_type": "" if is_dir else chance.choice(TYPES),
                        "mtime": now - chance.randrange(0, 10**8),
                        "created_at": now,
                    }
                )
            session.execute(insert(Node), rows)
        session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(entry_count=Account.entry_count + entries)
        )


def main() -> None:
    repeat = int(os.environ.get("LOCKR_BENCH_REPEAT", "30"))
    rows: dict[str, list[float]] = {}
    with workspace() as work:
        core = start_core(work / "data")
        try:
            from gateway.folders import Folders

            folders = Folders(core.db, core.storage)
            account = core.accounts.create("browse", "browse@example.com", "pw-bench-1").id
            for size in SIZES:
                make_folder(core, account, size, f"f{size}")
            for sort in ("name", "size", "modified", "type"):
                for descending in (False, True):
                    label = f"{sort} {'desc' if descending else 'asc'}"
                    middles = [
                        _middle(folders, account, f"f{size}", sort, descending) for size in SIZES
                    ]
                    first = [
                        _call(folders, account, f"f{size}", sort, descending, None)
                        for size in SIZES
                    ]
                    later = [
                        _call(folders, account, f"f{size}", sort, descending, middle)
                        for size, middle in zip(SIZES, middles, strict=True)
                    ]
                    rows[f"{label}, first page"] = _medians_ms(first, repeat)
                    rows[f"{label}, middle page"] = _medians_ms(later, repeat)
            rows["count"] = _medians_ms(
                [
                    lambda size=size: folders.page(account, f"f{size}", limit=1, count=True)
                    for size in SIZES
                ],
                repeat,
            )
        finally:
            core.close()
    print(f"\nA page of 100 entries of one folder (SQLite; median of {repeat})")
    print(f"{'case':<30}{'10,000 entries':>16}{'100,000 entries':>17}")
    for name, (small, large) in rows.items():
        print(f"{name:<30}{small:>13.2f} ms{large:>14.2f} ms")


def _middle(folders: Any, account: int, path: str, sort: str, descending: bool) -> Any:
    """The position half way through the folder, in this order."""
    after = None
    page = folders.page(account, path, sort=sort, descending=descending, limit=1000)
    for _ in range(4):
        after = page.next
        page = folders.page(
            account, path, sort=sort, descending=descending, limit=1000, after=after
        )
    return after


def _call(folders: Any, account: int, path: str, sort: str, descending: bool, after: Any) -> Any:
    def run() -> object:
        page = folders.page(account, path, sort=sort, descending=descending, after=after)
        assert len(page.entries) == 100
        return page

    return run


if __name__ == "__main__":
    main()
