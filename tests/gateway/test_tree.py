"""The path helpers of gateway.tree: split_path's limits, remembered or not."""

from __future__ import annotations

import pytest

from gateway.errors import BadRequest
from gateway.tree import MAX_PATH_BYTES, MAX_PATH_DEPTH, SPLIT_PATH_CHARS, split_path


def test_split_path_gives_a_fresh_list_each_time() -> None:
    """A remembered path's parts are the caller's own: changing them changes nothing
    a later call sees."""
    first = split_path("/docs//report.txt/")
    assert first == ["docs", "report.txt"]
    first.append("changed")
    first[0] = "other"
    assert split_path("/docs//report.txt/") == ["docs", "report.txt"]


@pytest.mark.parametrize(
    "path",
    [
        "a/../b",
        "a/./b",
        "a/\x00/b",
        "a/" + "x" * 256,
        "/".join(["d"] * (MAX_PATH_DEPTH + 1)),
        "a/" * (MAX_PATH_BYTES // 2 + 1),
        "bad\udcff",
    ],
)
def test_split_path_refuses_every_time(path: str) -> None:
    """A refused path is refused again (refusals are never remembered), short or long."""
    for _ in range(2):
        with pytest.raises(BadRequest):
            split_path(path)


def test_split_path_checks_long_paths_too() -> None:
    """Paths past the remembered length are split and checked the same way."""
    long = "/".join(["f" * 50] * (SPLIT_PATH_CHARS // 51 + 2))
    assert len(long) > SPLIT_PATH_CHARS
    assert split_path(long) == long.split("/")
    with pytest.raises(BadRequest):
        split_path(long + "/..")
