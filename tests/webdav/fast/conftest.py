"""Twins: the same account and tree on two cores, one served by the WebDAV front with
its fast path, the other by wsgidav alone; every request is sent to both and the
answers compared, then the trees they leave."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from gateway.core import Core, build_core
from tests.conftest import PASSWORD, make_config, serving
from webdav.app import DavFront, create_dav_app

BIG = random.Random(13).randbytes(2 * 1024 * 1024 + 12345)
"""A file of more than two 1 MiB blocks, so a download streams several."""
FILES = {
    "docs/a.txt": b"hello lockr\n" * 100,
    "docs/empty": b"",
    "docs/sub/deep.txt": b"deep",
    "odd #?% name.txt": b"odd",
    "big.bin": BIG,
}
MTIME = 1_600_000_000.25
SIGNIFICANT = (
    "content-type",
    "content-length",
    "content-range",
    "accept-ranges",
    "etag",
    "last-modified",
    "dav",
    "allow",
    "ms-author-via",
    "x-oc-mtime",
    "www-authenticate",
    "retry-after",
)


def populate(core: Core) -> None:
    """alice, with the folders and :data:`FILES` (modified at :data:`MTIME`)."""
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    account = core.accounts.find("alice").id
    for folder in ("docs", "docs/sub", "empty-folder"):
        core.storage.mkdir(account, folder)
    for path, body in FILES.items():
        with core.storage.upload(
            account, path, max_size=1 << 30, content_type="text/plain", mtime=MTIME
        ) as upload:
            upload.write(body)
            upload.commit()


class Twins:
    """Send each request to both fronts (:meth:`both`); ``passed_on`` counts the
    requests the fast front left to its wsgidav."""

    def __init__(self, fast: httpx.Client, slow: httpx.Client, cores: tuple[Core, Core]) -> None:
        self.fast = fast
        self.slow = slow
        self.cores = cores
        self.passed_on = 0

    def both(
        self, method: str, path: str, *, fast_path: bool = True, **kwargs: Any
    ) -> tuple[httpx.Response, httpx.Response]:
        """The two answers; with ``fast_path`` the fast front must have answered
        itself, without it wsgidav must have (behind the fast front)."""
        before = self.passed_on
        ours = self.fast.request(method, path, **kwargs)
        assert (self.passed_on == before) is fast_path, (method, path, ours.status_code)
        theirs = self.slow.request(method, path, **kwargs)
        return ours, theirs

    def same(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Both answers, checked alike (:func:`assert_alike`); the fast one."""
        ours, theirs = self.both(method, path, **kwargs)
        assert_alike(ours, theirs)
        return ours

    def trees(self) -> tuple[dict[str, object], dict[str, object]]:
        return tree_of(self.cores[0]), tree_of(self.cores[1])


def assert_alike(ours: httpx.Response, theirs: httpx.Response) -> None:
    """Same status and significant headers; the same body (a multistatus the same
    modulo order and spacing), except for the page wsgidav sends with a 201 (its
    name and the time: lockr's fast path sends none)."""
    request = f"{ours.request.method} {ours.request.url.path}"
    assert ours.status_code == theirs.status_code, (request, ours.text, theirs.text)
    if ours.status_code in (201, 204):
        names: tuple[str, ...] = ("etag", "x-oc-mtime")
    elif ours.status_code == 207:
        names = ("content-type",)
        assert canonical(ours.content) == canonical(theirs.content), request
    else:
        names = SIGNIFICANT
        assert ours.content == theirs.content, request
    assert {name: ours.headers.get(name) for name in names} == {
        name: theirs.headers.get(name) for name in names
    }, request


SET_BY_CLIENTS = 1_700_000_000
"""Modification times before this were given by the tests; later ones are "now"."""


def canonical(body: bytes) -> list[object]:
    """Every response as (href, [(status, [property as nested tuples])]), in order."""

    def element(node: ElementTree.Element) -> object:
        return (node.tag, (node.text or "").strip(), [element(child) for child in node])

    out: list[object] = []
    for response in ElementTree.fromstring(body):
        href = response.findtext("{DAV:}href")
        groups = [
            (propstat.findtext("{DAV:}status"), [element(p) for p in propstat.find("{DAV:}prop")])
            for propstat in response.findall("{DAV:}propstat")
        ]
        out.append((href, groups))
    return out


def tree_of(core: Core) -> dict[str, object]:
    """Every entry of alice's home: folders by path; files with size, MD5, content
    type and modification time (where a client gave it; else when it was written)."""
    storage = core.storage
    account = core.accounts.find("alice").id
    found: dict[str, object] = {}
    pending = [storage.stat(account, "")]
    while pending:
        folder = pending.pop()
        for child in storage.children_of(folder):
            if child.is_dir:
                found[child.path + "/"] = "folder"
                pending.append(child)
            else:
                mtime = child.mtime if child.mtime < SET_BY_CLIENTS else "now"
                found[child.path] = (child.size, child.md5, mtime, child.content_type)
    return found


def md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


def _core(data: Path, **settings: Any) -> Core:
    core = build_core(make_config(data, **settings))
    core.start()
    return core


@contextmanager
def running_twins(data: Path, **settings: Any) -> Iterator[Twins]:
    """Twins over cores with ``settings`` (a 10 MiB quota unless given)."""
    settings.setdefault("default_quota", "10MiB")
    cores = (_core(data / "fast", **settings), _core(data / "slow", **settings))
    for core in cores:
        populate(core)
    front = DavFront(cores[0])
    reference = front.reference
    made: list[Twins] = []

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        made[0].passed_on += 1
        await reference(scope, receive, send)

    front.reference = counting  # type: ignore[assignment]
    try:
        with (
            serving(front) as fast,
            serving(create_dav_app(cores[1], fast=False)) as slow,
            httpx.Client(base_url=fast, auth=("alice", PASSWORD), timeout=60) as fast_client,
            httpx.Client(base_url=slow, auth=("alice", PASSWORD), timeout=60) as slow_client,
        ):
            made.append(Twins(fast_client, slow_client, cores))
            yield made[0]
    finally:
        for core in cores:
            core.close()


@pytest.fixture
def twins(tmp_path: Path) -> Iterator[Twins]:
    with running_twins(tmp_path) as made:
        yield made
