"""Listing by key prefix, as S3 lists: byte order, folders as markers or rolled up
into common prefixes, pages that join up, and nothing out of sight."""

from __future__ import annotations

import pytest

from gateway.core import Core
from gateway.listing import Listing, list_keys
from gateway.tree import rekey
from tests.conftest import PASSWORD, CoreFactory

FILES = ["a", "a.txt", "a-b", "b/c", "b/d/e", "b/d/f", "b.txt", "é", "z/y/x/w"]
FOLDERS = ["a.dir", "b/d/g"]


@pytest.fixture
def tree(make_core: CoreFactory, database_url: str) -> tuple[Core, int]:
    core = make_core(database_url)
    alice = core.accounts.create("alice", "a@example.com", PASSWORD).id
    for path in FILES:
        if "/" in path:
            core.storage.mkdir(alice, path.rsplit("/", 1)[0], parents=True, exist_ok=True)
        with core.storage.upload(alice, path, max_size=100) as upload:
            upload.write(b"x")
            upload.commit()
    for path in FOLDERS:
        core.storage.mkdir(alice, path, parents=True, exist_ok=True)
    return core, alice


def _keys(listing: Listing) -> list[str]:
    return [entry.key for entry in listing.entries]


def _every_key() -> list[str]:
    keys = set(FILES) | {f + "/" for f in FOLDERS}
    for path in FILES + FOLDERS:
        parts = path.split("/")
        keys |= {"/".join(parts[:n]) + "/" for n in range(1, len(parts))}
    return sorted(keys, key=lambda key: key.encode())


def test_everything_in_byte_order(tree: tuple[Core, int]) -> None:
    core, alice = tree
    listing = list_keys(core.db, alice)
    assert _keys(listing) == _every_key()
    assert listing.prefixes == [] and listing.next_after is None
    under = list_keys(core.db, alice, "b/d/")
    assert _keys(under) == ["b/d/", "b/d/e", "b/d/f", "b/d/g/"]


def test_a_delimiter_rolls_folders_up(tree: tuple[Core, int]) -> None:
    core, alice = tree
    top = list_keys(core.db, alice, delimiter=True)
    assert _keys(top) == ["a", "a-b", "a.txt", "b.txt", "é"]
    assert top.prefixes == ["a.dir/", "b/", "z/"]
    inside = list_keys(core.db, alice, "b/", delimiter=True)
    assert _keys(inside) == ["b/", "b/c"]  # the folder's own marker, then its files
    assert inside.prefixes == ["b/d/"]
    partial = list_keys(core.db, alice, "a", delimiter=True)
    assert _keys(partial) == ["a", "a-b", "a.txt"] and partial.prefixes == ["a.dir/"]


@pytest.mark.parametrize("delimiter", [False, True])
def test_pages_join_up(tree: tuple[Core, int], delimiter: bool) -> None:
    core, alice = tree
    whole = list_keys(core.db, alice, delimiter=delimiter)
    seen: list[str] = []
    after = None
    while True:
        page = list_keys(core.db, alice, delimiter=delimiter, after=after, limit=2)
        assert len(page.entries) + len(page.prefixes) <= 2
        seen += sorted(_keys(page) + page.prefixes, key=str.encode)
        if page.next_after is None:
            break
        after = page.next_after
    expected = _keys(whole) + whole.prefixes
    assert seen == sorted(expected, key=str.encode)  # in byte order across the pages


def test_moves_and_detached_trees(tree: tuple[Core, int]) -> None:
    core, alice = tree
    core.storage.move(alice, "b", "z/b")
    assert _keys(list_keys(core.db, alice, "z/b/d/")) == [
        "z/b/d/",
        "z/b/d/e",
        "z/b/d/f",
        "z/b/d/g/",
    ]
    assert core.storage.stat(alice, "z/b/d/e").key == "z/b/d/e"
    assert list_keys(core.db, alice, "b/").entries == []
    with core.db.write() as session:  # as a large delete leaves a tree while it works
        rekey(session, alice, "z/", "/gone/test/")
    assert [k for k in _keys(list_keys(core.db, alice)) if k.startswith(("z", "/"))] == []
