"""Servers the benchmarks start on free loopback ports: lockr itself and the peers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int, field: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def rclone_binary() -> str:
    found = shutil.which("rclone") or str(Path(sys.executable).with_name("rclone"))
    if not Path(found).exists():
        raise SystemExit("rclone is not installed: `make bench` installs the test extra")
    return found


class Server:
    def __init__(self, args: list[str], url: str, health: str, env: dict[str, str]) -> None:
        self.url = url
        self.dav_port = 0
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(url + health, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"{args[0]} did not start")

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def start_lockr(data: Path) -> Server:
    port, dav = free_port(), free_port()
    # Cheap argon2 so that signing up does not raise the peak RSS the cases measure.
    env = {
        **os.environ,
        "LOCKR_DEFAULT_QUOTA": "1TiB",
        "LOCKR_LOG_LEVEL": "warning",
        "LOCKR_ARGON2_MEMORY_COST": "1024",
        "LOCKR_ARGON2_TIME_COST": "1",
        "LOCKR_ARGON2_PARALLELISM": "1",
    }
    server = Server(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--data",
            str(data),
            "--http",
            f"127.0.0.1:{port}",
            "--dav",
            f"127.0.0.1:{dav}",
        ],
        f"http://127.0.0.1:{port}",
        "/healthz",
        env,
    )
    server.dav_port = dav
    return server


def start_rclone_webdav(root: Path, *, user: str = "", password: str = "") -> Server:
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    auth = ["--user", user, "--pass", password] if user else []
    return Server(
        [rclone_binary(), "serve", "webdav", str(root), "--addr", f"127.0.0.1:{port}", *auth],
        f"http://127.0.0.1:{port}",
        "/",
        dict(os.environ),
    )
