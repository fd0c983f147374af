"""What S3 computes over the parts of an upload: a part list's digest (a completion
sent again is known by it), and the part sizes a multipart object keeps, which say
where each of its parts lies."""

from __future__ import annotations

from gateway.multipart_terms import decode_sizes, encode_sizes, part_list_digest, part_window
from gateway.tree import Entry


def test_the_part_list_digest() -> None:
    listed = [(1, '"ABC"'), (2, " def ")]
    assert part_list_digest(listed) == part_list_digest([(1, "abc"), (2, '"def"')])
    assert part_list_digest(listed) == part_list_digest(listed, [{}, {}])
    assert part_list_digest(listed) != part_list_digest([(1, "abc"), (3, "def")])
    assert part_list_digest(listed, [{"CRC32": "a"}, {}]) != part_list_digest(listed)


def test_part_sizes_are_kept_as_runs_and_give_each_part_its_place() -> None:
    sizes = [8, 8, 8, 3]
    assert encode_sizes(sizes) == "8*3,3*1"
    assert decode_sizes(encode_sizes(sizes)) == [(8, 3), (3, 1)]
    whole = Entry(1, "u", 1, 0, "f", False, 27, "", 0.0, 0.0, multipart_etag="e-4")
    assert part_window(whole, "8*3,3*1", 1) == (0, 8, 4)
    assert part_window(whole, "8*3,3*1", 3) == (16, 8, 4)
    assert part_window(whole, "8*3,3*1", 4) == (24, 3, 4)
    assert part_window(whole, "8*3,3*1", 5) is None
    assert part_window(whole, None, 1) is None  # sizes not recorded
    single = Entry(2, "v", 1, 0, "g", False, 5, "", 0.0, 0.0)
    assert part_window(single, None, 1) == (0, 5, 1)
    assert part_window(single, None, 2) is None
