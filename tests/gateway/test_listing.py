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
    top = list_keys(core.db, alice, delimiter="/")
    assert _keys(top) == ["a", "a-b", "a.txt", "b.txt", "é"]
    assert top.prefixes == ["a.dir/", "b/", "z/"]
    inside = list_keys(core.db, alice, "b/", delimiter="/")
    assert _keys(inside) == ["b/", "b/c"]  # the folder's own marker, then its files
    assert inside.prefixes == ["b/d/"]
    partial = list_keys(core.db, alice, "a", delimiter="/")
    assert _keys(partial) == ["a", "a-b", "a.txt"] and partial.prefixes == ["a.dir/"]


@pytest.mark.parametrize("delimiter", [None, "/"])
def test_pages_join_up(tree: tuple[Core, int], delimiter: str | None) -> None:
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


def _rolled_up(keys: list[str], prefix: str, delimiter: str) -> list[str]:
    """S3's roll-up, done the slow way: every key under ``prefix`` in byte order, each
    cut after its first ``delimiter`` past the prefix, each common prefix once."""
    seen: list[str] = []
    for key in sorted(keys, key=str.encode):
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix))
        item = key if cut < 0 else key[: cut + len(delimiter)]
        if item not in seen:
            seen.append(item)
    return seen


@pytest.mark.parametrize("delimiter", ["/", "a", "d/", "é", "\n", "/e"])
@pytest.mark.parametrize("prefix", ["", "a", "b/d"])
def test_any_delimiter_rolls_up_as_s3_does(
    tree: tuple[Core, int], delimiter: str, prefix: str
) -> None:
    core, alice = tree
    expected = _rolled_up(_every_key(), prefix, delimiter)
    for limit in (1, 2, 1000):
        seen: list[str] = []
        after = None
        while True:
            page = list_keys(core.db, alice, prefix, delimiter=delimiter, after=after, limit=limit)
            items = sorted(_keys(page) + page.prefixes, key=str.encode)
            assert len(items) <= limit
            seen += items
            if page.next_after is None:
                break
            assert page.next_after == items[-1]  # the page's last key or common prefix
            after = page.next_after
        assert seen == expected, (limit, seen)
    for common in set(expected) - set(_every_key()):
        # Resuming after a common prefix skips every key under it.
        rest = list_keys(core.db, alice, prefix, delimiter=delimiter, after=common)
        listed = _keys(rest) + rest.prefixes
        assert sorted(listed, key=str.encode) == expected[expected.index(common) + 1 :]


def test_objects_are_files_and_folder_markers(tree: tuple[Core, int]) -> None:
    """With ``objects``, a folder is listed only as a marker (a content type), and
    rolled up only while an object lies below it."""
    core, alice = tree
    core.storage.set_metadata(alice, "b/d/g", content_type="x/dir")  # a marker
    flat = list_keys(core.db, alice, objects=True)
    assert _keys(flat) == sorted(FILES + ["b/d/g/"], key=str.encode)
    top = list_keys(core.db, alice, delimiter="/", objects=True)
    assert _keys(top) == ["a", "a-b", "a.txt", "b.txt", "é"]
    assert top.prefixes == ["b/", "z/"]  # not a.dir/, which holds nothing
    inside = list_keys(core.db, alice, "b/d/g/", delimiter="/", objects=True)
    assert _keys(inside) == ["b/d/g/"] and inside.prefixes == []
    core.storage.delete(alice, "z/y/x/w")
    assert list_keys(core.db, alice, "z/", delimiter="/", objects=True).prefixes == []
