"""Lock and property rows in the database: found by home, so any URL a path may have
fits on SQLite and PostgreSQL."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from gateway.core import Core


def lock(core: Core, root: str, token: str) -> None:
    core.dav_locks.create(
        {"token": token, "root": root, "expire": -1, "type": "write", "scope": "exclusive"}
    )


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ("/a_b", True),  # the home itself
        ("/a_b/docs/x.txt", True),  # below it
        ("/", False),  # the root is nobody's home
        ("/axb/docs", False),  # `_` is not a wildcard
        ("/a_b2/docs", False),  # a longer name is another home
        ("/a%b/docs", False),
    ],
)
def test_any_in_home_matches_homes_literally(pg_core: Core, root: str, expected: bool) -> None:
    lock(pg_core, root, "opaquelocktoken:1")
    assert pg_core.dav_locks.any_in_home("a_b") is expected


def test_locks_below_a_root_are_matched_by_path(core: Core) -> None:
    lock(core, "/p/deep/er", "opaquelocktoken:2")
    lock(core, "/p/deeper", "opaquelocktoken:3")
    below = core.dav_locks.at("/p/deep", include_root=False, include_children=True)
    assert [found["token"] for found in below] == ["opaquelocktoken:2"]
    assert core.dav_locks.at("/p/deep/er", include_root=True, include_children=False)


def test_the_longest_urls_fit(pg_core: Core) -> None:
    """A path of 4,096 bytes is three times that percent-encoded: more than a
    PostgreSQL index entry holds. Locks and properties of it still work."""
    url = "/alice/" + "/".join([quote("#" * 200, safe="")] * 16)
    assert len(url) > 9000
    lock(pg_core, url, "opaquelocktoken:4")
    assert pg_core.dav_locks.at(url, include_root=True, include_children=False)
    properties = pg_core.dav_properties
    properties.set(url, "{urn:x}color", b"red")
    assert properties.get(url, "{urn:x}color") == b"red"
    properties.copy(url, url + "2")
    assert properties.names(url + "2") == ["{urn:x}color"]
    properties.move(url + "2", url + "3", with_children=True)
    assert properties.names(url + "2") == [] and properties.get(url + "3", "{urn:x}color")
    properties.remove_tree("/alice")
    assert properties.names(url) == [] and properties.names(url + "3") == []


def test_a_home_is_plain_without_locks_and_dead_properties(pg_core: Core) -> None:
    locks, properties = pg_core.dav_locks, pg_core.dav_properties
    assert locks.home_is_plain("a_b")
    properties.set("/a_b/x.txt", "{urn:x}color", b"red")
    properties.set("/axb/y.txt", "{urn:x}color", b"red")  # another home
    assert not locks.home_is_plain("a_b") and not locks.home_is_plain("axb")
    assert locks.home_is_plain("a_b2")
    properties.remove_tree("/a_b")
    assert locks.home_is_plain("a_b")
    lock(pg_core, "/a_b/docs", "opaquelocktoken:5")
    assert not locks.home_is_plain("a_b")
    locks.delete("opaquelocktoken:5")
    assert locks.home_is_plain("a_b")
