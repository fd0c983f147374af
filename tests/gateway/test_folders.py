"""A folder as people browse it: folders first, each sort in both orders, keyset pages
that join up exactly (on both databases), only folders when asked, the count, and
clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.orm import Session

from gateway.core import Core
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.folders import Position
from gateway.tree import Entry
from tests.conftest import PASSWORD, CoreFactory

# name: (size, type, mtime); folders have no size or type
FILES = {
    "b.txt": (30, "text/plain", 300.0),
    "a.pdf": (10, "application/pdf", 100.0),
    "C.jpg": (20, "image/jpeg", 200.0),
    "d.txt": (20, "text/plain", 100.0),
    "é.bin": (5, "application/octet-stream", 500.0),
}
FOLDERS = {"zeta": 50.0, "alpha": 60.0, "Mid": 40.0}


@pytest.fixture
def folder(make_core: CoreFactory, database_url: str) -> tuple[Core, int]:
    core = make_core(database_url)
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    core.storage.mkdir(alice, "top")
    for name, (size, kind, mtime) in FILES.items():
        with core.storage.upload(
            alice, f"top/{name}", max_size=100, content_type=kind, mtime=mtime
        ) as upload:
            upload.write(b"x" * size)
            upload.commit()
    for name, mtime in FOLDERS.items():
        core.storage.mkdir(alice, f"top/{name}", mtime=mtime)
    core.storage.mkdir(alice, "top/alpha/inner")  # not listed: one level only
    return core, alice


def _names(entries: list[Entry]) -> list[str]:
    return [entry.name for entry in entries]


def _all_pages(core: Core, alice: int, size: int, **options: object) -> list[str]:
    names: list[str] = []
    after = None
    for _ in range(100):
        page = core.folders.page(alice, "top", limit=size, after=after, **options)  # type: ignore[arg-type]
        names += _names(page.entries)
        after = page.next
        if after is None:
            return names
    raise AssertionError("the pages never ended")


ORDERS = {
    ("name", False): ["Mid", "alpha", "zeta", "C.jpg", "a.pdf", "b.txt", "d.txt", "é.bin"],
    ("name", True): ["zeta", "alpha", "Mid", "é.bin", "d.txt", "b.txt", "a.pdf", "C.jpg"],
    ("size", False): ["Mid", "alpha", "zeta", "é.bin", "a.pdf", "C.jpg", "d.txt", "b.txt"],
    ("size", True): ["zeta", "alpha", "Mid", "b.txt", "d.txt", "C.jpg", "a.pdf", "é.bin"],
    ("modified", False): ["Mid", "zeta", "alpha", "a.pdf", "d.txt", "C.jpg", "b.txt", "é.bin"],
    ("modified", True): ["alpha", "zeta", "Mid", "é.bin", "b.txt", "C.jpg", "d.txt", "a.pdf"],
    ("type", False): ["Mid", "alpha", "zeta", "é.bin", "a.pdf", "C.jpg", "b.txt", "d.txt"],
    ("type", True): ["zeta", "alpha", "Mid", "d.txt", "b.txt", "C.jpg", "a.pdf", "é.bin"],
}


@pytest.mark.parametrize(("sort", "descending"), list(ORDERS))
def test_folders_first_then_the_sort_and_pages_join_up(
    folder: tuple[Core, int], sort: str, descending: bool
) -> None:
    core, alice = folder
    whole = core.folders.page(alice, "top", sort=sort, descending=descending, count=True)
    assert _names(whole.entries) == ORDERS[(sort, descending)]
    assert whole.next is None and whole.count == 8
    for size in (1, 2, 3):
        paged = _all_pages(core, alice, size, sort=sort, descending=descending)
        assert paged == ORDERS[(sort, descending)], size


def test_a_page_after_a_position_is_stable_while_the_folder_changes(
    folder: tuple[Core, int],
) -> None:
    core, alice = folder
    first = core.folders.page(alice, "top", limit=4)
    assert _names(first.entries) == ["Mid", "alpha", "zeta", "C.jpg"]
    assert first.next == Position(False, "C.jpg", "C.jpg") and first.count is None
    core.storage.delete(alice, "top/Mid")  # before the position: no shift, no repeat
    core.storage.mkdir(alice, "top/new")  # a folder, so before the position too
    rest = core.folders.page(alice, "top", after=first.next)
    assert _names(rest.entries) == ["a.pdf", "b.txt", "d.txt", "é.bin"]


def test_folders_only_and_the_root(folder: tuple[Core, int]) -> None:
    core, alice = folder
    only = core.folders.page(alice, "top", folders_only=True, count=True)
    assert _names(only.entries) == ["Mid", "alpha", "zeta"] and only.count == 3
    assert _all_pages(core, alice, 1, folders_only=True) == ["Mid", "alpha", "zeta"]
    root = core.folders.page(alice, "", count=True)
    assert root.folder.path == "" and _names(root.entries) == ["top"] and root.count == 1


def test_a_folder_being_deleted_or_copied_out_of_sight_is_not_listed(
    folder: tuple[Core, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subtree larger than a batch is copied and deleted in several transactions;
    between any two of them the root lists the copy not yet and the deleted folder
    no more, and the counts agree with what is listed."""
    core, alice = folder
    subtrees = core.storage.subtrees
    subtrees.batch = 2  # the 10 entries below "top" take several batches
    seen: list[list[str]] = []
    one_batch = subtrees._batch

    @contextmanager
    def batch_then_list() -> Iterator[Session]:
        with one_batch() as session:
            yield session
        root = core.folders.page(alice, "", count=True)
        assert root.count == len(root.entries)
        seen.append(_names(root.entries))

    monkeypatch.setattr(subtrees, "_batch", batch_then_list)
    core.storage.copy(alice, "top", "copy")
    copying = len(seen)
    assert copying > 2 and seen == [["top"]] * copying
    assert _names(core.folders.page(alice, "").entries) == ["copy", "top"]
    core.storage.delete(alice, "copy")
    assert len(seen) > copying + 2 and seen[copying:] == [["top"]] * (len(seen) - copying)
    assert _names(core.folders.page(alice, "").entries) == ["top"]


def test_errors(folder: tuple[Core, int]) -> None:
    core, alice = folder
    with pytest.raises(NotFound):
        core.folders.page(alice, "missing")
    with pytest.raises(Conflict, match="is a file"):
        core.folders.page(alice, "top/a.pdf")
    with pytest.raises(BadRequest, match="sort must be one of"):
        core.folders.page(alice, "top", sort="colour")
    for limit in (0, 1001):
        with pytest.raises(BadRequest, match="limit"):
            core.folders.page(alice, "top", limit=limit)
    bob = core.accounts.create("bob", "b@example.com", PASSWORD).id
    with pytest.raises(NotFound):
        core.folders.page(bob, "top")  # alice's folder is not bob's
    top = core.storage.stat(alice, "top")
    assert core.folders.folder_of(alice, top.uid).path == "top"
    with pytest.raises(NotFound):
        core.folders.folder_of(bob, top.uid)
    with pytest.raises(NotFound):
        core.folders.folder_of(alice, core.storage.stat(alice, "top/a.pdf").uid)
