"""Upload of one large object into an ``s3`` region through lockr, in alternating rounds
(:mod:`benchmarks.rounds`) against ``rclone copyto`` of the same file to the same S3
server: ``rclone serve s3`` on loopback, as in the tests. lockr takes a direct upload
(``POST /api/v1/upload`` with ``x-upload-region``, curl the client); rclone runs with
its defaults against an S3 remote given by environment variables. Target: lockr within
1.3x rclone's time, its memory flat whatever the size.

    python -m benchmarks.s3       # LOCKR_BENCH_MIB sets the size (default 1024),
                                  # LOCKR_BENCH_ROUNDS the rounds (default 3)

Measured on a shared two-core machine, 1 GiB, three rounds: rclone copyto 14.5 s
(71 MiB/s), lockr 13.1 s (78 MiB/s), 0.88x rclone's time; lockr's RSS 159 MiB (+27
during the run). The S3 server itself grows by some 270 MiB during rclone's upload,
so read lockr's own column for "memory flat".
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from benchmarks.common import MiB, bench_size, make_source, workspace
from benchmarks.rest import RestClient
from benchmarks.rounds import (
    Case,
    Memory,
    Run,
    alternate,
    comparison,
    ratio,
    round_count,
    run_client,
    watched,
)
from benchmarks.servers import (
    Server,
    rclone_binary,
    start_lockr,
    start_rclone_s3,
)

REGION = "s3bench"
BUCKET = "lockr-bench"
# rclone serve s3 wants keys of some length (the tests' are as long).
ACCESS_KEY_ID = "lockr-bench-access-key"
SECRET_ACCESS_KEY = "lockr-bench-secret-access-key"


def lockr_config(path: Path, endpoint: str) -> Path:
    """A configuration with the default ``local`` region and the ``s3`` region."""
    path.write_text(
        f"""[regions.local]
backend = "local"

[regions.{REGION}]
backend = "s3"
endpoint = "{endpoint}"
bucket = "{BUCKET}"
prefix = "lockr"
access_key_id = "{ACCESS_KEY_ID}"
secret_access_key = "{SECRET_ACCESS_KEY}"
region_name = "us-east-1"
"""
    )
    return path


def rclone_env(
    endpoint: str,
    *,
    name: str = REGION,
    provider: str = "Rclone",
    key_id: str = ACCESS_KEY_ID,
    secret: str = SECRET_ACCESS_KEY,
) -> dict[str, str]:
    """The environment that defines the rclone remote ``name:`` (by default
    ``s3bench:``, on the tests' S3 server) on ``endpoint``."""
    remote = f"RCLONE_CONFIG_{name.upper()}_"
    return {
        **os.environ,
        remote + "TYPE": "s3",
        remote + "PROVIDER": provider,
        remote + "ENDPOINT": endpoint,
        remote + "ACCESS_KEY_ID": key_id,
        remote + "SECRET_ACCESS_KEY": secret,
        remote + "REGION": "us-east-1",
        remote + "FORCE_PATH_STYLE": "true",
    }


def rclone_case(source: Path, s3: Server, env: dict[str, str]) -> Case:
    def case(number: int) -> Run:
        client: list[Memory] = []

        def work() -> float:
            seconds, memory = run_rclone(
                "copyto", str(source), f"{REGION}:{BUCKET}/rclone/round-{number}.bin", env=env
            )
            client.append(memory)
            return seconds

        run = watched(source.stat().st_size, {"s3 server": s3.pid}, work)
        return dataclasses.replace(run, memory=(*client, *run.memory))

    return case


def run_rclone(*args: str, env: dict[str, str]) -> tuple[float, Memory]:
    return run_client(
        [rclone_binary(), "--config", "/dev/null", *args], env=env, name="rclone copyto"
    )


def main() -> None:
    size = bench_size()
    rounds = round_count()
    with workspace() as work:
        source = make_source(work / "source.bin", size)
        s3 = start_rclone_s3(
            work / "buckets", access_key_id=ACCESS_KEY_ID, secret_access_key=SECRET_ACCESS_KEY
        )
        lockr: Server | None = None
        try:
            env = rclone_env(s3.url)
            run_rclone("mkdir", f"{REGION}:{BUCKET}", env=env)
            lockr = start_lockr(work / "lockr", config=lockr_config(work / "lockr.toml", s3.url))
            client = RestClient(lockr)
            processes = {"lockr": lockr.pid, "s3 server": s3.pid}
            cases = {
                "rclone": rclone_case(source, s3, env),
                "lockr": lambda n: watched(
                    size,
                    processes,
                    lambda: client.direct_upload(
                        source, f"s3-{n}.bin", f"x-upload-region: {REGION}"
                    ),
                ),
            }
            runs = alternate(cases, rounds)
        finally:
            if lockr is not None:
                lockr.stop()
            s3.stop()

    comparison(
        f"Upload into an s3 region ({REGION}: rclone serve s3 on loopback), {size // MiB} MiB "
        "(RSS: the client's for rclone, the servers')",
        ("rclone copyto", runs["rclone"]),
        [("lockr POST /api/v1/upload, s3 region", runs["lockr"])],
        target="; target: lockr <= 1.30x rclone's time, lockr's memory flat",
    )
    print(json.dumps({"s3_upload_vs_rclone_copyto": ratio(runs["lockr"], runs["rclone"])}))


if __name__ == "__main__":
    main()
