"""Finding entries (:mod:`gateway.lookup`) on real databases: a folder's children in
pages, accounts that do not see each other, and a path looked up through the index
whatever the account's size."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

from gateway.core import Core
from gateway.errors import NotFound
from tests.gateway.storage_helpers import account, make_tree, put


def test_folders_listing_is_paged_in_name_order(pg_core: Core) -> None:
    alice = account(pg_core)
    pg_core.storage.mkdir(alice, "a/b/c", parents=True)
    names = [f"n{i:03d}" for i in range(25)]
    for name in reversed(names):
        put(pg_core, alice, f"a/{name}", name.encode())
    page = pg_core.storage.children(alice, "a", limit=10)
    assert [e.name for e in page] == ["b", *names[:9]]
    page2 = pg_core.storage.children(alice, "a", after=page[-1].name, limit=10)
    assert [e.name for e in page2] == names[9:19]
    assert [e.name for e in pg_core.storage.children(alice, "a/b")] == ["c"]


def test_accounts_do_not_see_each_other(core: Core) -> None:
    alice, bob = account(core, "alice"), account(core, "bob")
    put(core, alice, "secret", b"s")
    with pytest.raises(NotFound):
        core.storage.stat(bob, "secret")
    entry = core.storage.stat(alice, "secret")
    with pytest.raises(NotFound):
        core.storage.delete_uid(bob, entry.uid)
    assert core.storage.get(entry.uid).account_id == alice
    assert core.storage.path_of(entry) == "secret"


def test_a_path_lookup_does_as_much_work_in_a_large_account_as_in_a_small_one(
    core: Core,
) -> None:
    """A path is looked up through the key's index, not by scanning the account's
    entries (counted in SQLite's virtual machine steps, which a scan multiplies)."""
    alice = account(core)
    make_tree(core, alice, "t", folders=1, files=2)
    steps = 0

    def step() -> int:
        nonlocal steps
        steps += 1
        return 0

    core.db.engine.dispose()  # every connection from now on counts
    event.listen(
        core.db.engine, "connect", lambda connection, _: connection.set_progress_handler(step, 1)
    )

    def cost(path: str) -> int:
        nonlocal steps
        steps = 0
        with contextlib.suppress(NotFound):
            core.storage.stat(alice, path)
        return steps

    paths = ["t/d0/f1", "t/d0", "t/none", ""]
    few = [cost(path) for path in paths]
    make_tree(core, alice, "u", folders=20, files=20)
    many = [cost(path) for path in paths]
    assert all(after < 2 * before for before, after in zip(few, many, strict=True)), (few, many)
