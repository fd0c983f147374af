"""MKCOL and DELETE on the fast path answer what wsgidav answers and leave the same
tree; the home, bodies and unusual depths are left to wsgidav."""

from __future__ import annotations

from tests.webdav.fast.conftest import Twins


def test_mkcol_as_wsgidav(twins: Twins) -> None:
    for path in (
        "/alice/new",
        "/alice/new",  # exists: 405
        "/alice/new/",
        "/alice/new/inner",
        "/alice/docs/a.txt",  # a file: 405
        "/alice/missing/child",  # 409
        "/alice/docs/a.txt/child",  # under a file: 409
        "/alice/odd%20%23%3F%25",
        "/alice/bell%07",  # 400
        "/alice/" + "/".join(["d"] * 64),  # 400
    ):
        twins.same("MKCOL", path)
    assert twins.trees()[0] == twins.trees()[1]


def test_delete_as_wsgidav(twins: Twins) -> None:
    for path in (
        "/alice/docs/a.txt",
        "/alice/docs/a.txt",  # gone: 404
        "/alice/docs",  # a tree
        "/alice/odd%20%23%3F%25%20name.txt",
        "/alice/nothing/here",
        "/alice/empty-folder/",
    ):
        twins.same("DELETE", path)
    twins.same("DELETE", "/alice/big.bin", headers={"Depth": "infinity"})
    assert twins.trees()[0] == twins.trees()[1]
    assert list(twins.trees()[0]) == []


def test_unusual_requests_go_to_wsgidav(twins: Twins) -> None:
    for method, path, extra in (
        ("MKCOL", "/alice/with-body", {"content": b"<x/>"}),
        ("MKCOL", "/alice/deep", {"headers": {"Depth": "1"}}),
        ("MKCOL", "/alice/", {}),
        ("MKCOL", "/bob", {}),
        ("DELETE", "/alice/docs/a.txt", {"headers": {"Depth": "0"}}),
        ("DELETE", "/alice/docs/a.txt", {"content": b"x"}),
        ("DELETE", "/alice/", {}),
        ("DELETE", "/", {}),
        ("DELETE", "/alice/docs/a.txt", {"headers": {"If": "(<opaquelocktoken:x>)"}}),
    ):
        ours, theirs = twins.both(method, path, fast_path=False, **extra)
        assert ours.status_code == theirs.status_code, (method, path)
    assert twins.trees()[0] == twins.trees()[1]
