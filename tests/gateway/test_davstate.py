"""Lock rows in the database: the per-request question "does this home hold any lock?"."""

from __future__ import annotations

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
def test_any_at_or_below_matches_paths_literally(pg_core: Core, root: str, expected: bool) -> None:
    lock(pg_core, root, "opaquelocktoken:1")
    assert pg_core.dav_locks.any_at_or_below("/a_b") is expected


def test_percent_and_slash_in_a_home_are_literal(core: Core) -> None:
    lock(core, "/p%q/deep/er", "opaquelocktoken:2")
    assert core.dav_locks.any_at_or_below("/p%q")
    assert not core.dav_locks.any_at_or_below("/p")
    assert not core.dav_locks.any_at_or_below("/p%")
