"""lockr's S3 front against ``rclone serve s3`` (a local folder behind it) in one run,
in alternating rounds (:mod:`benchmarks.rounds`), the same clients for both:

- rclone (``type = s3``) syncing 1,000 4 KiB files in 10 folders into a fresh bucket
  (``--transfers=16 --checkers=8``), then the no-change second sync of the same tree;
- the AWS CLI uploading one large file (``aws s3 cp``: multipart, its default 8 MiB
  parts, 10 at once) and downloading it again.

Targets: lockr no slower than the peer on the large-object rows, no slower than 1.5x
on the small-file rows. Peak RSS of both servers is printed, and under each table
their CPU seconds (user and system) and minor page faults per run (from ``/proc``).

    python -m benchmarks.s3front   # LOCKR_BENCH_MIB sets the large object's size
                                   # (default 1024), LOCKR_BENCH_ROUNDS the rounds,
                                   # LOCKR_BENCH_ROWS some of the rows (upload,download)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.common import MiB, bench_size, make_source, workspace
from benchmarks.rest import RestClient
from benchmarks.rounds import (
    Case,
    Run,
    alternate,
    comparison,
    ratio,
    round_count,
    run_client,
    watched,
)
from benchmarks.s3 import ACCESS_KEY_ID, SECRET_ACCESS_KEY, rclone_env
from benchmarks.servers import Server, rclone_binary, start_lockr, start_rclone_s3
from benchmarks.webdav import make_small_tree, usage

PEER_KEY_ID, PEER_SECRET = ACCESS_KEY_ID, SECRET_ACCESS_KEY
ROWS = ("sync", "again", "upload", "download")


def chosen_rows() -> list[str]:
    """The rows to run: LOCKR_BENCH_ROWS (comma-separated; "download" needs "upload"
    before it, whose objects it reads), else all of them."""
    asked = [row.strip() for row in os.environ.get("LOCKR_BENCH_ROWS", "").split(",")]
    rows = [row for row in ROWS if row in asked] or list(ROWS)
    if "download" in rows and "upload" not in rows:
        rows.insert(rows.index("download"), "upload")
    if "again" in rows and "sync" not in rows:
        rows.insert(rows.index("again"), "sync")
    return rows


class Target:
    """One S3 endpoint under test, with the credentials and the clients' settings."""

    def __init__(self, name: str, server: Server, url: str, key_id: str, secret: str) -> None:
        self.name = name
        self.server = server
        self.url = url
        self.key_id = key_id
        self.secret = secret

    def rclone_env(self) -> dict[str, str]:
        provider = "Rclone" if self.name == "peer" else "Other"
        return rclone_env(
            self.url, name="bench", provider=provider, key_id=self.key_id, secret=self.secret
        )

    def aws_env(self, work: Path) -> dict[str, str]:
        config = work / f"aws-{self.name}.ini"
        config.write_text("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")
        return {
            **os.environ,
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
        }

    def rclone(self, *args: str) -> float:
        seconds, _ = run_client(
            [rclone_binary(), "--config", "/dev/null", *args], env=self.rclone_env(), name="rclone"
        )
        return seconds

    def aws(self, work: Path, *args: str) -> float:
        aws = shutil.which("aws") or str(Path(sys.executable).parent / "aws")
        seconds, _ = run_client(
            [aws, "--endpoint-url", self.url, *args], env=self.aws_env(work), name="aws"
        )
        return seconds


Usage = dict[tuple[str, str], list[tuple[float, int]]]
"""The CPU seconds and minor page faults of each run, by row and server."""


def counted(used: Usage, step: str, target: Target, run: Callable[[], Run]) -> Run:
    """``run``, with the server's CPU seconds and faults during it added to ``used``."""
    seconds, faults = usage(target.server.pid)
    result = run()
    after = usage(target.server.pid)
    used.setdefault((step, target.name), []).append((after[0] - seconds, after[1] - faults))
    return result


def print_usage(used: Usage, step: str) -> None:
    for name, label in (("peer", "rclone serve s3"), ("lockr", "lockr S3")):
        runs = used.get((step, name), [])
        if runs:
            cpu = ", ".join(f"{seconds:.2f}" for seconds, _ in runs)
            faults = statistics.median(count for _, count in runs)
            print(f"  {label}: server CPU s per run {cpu}; minor faults (median) {faults:,.0f}")


