"""Storage engine throughput for one large object against a plain file copy on the
same disk, and each case's peak RSS.

    python -m benchmarks.engine            # the table (LOCKR_BENCH_MIB sets the size)

Cases (each in its own process):
- ``copy``: read the source and write a new file in 1 MiB blocks, then fsync — what
  the engine's write must do at the least (and the peer of :mod:`benchmarks.rest`'s
  uploads);
- ``engine-write``: stream the source through ``Storage.upload`` (MD5 + SHA-1, quota
  reservations, fsync, rename, metadata commit);
- ``read``: read the source file in 1 MiB blocks;
- ``engine-read``: read the stored object through ``Storage.open``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from benchmarks.common import (
    BLOCK,
    bench_size,
    make_source,
    report,
    run_case,
    start_core,
    table,
    timed,
    workspace,
)


def case_copy(source: Path, work: Path) -> None:
    target = work / "copy.bin"

    def run() -> None:
        with source.open("rb") as src, target.open("wb") as dst:
            while block := src.read(BLOCK):
                dst.write(block)
            dst.flush()
            os.fsync(dst.fileno())

    report(timed(run), source.stat().st_size)
    target.unlink()


def case_engine_write(source: Path, work: Path) -> None:
    core = start_core(work / "data")
    try:
        account = core.accounts.find("bench").id
    except Exception:
        account = core.accounts.create("bench", "bench@example.com", "bench-password").id

    def run() -> None:
        with (
            source.open("rb") as src,
            core.storage.upload(account, "big.bin", max_size=1 << 40) as upload,
        ):
            while block := src.read(BLOCK):
                upload.write(block)
            upload.commit()

    seconds = timed(run)
    core.close()
    report(seconds, source.stat().st_size)


def case_read(source: Path, _work: Path) -> None:
    def run() -> None:
        with source.open("rb") as src:
            while src.read(BLOCK):
                pass

    report(timed(run), source.stat().st_size)


def case_engine_read(source: Path, work: Path) -> None:
    core = start_core(work / "data")
    account = core.accounts.find("bench").id
    entry = core.storage.stat(account, "big.bin")

    def run() -> None:
        for _block in core.storage.open(entry):
            pass

    seconds = timed(run)
    core.close()
    report(seconds, entry.size)


CASES = {
    "copy": case_copy,
    "engine-write": case_engine_write,
    "read": case_read,
    "engine-read": case_engine_read,
}


def main() -> None:
    size = bench_size()
    with workspace() as work:
        source = make_source(work / "source.bin", size)
        results = {
            name: run_case("benchmarks.engine", name, str(source), str(work)) for name in CASES
        }
    table(
        f"Storage engine, one {size // (1024 * 1024)} MiB object (same disk, same run)",
        [
            ("plain copy + fsync", results["copy"], ""),
            ("engine write (md5+sha1, quota)", results["engine-write"], "plain copy + fsync"),
            ("plain read", results["read"], ""),
            ("engine read", results["engine-read"], "plain read"),
        ],
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        CASES[sys.argv[1]](Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
