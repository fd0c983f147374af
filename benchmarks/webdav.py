"""WebDAV against ``rclone serve webdav`` in the same run: rclone sync of 1,000 4 KiB
files in 10 folders (``--transfers=16 --checkers=8``; once with rclone's default pacer
and once with ``--webdav-pacer-min-sleep 0``), the no-change second sync, and a 1 GiB
PUT and GET with curl (no-change syncs: best of three). Prints the table with ratios,
each server's peak RSS, and each server's CPU seconds per case (user + system, from
``/proc/<pid>/stat``: for a sync, per 1,000 small files). The pacer-0 sync runs once
more against ``lockr serve --workers 2`` (its CPU and RSS: the workers' and the
supervisor's together; RSS the sum of their peaks, pages the forked workers share
counted in each).

    python -m benchmarks.webdav      # LOCKR_BENCH_MIB sets the large object's size

Measured on this machine kind (2 cores, shared with other work: one run each; time
and ratio to ``rclone serve webdav`` in the same run, then lockr's CPU seconds):

    case                           cheroot + wsgidav   ASGI front + fast path (2 runs)
    sync 1000 x 4 KiB, pacer 0     17.61 s  8.55x      11.14 s 6.35x 12.5 | 8.93 s 4.29x 8.0
    sync 1000 x 4 KiB, default     33.09 s  1.00x      33.01 s 1.00x  9.7 | 33.16 s 1.01x 9.1
    no-change sync, pacer 0         0.18 s  0.90x       0.14 s 0.98x      |  0.15 s 1.11x
    no-change sync, default         0.23 s  1.05x       0.19 s 0.90x      |  0.19 s 0.80x
    PUT 1 GiB                       4.28 s  0.79x       3.79 s 0.79x  4.4 |  4.67 s 1.04x 4.1
    GET 1 GiB                       0.60 s  0.23x       0.50 s 0.20x  0.5 |  0.64 s 0.25x 0.5
    peak RSS                       107-119 MiB         100-116 MiB (rclone: 113-132 MiB)

``rclone serve webdav`` used 1.6 CPU seconds for the pacer-0 sync. The machine's
other work moves single runs a lot: in alternating rounds on a quieter machine (medians
of 3-5), the pacer-0 sync took lockr 15.2 s (17.9 CPU s) before and 9.9 s (11.5 CPU s)
after, against 1.1-1.2 s for ``rclone serve webdav``.

``--workers 2``, one run on a very busy machine (load average 9-12, 64 MiB object):
the pacer-0 sync took 14.34 s (4.85x, 9.7 CPU s) against 17.19 s (5.82x, 12.4 CPU s)
for one worker and 2.95 s for ``rclone serve webdav``; the workers' summed peak RSS
270 MiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import MiB, bench_size, curl, make_source, rss_mib, table, workspace
from benchmarks.servers import (
    Server,
    rclone_binary,
    sign_up,
    start_lockr,
    start_rclone_webdav,
)

PASSWORD = "bench-password"
SMALL_PACER_0 = "sync 1000 x 4 KiB, pacer 0"
WORKERS = 2


def make_small_tree(root: Path) -> None:
    block = os.urandom(4096)
    for folder in range(10):
        (root / f"folder-{folder}").mkdir(parents=True, exist_ok=True)
        for index in range(100):
            (root / f"folder-{folder}" / f"file-{index:03d}.bin").write_bytes(
                block[index:] + block[:index]
            )


def bench_account(lockr: Server) -> tuple[str, str]:
    """Sign up the ``bench`` account on ``lockr``: its WebDAV URL, and the inline
    rclone remote of its home (append a path)."""
    sign_up(lockr, "bench", PASSWORD)
    dav = lockr.url.rsplit(":", 1)[0] + f":{lockr.dav_port}"
    secret = obscure(PASSWORD)
    return dav, f":webdav,url='{dav}',vendor=owncloud,user=bench,pass={secret}:bench/"


def obscure(password: str) -> str:
    return subprocess.run(
        [rclone_binary(), "obscure", password], capture_output=True, text=True, check=True
    ).stdout.strip()


def rclone_sync(source: Path, remote: str, *, pacer_zero: bool) -> float:
    args = [
        rclone_binary(),
        "--config",
        "/dev/null",
        "sync",
        str(source),
        remote,
        "--transfers=16",
        "--checkers=8",
    ]
    if pacer_zero:
        args += ["--webdav-pacer-min-sleep", "0"]
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - started


def measure(
    remote_for: Callable[[str], str],
    put_url: str,
    auth: list[str],
    source: Path,
    big: Path,
    pid: int,
) -> dict[str, dict[str, float]]:
    size = big.stat().st_size
    small = 1000 * 4096
    results: dict[str, dict[str, float]] = {}
    for label, pacer_zero in (("default pacer", False), ("pacer 0", True)):
        remote = remote_for("pacer0" if pacer_zero else "default")
        used = cpu_seconds(pid)
        seconds = rclone_sync(source, remote, pacer_zero=pacer_zero)
        results[f"sync 1000 x 4 KiB, {label}"] = _row(seconds, small, pid, used)
        # A no-change sync is short and changes nothing: the best of three runs is
        # less at the mercy of a noisy machine (its CPU is the mean of the three).
        used = cpu_seconds(pid)
        seconds = min(rclone_sync(source, remote, pacer_zero=pacer_zero) for _ in range(3))
        results[f"no-change sync, {label}"] = _row(seconds, small, pid, used, runs=3)
    used = cpu_seconds(pid)
    seconds = curl(*auth, "-T", str(big), put_url)
    results["PUT 1 object"] = _row(seconds, size, pid, used)
    used = cpu_seconds(pid)
    seconds = curl(*auth, put_url)
    results["GET 1 object"] = _row(seconds, size, pid, used)
    return results


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the workers of ``lockr serve --workers N``)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += process_tree(int(child))
    return found


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) the process ``pid`` and its descendants have
    used so far."""
    return usage(pid)[0]


