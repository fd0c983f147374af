"""Helpers shared by the benchmarks: sizes, a source file, child-process cases, tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

MiB = 1024 * 1024
BLOCK = MiB


def bench_size() -> int:
    """Object size for the throughput cases: LOCKR_BENCH_MIB (default 1024 = 1 GiB)."""
    return int(os.environ.get("LOCKR_BENCH_MIB", "1024")) * MiB


@contextmanager
def workspace() -> Iterator[Path]:
    """A fresh folder for one benchmark's files (under TMPDIR if set), removed after."""
    with tempfile.TemporaryDirectory(prefix="lockr-bench-", dir=os.environ.get("TMPDIR")) as tmp:
        yield Path(tmp)


def make_source(path: Path, size: int) -> Path:
    """A file of ``size`` incompressible bytes (written once, reused)."""
    if path.exists() and path.stat().st_size == size:
        return path
    block = os.urandom(BLOCK)
    with path.open("wb") as handle:
        for offset in range(0, size, BLOCK):
            handle.write(block[: min(BLOCK, size - offset)])
    return path


def start_core(data: Path):  # type: ignore[no-untyped-def]
    """A started core over ``data``: a 1 TiB default quota, cheap argon2."""
    from gateway.config import load_config
    from gateway.core import build_core

    config = load_config(
        env={},
        flags={
            "data": str(data),
            "default_quota": "1TiB",
            "argon2_time_cost": 1,
            "argon2_memory_cost": 1024,
            "argon2_parallelism": 1,
        },
    )
    core = build_core(config)
    core.start()
    return core


def rss_mib(pid: int, field: str = "VmHWM") -> float:
    """A process's peak RSS (``VmHWM``), or another field of its ``/proc`` status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def reset_peak_rss(pid: int) -> float:
    """Start ``pid``'s peak RSS (VmHWM) again from its current RSS, so that the next
    reading is the peak of what runs from now on; returns that current RSS. Where the
    kernel does not allow it, the peak stays the process's lifetime peak."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass
    return rss_mib(pid, "VmRSS")


def peak_rss_mib() -> float:
    """This process's peak RSS. Not ``getrusage``: after ``exec`` that also counts the
    parent's RSS at the fork."""
    return rss_mib(os.getpid())


def run_case(module: str, case: str, *args: str) -> dict[str, float]:
    """Run ``module``'s ``case`` in a fresh interpreter; it prints one JSON line."""
    output = subprocess.run(
        [sys.executable, "-m", module, case, *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


_rss_before = 0.0


def timed(work: Callable[[], object]) -> float:
    """Time ``work``; the peak RSS it adds is reported next to the process's peak."""
    global _rss_before
    _rss_before = peak_rss_mib()
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def report(seconds: float, size: int) -> None:
    rss = peak_rss_mib()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "mib_s": size / MiB / seconds,
                "rss": rss,
                "rss_growth": rss - _rss_before,
            }
        )
    )


def table(title: str, rows: list[tuple[str, dict[str, float], str]]) -> None:
    """Rows of (case, result, peer-case name or ''); ratio = case time / peer time."""
    by_name = {name: result for name, result, _ in rows}
    print(f"\n{title}")
    print(f"{'case':<34}{'seconds':>9}{'MiB/s':>9}{'peak RSS MiB':>14}{'growth':>8}  vs peer")
    for name, result, peer in rows:
        ratio = ""
        if peer:
            ratio = f"{result['seconds'] / by_name[peer]['seconds']:.2f}x {peer}"
        print(
            f"{name:<34}{result['seconds']:>9.2f}{result['mib_s']:>9.0f}"
            f"{result['rss']:>14.1f}{result['rss_growth']:>8.1f}  {ratio}"
        )


def curl(*args: str) -> float:
    """Seconds one ``curl`` transfer takes (the body goes to /dev/null)."""
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", *args], check=True)
    return time.perf_counter() - started
