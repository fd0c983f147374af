"""docs/deployment.md's several nodes, run as written: Debian's nginx (installed by
scripts/test-deps) with the sample site file docs/nginx/lockr.conf, in front of two
``lockr serve`` nodes that run the documented shared ``lockr.toml``. Only this
machine's addresses, ports and paths are filled in: nginx listens with a throwaway
certificate on a free loopback port, the nodes on theirs; they share a fresh
PostgreSQL database, the secret and the region folder (a ``local`` region at one path
on both: on one machine a shared folder stands in for shared storage; nodes on an
``s3`` region are tests/test_scale_out.py's).

Requests go through nginx, and to each node directly, to show that any node carries
on what another began."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    PASSWORD,
    LockrProcess,
    User,
    free_port,
    fresh_postgres_database,
    rclone,
    run_rclone,
    wait_until_answering,
)
from tests.doc_examples import DOCS, code_blocks

pytestmark = pytest.mark.slow

SITE = DOCS / "nginx" / "lockr.conf"
MiB = 1024 * 1024

# The test's own nginx.conf around the documented site file: a prefix of its own for
# temporary files and logs, and which node answered each request.
NGINX_MAIN = """\
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    log_format upstream '$request_method $uri $status $upstream_addr';
    access_log {prefix}/access.log upstream;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site};
}}
"""


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each key, which must occur exactly once, replaced by its value."""
    for old, new in values.items():
        assert text.count(old) == 1, f"{old!r} should occur once in the documented config"
        text = text.replace(old, new)
    return text


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found is None:
        pytest.fail("nginx is not installed: run scripts/test-deps (make test does)")
    return found


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is not installed: run scripts/test-deps (make test does)")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class Nginx:
    """Debian's nginx as a child process (not a daemon), with a prefix folder of its
    own, serving ``site`` (an nginx site file) at the https ``url``."""

    def __init__(self, prefix: Path, site: str, url: str, certificate: Path) -> None:
        self.prefix = prefix
        self.url = url
        self.log = prefix / "nginx.log"
        self.access_log = prefix / "access.log"
        self.tls = ssl.create_default_context(cafile=str(certificate))
        (prefix / "lockr.conf").write_text(site)
        (prefix / "nginx.conf").write_text(
            NGINX_MAIN.format(prefix=prefix, site=prefix / "lockr.conf")
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [
                    nginx_binary(),
                    "-p",
                    str(self.prefix),
                    "-c",
                    str(self.prefix / "nginx.conf"),
                    "-g",
                    f"daemon off; pid {self.prefix}/nginx.pid; error_log {self.log} warn;",
                ],
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        wait_until_answering(
            self.process,
            self.url + "/healthz",
            lambda response: response.status_code == 200,
            "nginx",
            self.log,
            verify=self.tls,
        )
        return self

    def stop(self) -> None:
        """Stop gracefully: requests in flight finish."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            self.process.wait(timeout=30)


@dataclass
class Cluster:
    nginx: Nginx
    nodes: tuple[LockrProcess, LockrProcess]
    ca: Path

    @property
    def url(self) -> str:
        return self.nginx.url

    def client(self, *, auth: tuple[str, str] | None = None) -> httpx.Client:
        """A client of nginx (trusting its certificate)."""
        return httpx.Client(base_url=self.url, verify=self.nginx.tls, timeout=60, auth=auth)

    def dav_remote(self, name: str, base: str) -> str:
        """An inline rclone WebDAV remote for ``name`` at ``base`` (nginx or a node)."""
        obscured = subprocess.run(
            [rclone(), "obscure", PASSWORD], capture_output=True, text=True, check=True
        ).stdout.strip()
        return f":webdav,url='{base}/dav',vendor=owncloud,user={name},pass={obscured}:"

    def rclone(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_rclone(
            "--ca-cert", str(self.ca), "--retries", "1", "--low-level-retries", "1", *args
        )


@pytest.fixture(scope="module")
def cluster(postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    nginx_binary()
    root = tmp_path_factory.mktemp("deployment")
    database_url, drop = fresh_postgres_database(postgres_server)
    url = f"https://127.0.0.1:{free_port()}"
    (shared_toml,) = code_blocks("deployment.md", "toml", section="Several nodes")
    config = root / "lockr.toml"
    config.write_text(
        fill(
            shared_toml,
            {
                "postgresql+psycopg://lockr@db.internal/lockr": database_url,
                "https://files.example.com": url,
                "/srv/lockr/blobs": str(root / "shared-blobs"),
            },
        )
    )
    env = {"LOCKR_CONFIG": str(config), "LOCKR_SECRET": secrets.token_urlsafe(32)}
    a, b = LockrProcess(root / "a" / "data", env=env), LockrProcess(root / "b" / "data", env=env)
    nginx: Nginx | None = None
    try:
        # Together, on the fresh database: one migrates, the other waits for it.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(LockrProcess.start, (a, b)))
        (root / "nginx").mkdir()
        cert, key = self_signed_certificate(root / "nginx")
        site = fill(
            SITE.read_text(),
            {
                "listen 443 ssl;": f"listen {url.removeprefix('https://')} ssl;",
                "10.0.0.11:8080": f"127.0.0.1:{a.http_port}",
                "10.0.0.12:8080": f"127.0.0.1:{b.http_port}",
                "10.0.0.11:8081": f"127.0.0.1:{a.dav_port}",
                "10.0.0.12:8081": f"127.0.0.1:{b.dav_port}",
                "/etc/ssl/lockr/fullchain.pem": str(cert),
                "/etc/ssl/lockr/privkey.pem": str(key),
            },
        )
        nginx = Nginx(root / "nginx", site, url, cert)
        yield Cluster(nginx.start(), (a, b), cert)
    finally:
        if nginx is not None:
            nginx.stop()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(LockrProcess.stop, [n for n in (a, b) if n.process is not None]))
        drop()


_names = iter(range(1_000_000))


@pytest.fixture
def user(cluster: Cluster) -> User:
    """An account signed up through nginx."""
    name = f"node{next(_names)}"
    with cluster.client() as client:
        response = client.post(
            "/api/v1/accounts",
            json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        )
    assert response.status_code == 201, response.text
    return User(name, response.json()["token"])


def on(node: LockrProcess, url: str) -> str:
    """A link lockr handed out (on ``public_url``, nginx) sent to ``node`` directly."""
    path = url.split("/", 3)[3]
    return f"{node.url}/{path}"


def test_a_login_through_nginx_holds_on_both_nodes(cluster: Cluster, user: User) -> None:
    with cluster.client() as client:
        response = client.post(
            "/api/v1/login", json={"identifier": user.name, "password": PASSWORD}
        )
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    for node in cluster.nodes:
        account = httpx.get(
            node.url + "/api/v1/account", headers={"Authorization": f"Bearer {token}"}
        )
        assert account.status_code == 200 and account.json()["account"]["username"] == user.name


def test_nginx_sends_requests_to_both_nodes(cluster: Cluster) -> None:
    with cluster.client() as client:
        for _ in range(4):
            assert client.get("/healthz").status_code == 200
    answered = {
        line.split()[-1]
        for line in cluster.nginx.access_log.read_text().splitlines()
        if line.startswith("GET /healthz 200 ")
    }
    assert answered == {f"127.0.0.1:{node.http_port}" for node in cluster.nodes}


def test_a_direct_upload_streams_through_nginx(cluster: Cluster, user: User) -> None:
    body = os.urandom(8 * MiB)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), MiB):
            yield body[start : start + MiB]

    with cluster.client() as client:
        uploaded = client.post(
            "/api/v1/upload",
            content=chunks(),
            headers={**user.auth, "x-file-name": "streamed.bin"},
        )
        assert uploaded.status_code == 201, uploaded.text
        file = uploaded.json()
        assert file["downloadUrl"].startswith(cluster.url + "/")
        with client.stream("GET", file["downloadUrl"], headers=user.auth) as download:
            assert download.status_code == 200
            digest = hashlib.sha256()
            for block in download.iter_bytes():
                digest.update(block)
    assert digest.digest() == hashlib.sha256(body).digest()
    for node in cluster.nodes:
        direct = httpx.get(on(node, file["downloadUrl"]), headers=user.auth, timeout=60)
        assert direct.status_code == 200 and direct.content == body
    # Neither way was spooled to nginx's temporary files.
    assert "buffered to a temporary file" not in cluster.nginx.log.read_text()


def test_a_resumable_upload_carries_on_on_another_node(cluster: Cluster, user: User) -> None:
    body = os.urandom(3 * MiB)
    first, second = cluster.nodes
    created = httpx.post(
        first.url + "/api/v1/upload/session",
        json={"name": "resumed.bin", "size": len(body)},
        headers=user.auth,
    )
    assert created.status_code == 201, created.text
    session = created.json()
    assert session["uploadUrl"].startswith(cluster.url + "/")
    half = 2 * MiB
    begun = httpx.put(
        on(first, session["uploadUrl"]),
        content=body[:half],
        headers={"Content-Range": f"bytes 0-{half - 1}/{len(body)}"},
    )
    assert begun.status_code == 308 and begun.headers["Range"] == f"bytes=0-{half - 1}"
    asked = httpx.put(
        on(second, session["uploadUrl"]),
        headers={"Content-Range": f"bytes */{len(body)}"},
    )
    assert asked.status_code == 308 and asked.headers["Range"] == f"bytes=0-{half - 1}"
    finished = httpx.put(
        on(second, session["uploadUrl"]),
        content=body[half:],
        headers={"Content-Range": f"bytes {half}-{len(body) - 1}/{len(body)}"},
    )
    assert finished.status_code == 201, finished.text
    with cluster.client() as client:
        download = client.get(session["downloadUrl"], headers=user.auth)
    assert download.status_code == 200 and download.content == body


def test_keys_and_signed_urls_hold_on_every_node(cluster: Cluster, user: User) -> None:
    first, second = cluster.nodes
    uploaded = httpx.post(
        first.url + "/api/v1/upload",
        content=b"for your eyes only",
        headers={**user.auth, "x-file-name": "secret.txt", "x-file-key": "correct horse"},
    )
    assert uploaded.status_code == 201, uploaded.text
    download_url = uploaded.json()["downloadUrl"]
    key_hash = hashlib.sha256(b"correct horse").hexdigest()
    assert httpx.get(on(second, download_url)).status_code == 403
    keyed = httpx.get(on(second, download_url), params={"keyHash": key_hash})
    assert keyed.status_code == 200 and keyed.content == b"for your eyes only"
    signed = httpx.get(
        first.url + f"/api/v1/files/{uploaded.json()['id']}/signed-url", headers=user.auth
    )
    assert signed.status_code == 200, signed.text
    signed_url = signed.json()["url"]
    assert httpx.get(on(second, signed_url)).content == b"for your eyes only"
    with cluster.client() as client:
        assert client.get(signed_url).content == b"for your eyes only"


def test_a_guest_upload_through_nginx_gets_a_secure_cookie(cluster: Cluster) -> None:
    with cluster.client() as client:
        uploaded = client.post(
            "/api/v1/upload", content=b"hello", headers={"x-file-name": "guest.txt"}
        )
    assert uploaded.status_code == 201, uploaded.text
    cookie = uploaded.headers["set-cookie"]
    assert cookie.startswith("lockr_guest=") and "secure" in cookie.lower()


def test_rclone_through_nginx_sees_one_tree_on_both_nodes(
    cluster: Cluster, user: User, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    (source / "deep" / "er").mkdir(parents=True)
    (source / "big.bin").write_bytes(os.urandom(3 * MiB))
    (source / "deep" / "100% with space.txt").write_text("odd")
    (source / "deep" / "er" / "hash#tag ünïcødé.txt").write_text("odder")
    for index in range(10):
        (source / "deep" / f"small-{index}.txt").write_text("x" * index)
    through_nginx = cluster.dav_remote(user.name, cluster.url) + user.name
    cluster.rclone("copy", str(source), through_nginx + "/copied", "--transfers=4")
    for node in cluster.nodes:
        direct = cluster.dav_remote(user.name, f"http://127.0.0.1:{node.dav_port}")
        cluster.rclone("check", str(source), direct + user.name + "/copied", "--download")
    # MOVE through nginx: its Destination names nginx's host and port.
    moved = cluster.rclone(
        "moveto", through_nginx + "/copied/big.bin", through_nginx + "/moved.bin", "-v"
    )
    assert "Moved (server-side)" in moved.stderr
    listing = json.loads(cluster.rclone("lsjson", through_nginx).stdout)
    assert {item["Path"] for item in listing} == {"copied", "moved.bin"}


def test_webdav_answers_at_the_mount_itself(cluster: Cluster, user: User) -> None:
    with cluster.client(auth=(user.name, PASSWORD)) as client:
        for path in ("/dav", "/dav/"):
            listing = client.request("PROPFIND", path, headers={"Depth": "1"})
            assert listing.status_code == 207, (path, listing.text)
            assert f"href>/dav/{user.name}/</" in listing.text
