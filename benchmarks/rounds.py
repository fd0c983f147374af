"""Cases measured in alternating rounds against a peer: each round runs every case once,
the order reversed every other round, and the table shows medians, so that a noisy
machine slows lockr and its peer alike. Each run also records the peak RSS of the
processes it involves (the servers, and the peer's client where that does the work).

    LOCKR_BENCH_ROUNDS=5 python -m benchmarks.rest     # rounds per case (default 3)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from benchmarks.common import MiB, reset_peak_rss, rss_mib


@dataclass(frozen=True)
class Memory:
    """One process's peak RSS during a run, and how far it rose above the RSS it had
    when the run began (MiB; None for a client that the run started)."""

    process: str
    peak: float
    growth: float | None = None


@dataclass(frozen=True)
class Run:
    seconds: float
    size: int
    memory: tuple[Memory, ...] = ()


Case = Callable[[int], Run]
"""One run of a case; it is given the round's number (for fresh names)."""


def round_count() -> int:
    """Rounds per case: LOCKR_BENCH_ROUNDS (default 3)."""
    return max(1, int(os.environ.get("LOCKR_BENCH_ROUNDS", "3")))


def alternate(cases: Mapping[str, Case], rounds: int) -> dict[str, list[Run]]:
    """Run every case once a round, in the given order in even rounds and reversed in
    odd ones; each case's runs in round order."""
    runs: dict[str, list[Run]] = {name: [] for name in cases}
    for number in range(rounds):
        order = list(cases) if number % 2 == 0 else list(reversed(list(cases)))
        for name in order:
            runs[name].append(cases[name](number))
    return runs


def watched(size: int, processes: Mapping[str, int], work: Callable[[], float]) -> Run:
    """Run ``work`` (it returns the seconds it took, for ``size`` bytes) and record the
    peak RSS of each of ``processes`` (name -> pid) while it ran."""
    before = {name: reset_peak_rss(pid) for name, pid in processes.items()}
    seconds = work()
    memory = []
    for name, pid in processes.items():
        peak = rss_mib(pid)
        memory.append(Memory(name, peak, peak - before[name]))
    return Run(seconds, size, tuple(memory))


def run_client(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, name: str
) -> tuple[float, Memory]:
    """Run a client command to its end: its seconds, and its own peak RSS as ``name``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        list(args), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    output = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{output.decode(errors='replace')}")
    peak = usage.ru_maxrss / 1024
    return seconds, Memory(name, peak)


def _worst_memory(runs: Sequence[Run]) -> str:
    """Each process's highest peak and highest growth over the runs."""
    peaks: dict[str, float] = {}
    growths: dict[str, float] = {}
    for run in runs:
        for memory in run.memory:
            peaks[memory.process] = max(memory.peak, peaks.get(memory.process, 0.0))
            if memory.growth is not None:
                growth = max(memory.growth, growths.get(memory.process, memory.growth))
                growths[memory.process] = growth
    return ", ".join(
        f"{name} {peak:.0f}" + (f" (+{growths[name]:.0f})" if name in growths else "")
        for name, peak in peaks.items()
    )


def ratio(runs: Sequence[Run], peer: Sequence[Run]) -> float:
    """The median over the rounds of this round's time / the peer's time that round."""
    return statistics.median(
        run.seconds / other.seconds for run, other in zip(runs, peer, strict=True)
    )


def comparison(
    title: str,
    peer: tuple[str, Sequence[Run]],
    rows: Sequence[tuple[str, Sequence[Run] | str]],
    *,
    target: str = "",
) -> None:
    """One table: the peer's row, then each case (its runs, or why it did not run) with
    the median time, the median per-round ratio to the peer (time, and speed = 1/time),
    and the peak RSS (+ growth during the run) of each process, highest over the rounds.
    Runs of another size than the peer's get no ratio."""
    peer_name, peer_runs = peer
    rounds = len(peer_runs)
    print(f"\n{title}")
    print(f"median of {rounds} alternating round{'s' if rounds > 1 else ''}" + target)
    print(
        f"{'case':<40}{'seconds':>9}{'range':>13}{'MiB/s':>8}{'time/peer':>11}"
        f"{'speed/peer':>11}  peak RSS MiB (+ growth during the run)"
    )
    for name, runs in [(peer_name, peer_runs), *rows]:
        if isinstance(runs, str):
            print(f"{name:<40}{runs}")
            continue
        seconds = statistics.median(run.seconds for run in runs)
        spread = f"{min(r.seconds for r in runs):.2f}-{max(r.seconds for r in runs):.2f}"
        speed = runs[0].size / MiB / seconds
        versus = ""
        if runs is not peer_runs and runs[0].size == peer_runs[0].size:
            times = ratio(runs, peer_runs)
            versus = f"{times:>10.2f}x{1 / times:>10.2f}x"
        print(
            f"{name:<40}{seconds:>9.2f}{spread:>13}{speed:>8.0f}{versus:<22}  {_worst_memory(runs)}"
        )
