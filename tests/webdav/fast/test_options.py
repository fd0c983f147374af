"""OPTIONS on the fast path answers what wsgidav answers: the methods allowed on a
folder, a file, or a free name; 404 below a missing folder."""

from __future__ import annotations

from tests.webdav.fast.conftest import Twins


def test_options_as_wsgidav(twins: Twins) -> None:
    for path in (
        "/alice/",
        "/alice",
        "/alice/docs",
        "/alice/docs/a.txt",
        "/alice/docs/free.txt",
        "/alice/missing/free.txt",
        "/alice/docs/a.txt/below-a-file",
    ):
        twins.same("OPTIONS", path)


def test_the_root_and_other_homes_go_to_wsgidav(twins: Twins) -> None:
    for path in ("/", "/bob/", "/bob/x"):
        ours, theirs = twins.both("OPTIONS", path, fast_path=False)
        assert ours.status_code == theirs.status_code, path
        assert ours.headers.get("allow") == theirs.headers.get("allow"), path
