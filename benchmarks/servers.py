"""Servers the benchmarks start on free loopback ports: lockr itself and the peers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rclone_binary() -> str:
    found = shutil.which("rclone") or str(Path(sys.executable).with_name("rclone"))
    if not Path(found).exists():
        raise SystemExit("rclone is not installed: `make bench` installs the test extra")
    return found


class ServerExited(RuntimeError):
    """A server stopped before it answered; ``output`` is what it printed."""

    def __init__(self, what: str, output: str) -> None:
        super().__init__(f"{what} exited before it answered:\n{output}")
        self.output = output


class Server:
    def __init__(self, args: list[str], url: str, health: str, env: dict[str, str]) -> None:
        self.url = url
        self.dav_port = 0
        self.s3_port = 0
        self._output = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            args, stdout=self._output, stderr=subprocess.STDOUT, env=env
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                httpx.get(url + health, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        exited = self.process.poll() is not None
        output = self.output()
        self.stop()
        what = f"{' '.join(args[:4])} on {url}"
        if exited:
            raise ServerExited(what, output)
        raise RuntimeError(f"{what} did not start:\n{output}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        self._output.seek(0)
        return self._output.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(30)
        self._output.close()


def start_lockr(data: Path, *, config: Path | None = None, args: Sequence[str] = ()) -> Server:
    """``lockr serve`` over ``data`` (with the TOML file ``config`` if given, and the
    further flags ``args``); raises :class:`ServerExited` with its message when it
    refuses the configuration."""
    port, dav, s3 = free_port(), free_port(), free_port()
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
            "--s3",
            f"127.0.0.1:{s3}",
            *(["--config", str(config)] if config else []),
            *args,
        ],
        f"http://127.0.0.1:{port}",
        "/healthz",
        env,
    )
    server.dav_port = dav
    server.s3_port = s3
    return server


def sign_up(lockr: Server, name: str, password: str) -> str:
    """Create the account ``name`` on ``lockr``; its login token."""
    response = httpx.post(
        lockr.url + "/api/v1/accounts",
        json={"username": name, "email": f"{name}@example.com", "password": password},
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


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


def start_rclone_s3(root: Path, *, access_key_id: str, secret_access_key: str) -> Server:
    """``rclone serve s3`` keeping its buckets as folders of ``root`` (the tests' S3
    server). It answers 403 to the health check, which is enough: it is up."""
    port = free_port()
    root.mkdir(parents=True, exist_ok=True)
    return Server(
        [
            rclone_binary(),
            "--config",
            "/dev/null",
            "serve",
            "s3",
            "--auth-key",
            f"{access_key_id},{secret_access_key}",
            "--addr",
            f"127.0.0.1:{port}",
            str(root),
        ],
        f"http://127.0.0.1:{port}",
        "/",
        dict(os.environ),
    )