def usage(pid: int) -> tuple[float, int]:
    """The CPU seconds (user and system) and minor page faults of the process ``pid``
    and its descendants so far."""
    ticks, faults = 0, 0
    for process in process_tree(pid):
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        faults += int(fields[7])
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK"), faults


def tree_rss_mib(pid: int) -> float:
    """The peak RSS of ``pid`` and its descendants, added up."""
    return sum(rss_mib(process) for process in process_tree(pid))


def _row(seconds: float, size: int, pid: int, used: float, *, runs: int = 1) -> dict[str, float]:
    """A case's result; ``used`` is the server's CPU seconds when it began."""
    return {
        "seconds": seconds,
        "mib_s": size / MiB / seconds,
        "rss": tree_rss_mib(pid),
        "rss_growth": 0.0,
        "cpu": (cpu_seconds(pid) - used) / runs,
    }


def measure_workers(source: Path, data: Path, workers: int) -> dict[str, float]:
    """The pacer-0 small-file sync against ``lockr serve --workers N``."""
    lockr = start_lockr(data, args=["--workers", str(workers)])
    try:
        _dav, remote = bench_account(lockr)
        used = cpu_seconds(lockr.pid)
        seconds = rclone_sync(source, remote + "pacer0", pacer_zero=True)
        return _row(seconds, 1000 * 4096, lockr.pid, used)
    finally:
        lockr.stop()


def main() -> None:
    size = bench_size()
    with workspace() as work:
        source = work / "small"
        make_small_tree(source)
        big = make_source(work / "big.bin", size)

        lockr = start_lockr(work / "lockr")
        try:
            dav, remote = bench_account(lockr)

            def lockr_remote(name: str) -> str:
                return remote + name

            ours = measure(
                lockr_remote,
                f"{dav}/bench/big.bin",
                ["-u", f"bench:{PASSWORD}"],
                source,
                big,
                lockr.pid,
            )
        finally:
            lockr.stop()
        workers = measure_workers(source, work / "lockr-workers", WORKERS)

        peer = start_rclone_webdav(work / "rclone", user="bench", password=PASSWORD)
        try:
            secret = obscure(PASSWORD)

            def peer_remote(name: str) -> str:
                return f":webdav,url='{peer.url}',vendor=rclone,user=bench,pass={secret}:{name}"

            theirs = measure(
                peer_remote,
                f"{peer.url}/big.bin",
                ["-u", f"bench:{PASSWORD}"],
                source,
                big,
                peer.pid,
            )
        finally:
            peer.stop()

    rows = []
    for case in ours:
        rows.append((f"rclone serve webdav: {case}", theirs[case], ""))
        rows.append((f"lockr: {case}", ours[case], f"rclone serve webdav: {case}"))
        if case == SMALL_PACER_0:
            rows.append(
                (f"lockr --workers {WORKERS}: {case}", workers, f"rclone serve webdav: {case}")
            )
    table(
        f"WebDAV: lockr vs rclone serve webdav (large object {size // MiB} MiB; RSS is the "
        "server's peak)",
        rows,
    )
    print("\nserver CPU seconds (user + system; a sync's is per 1,000 small files)")
    for case in ours:
        print(
            f"{case:<34}{'lockr':>8}{ours[case]['cpu']:>7.2f}{'rclone':>9}{theirs[case]['cpu']:>7.2f}"
        )
    print(
        f"{SMALL_PACER_0 + f', {WORKERS} workers':<34}{'lockr':>8}{workers['cpu']:>7.2f}"
        f"{'rclone':>9}{theirs[SMALL_PACER_0]['cpu']:>7.2f}"
    )
    ratios = {case: ours[case]["seconds"] / theirs[case]["seconds"] for case in ours}
    ratios[f"{SMALL_PACER_0}, {WORKERS} workers"] = (
        workers["seconds"] / theirs[SMALL_PACER_0]["seconds"]
    )
    print(json.dumps(ratios))


if __name__ == "__main__":
    main()
