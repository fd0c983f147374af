"""The namespace at scale (SQLite, the embedded default): the first page (1,000 keys)
of a prefix listing in an account of 20,000 entries and in one of 200,000, with and
without a delimiter, and resolving a path of 60 components against one of 1. The
listings of the two accounts should cost about the same (O(page), target within 1.5x
of each other), and a deep path about what a shallow one costs (one indexed lookup).

    python -m benchmarks.namespace    # LOCKR_BENCH_REPEAT sets the repetitions (50)

Each account holds ``data/`` (folders of 1,000 one-byte files, inserted directly, as
:mod:`benchmarks.trees` does), and the listing asks for the keys under one folder in
the middle, ``data/d0010/``, and for the account from its start; with a delimiter at
``data/`` the page holds one common prefix per folder (20 and 200 of them: that row
grows with its page, not with the account).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import start_core, workspace
from benchmarks.trees import make_tree

SIZES = (20_000, 200_000)
DEPTH = 60


def _medians_ms(calls: list[Callable[[], object]], repeat: int) -> list[float]:
    """Median milliseconds of each of ``calls``, run in turn (alternating, so that the
    machine's noise falls on all of them alike) after one warming run each."""
    for call in calls:
        call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeat):
        for index, call in enumerate(calls):
            started = time.perf_counter()
            call()
            times[index].append(time.perf_counter() - started)
    return [statistics.median(each) * 1000 for each in times]


def _page(core: Any, account_id: int, prefix: str, delimiter: str | None) -> Callable[[], object]:
    from gateway.listing import list_keys

    def run() -> object:
        listing = list_keys(core.db, account_id, prefix, delimiter=delimiter)
        assert len(listing.entries) + len(listing.prefixes) >= 1
        return listing

    return run


CASES = {
    "under a folder": ("data/d0010/", None),
    "under a folder, delimiter": ("data/d0010/", "/"),
    "from the start": ("", None),
    "top, delimiter (a folder each)": ("data/", "/"),
}


def main() -> None:
    repeat = int(os.environ.get("LOCKR_BENCH_REPEAT", "50"))
    rows: dict[str, list[float]] = {}
    with workspace() as work:
        core = start_core(work / "data")
        try:
            accounts = []
            for size in SIZES:
                account = core.accounts.create(f"ns{size}", f"ns{size}@example.com", "pw-bench-1")
                make_tree(core, account.id, size, "data")
                accounts.append(account.id)
            for name, (prefix, delimiter) in CASES.items():
                calls = [_page(core, account, prefix, delimiter) for account in accounts]
                rows[name] = _medians_ms(calls, repeat)
            deep = core.accounts.create("deep", "deep@example.com", "pw-bench-1").id
            path = "/".join(f"level{n:02d}" for n in range(DEPTH - 1))
            core.storage.mkdir(deep, path, parents=True)
            with core.storage.upload(deep, f"{path}/file", max_size=10) as upload:
                upload.write(b"x")
                upload.commit()
            core.storage.mkdir(deep, "shallow")
            resolve_one, resolve_deep = _medians_ms(
                [
                    lambda: core.storage.stat(deep, "shallow"),
                    lambda: core.storage.stat(deep, f"{path}/file"),
                ],
                repeat,
            )
        finally:
            core.close()
    print(f"\nPrefix listing, first page of up to 1,000 keys (SQLite; median of {repeat})")
    print(f"{'case':<28}{'20,000 entries':>16}{'200,000 entries':>17}{'ratio':>8}")
    for name, (small, large) in rows.items():
        print(f"{name:<28}{small:>13.2f} ms{large:>14.2f} ms{large / small:>8.2f}")
    print(f"\nResolving a path (median of {repeat})")
    print(f"{'1 component':<28}{resolve_one:>13.3f} ms")
    print(f"{f'{DEPTH} components':<28}{resolve_deep:>13.3f} ms{resolve_deep / resolve_one:>8.2f}x")


if __name__ == "__main__":
    main()