def lockr_target(lockr: Server) -> Target:
    token = RestClient(lockr).token
    response = httpx.post(
        lockr.url + "/api/v1/s3-keys", headers={"Authorization": f"Bearer {token}"}, json={}
    )
    response.raise_for_status()
    key = response.json()
    url = f"http://127.0.0.1:{lockr.s3_port}"
    return Target("lockr", lockr, url, key["accessKeyId"], key["secretAccessKey"])


def cases(target: Target, work: Path, tree: Path, big: Path, used: Usage) -> dict[str, Case]:
    size = big.stat().st_size
    small = sum(path.stat().st_size for path in tree.rglob("*") if path.is_file())
    watch = {target.name: target.server.pid}
    sync = ["sync", str(tree), "--transfers=16", "--checkers=8"]

    def first(number: int) -> Run:
        target.rclone("mkdir", f"bench:sync-{number}")
        return watched(small, watch, lambda: target.rclone(*sync, f"bench:sync-{number}"))

    def again(number: int) -> Run:
        return watched(small, watch, lambda: target.rclone(*sync, f"bench:sync-{number}"))

    def upload(number: int) -> Run:
        return watched(
            size, watch, lambda: target.aws(work, "s3", "cp", str(big), f"s3://big/{number}.bin")
        )

    def download(number: int) -> Run:
        out = work / f"down-{target.name}.bin"
        try:
            return watched(
                size,
                watch,
                lambda: target.aws(work, "s3", "cp", f"s3://big/{number}.bin", str(out)),
            )
        finally:
            out.unlink(missing_ok=True)

    steps: dict[str, Case] = {
        "sync": first,
        "again": again,
        "upload": upload,
        "download": download,
    }

    def counting(step: str, case: Case) -> Case:
        return lambda number: counted(used, step, target, lambda: case(number))

    return {step: counting(step, case) for step, case in steps.items()}


def main() -> None:
    size = bench_size()
    rounds = round_count()
    rows = chosen_rows()
    with workspace() as work:
        tree = work / "small"
        make_small_tree(tree)
        big = make_source(work / "big.bin", size)
        peer_server = start_rclone_s3(
            work / "buckets", access_key_id=PEER_KEY_ID, secret_access_key=PEER_SECRET
        )
        lockr = start_lockr(work / "lockr")
        try:
            peer = Target("peer", peer_server, peer_server.url, PEER_KEY_ID, PEER_SECRET)
            mine = lockr_target(lockr)
            for target in (peer, mine):
                target.rclone("mkdir", "bench:big")
            used: Usage = {}
            peer_cases = cases(peer, work, tree, big, used)
            lockr_cases = cases(mine, work, tree, big, used)
            runs: dict[str, dict[str, list[Run]]] = {}
            for step in rows:
                result = alternate(
                    {"peer": peer_cases[step], "lockr": lockr_cases[step]},
                    rounds,
                )
                runs[step] = result
        finally:
            lockr.stop()
            peer_server.stop()

    titles = {
        "sync": ("rclone sync of 1,000 x 4 KiB into a new bucket", "target: lockr <= 1.5x"),
        "again": ("the same sync again: nothing to transfer", "target: lockr <= 1.5x"),
        "upload": (f"aws s3 cp upload, {size // MiB} MiB (multipart)", "target: lockr <= 1.0x"),
        "download": (f"aws s3 cp download, {size // MiB} MiB", "target: lockr <= 1.0x"),
    }
    for step, (title, goal) in titles.items():
        if step not in runs:
            continue
        comparison(
            f"S3: {title} (RSS: the server's)",
            ("rclone serve s3", runs[step]["peer"]),
            [("lockr S3", runs[step]["lockr"])],
            target="; " + goal,
        )
        print_usage(used, step)
    print(
        json.dumps(
            {
                f"s3_{step}_vs_rclone_serve_s3": ratio(r["lockr"], r["peer"])
                for step, r in runs.items()
            }
        )
    )


if __name__ == "__main__":
    main()
