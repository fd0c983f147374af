"""Multipart uploads a client drives, in the engine, on both kinds of region: parts in
any order make the file, the checks of a completion, one completion or abort at a
time, aborts and lifetimes that free everything, uploads continued by another
process, and the listings of uploads and parts. A part on its way in is
``test_multipart_part.py``, a completion ``test_multipart_completion.py``."""

from __future__ import annotations

import hashlib
import os

import pytest

from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import NotFound
from gateway.multipart_terms import (
    MIN_PART_SIZE,
    InvalidPart,
    InvalidPartOrder,
    NoSuchUpload,
    PartTooSmall,
    UploadBusy,
    multipart_etag,
)
from tests.conftest import PASSWORD, CoreFactory, in_parallel, unfinished
from tests.gateway.multipart_helpers import alice, complete, put_part, rows


def test_parts_in_any_order_make_the_file(region_core: Core) -> None:
    core = region_core
    account = alice(core)
    core.storage.mkdir(account, "photos")
    info = core.multipart.create(
        account, "photos/2024/big.bin", content_type="image/x-test", mtime=1_700_000_000.25
    )
    data = [os.urandom(MIN_PART_SIZE), os.urandom(MIN_PART_SIZE + 3), os.urandom(1000)]
    parts = {number: put_part(core, info, number, data[number - 1]) for number in (3, 1, 2)}
    assert [part.md5 for part in (parts[1], parts[2], parts[3])] == [
        hashlib.md5(chunk).hexdigest() for chunk in data
    ]
    assert core.storage.usage(account)[0] == sum(map(len, data))  # the parts are held
    whole = b"".join(data)
    entry = complete(core, info, [parts[1], parts[2], parts[3]])
    assert entry.path == "photos/2024/big.bin" and entry.size == len(whole)
    assert entry.md5 == hashlib.md5(whole).hexdigest()
    assert entry.sha1 == hashlib.sha1(whole).hexdigest()
    assert entry.content_type == "image/x-test" and entry.mtime == 1_700_000_000.25
    expected_etag = multipart_etag([parts[n].md5 for n in (1, 2, 3)])
    assert entry.multipart_etag == expected_etag and expected_etag.endswith("-3")
    stat = core.storage.stat(account, "photos/2024/big.bin")
    assert stat.multipart_etag == expected_etag and stat.md5 == entry.md5
    assert b"".join(core.storage.open(stat)) == whole
    assert core.storage.usage(account)[0] == len(whole)
    assert unfinished(core.stores[core.config.default_region]) == []
    assert rows(core) == (0, 0, 0)
    with pytest.raises(NoSuchUpload):
        core.multipart.get(account, info.id)


def test_a_completion_checks_the_part_list(region_core: Core) -> None:
    core = region_core
    account = alice(core)
    info = core.multipart.create(account, "f.bin", content_type="")
    big = put_part(core, info, 1, b"b" * MIN_PART_SIZE)
    small = put_part(core, info, 2, b"s" * 1000)
    end = put_part(core, info, 3, b"e")
    failures: list[tuple[type[Exception], list[tuple[int, str]]]] = [
        (InvalidPart, []),
        (InvalidPartOrder, [(2, small.md5), (1, big.md5)]),
        (InvalidPartOrder, [(1, big.md5), (1, big.md5)]),
        (InvalidPart, [(1, big.md5), (4, end.md5)]),
        (InvalidPart, [(1, big.md5), (3, small.md5)]),
        (PartTooSmall, [(1, big.md5), (2, small.md5), (3, end.md5)]),
    ]
    for error, listed in failures:
        with pytest.raises(error):
            core.multipart.complete(info, listed)
    assert core.multipart.get(account, info.id) == info  # still open, as it was
    store = core.stores[core.config.default_region]
    if core.config.regions[core.config.default_region].backend == "s3":
        # The test's S3 server assembles only the parts 1 to N, all of them (the
        # stores of production take any ascending subset): nothing more to try there.
        core.multipart.abort(info)
        assert unfinished(store) == [] and rows(core) == (0, 0, 0)
        return
    entry = core.multipart.complete(info, [(1, big.md5.upper()), (3, f'"{end.md5}"')]).run()
    assert entry.size == MIN_PART_SIZE + 1  # part 2, not listed, is dropped
    assert entry.multipart_etag == multipart_etag([big.md5, end.md5])
    assert core.storage.usage(account)[0] == MIN_PART_SIZE + 1
    assert rows(core) == (0, 0, 0)
    assert unfinished(store) == []


def test_an_abort_frees_everything(region_core: Core) -> None:
    core = region_core
    account = alice(core)
    info = core.multipart.create(account, "f.bin", content_type="")
    put_part(core, info, 1, os.urandom(MIN_PART_SIZE))
    put_part(core, info, 2, b"end")
    store = core.stores[core.config.default_region]
    assert unfinished(store) != []
    core.multipart.abort(info)
    assert unfinished(store) == []
    assert core.storage.usage(account)[0] == 0
    assert rows(core) == (0, 0, 0)
    with pytest.raises(NoSuchUpload):
        core.multipart.get(account, info.id)
    with pytest.raises(NoSuchUpload):
        core.multipart.abort(info)
    with pytest.raises(NoSuchUpload):
        put_part(core, info, 3, b"late")
    assert core.storage.usage(account)[0] == 0


def test_one_completion_or_abort_at_a_time(pg_core: Core) -> None:
    core = pg_core
    account = alice(core)
    info = core.multipart.create(account, "f.bin", content_type="")
    part = put_part(core, info, 1, b"only")
    completion = core.multipart.complete(info, [(1, part.md5)])
    with pytest.raises(UploadBusy):
        core.multipart.complete(info, [(1, part.md5)])
    with pytest.raises(UploadBusy):
        core.multipart.abort(info)
    assert completion.run().size == 4
    with pytest.raises(NoSuchUpload):
        core.multipart.abort(info)


def test_an_upload_is_continued_by_another_process(make_core: CoreFactory) -> None:
    first = make_core(default_quota="100MiB")
    account = alice(first)
    info = first.multipart.create(account, "f.bin", content_type="", meta={"colour": "blue"})
    one = put_part(first, info, 1, b"1" * MIN_PART_SIZE)
    second = make_core(default_quota="100MiB")  # another process on the same database
    found = second.multipart.get(account, info.id, "f.bin")
    assert found == info and found.meta == {"colour": "blue"}
    two = put_part(second, found, 2, b"2")
    assert second.multipart.parts(found) == [one, two]
    assert [upload.id for upload in second.multipart.list_uploads(account, "").uploads] == [info.id]
    entry = complete(second, found, [one, two])
    assert first.storage.stat(account, "f.bin").md5 == entry.md5
    assert first.storage.usage(account)[0] == MIN_PART_SIZE + 1


def test_an_unfinished_upload_is_swept_after_its_lifetime(
    timed_core: tuple[Core, ManualClock],
) -> None:
    core, clock = timed_core
    account = alice(core)
    info = core.multipart.create(account, "f.bin", content_type="")
    put_part(core, info, 1, b"x" * 5000)
    clock.advance(7 * 86400 - 60)
    core.recovery.run_once()
    assert core.multipart.get(account, info.id) == info  # 7 days is the default lifetime
    clock.advance(120)
    with pytest.raises(NoSuchUpload):
        core.multipart.get(account, info.id)  # expired, even before the sweep
    core.recovery.run_once()
    assert rows(core) == (0, 0, 0)
    assert core.storage.usage(account)[0] == 0
    assert unfinished(core.stores["local"]) == []


def test_the_lifetime_is_a_setting(make_core: CoreFactory) -> None:
    clock = ManualClock()
    core = make_core(clock=clock, multipart_upload_days=1)
    account = alice(core)
    info = core.multipart.create(account, "f.bin", content_type="")
    assert info.expires_at == clock() + 86400


def test_unfinished_uploads_are_listed_by_path_prefix_and_marker(pg_core: Core) -> None:
    core = pg_core
    account = alice(core)
    made = [
        core.multipart.create(account, path, content_type="")
        for path in ["b/x/1", "b/a", "b/x/2", "b/a", "b/y/3", "c/other"]
    ]
    bob = core.accounts.create("bob", "b@example.com", PASSWORD).id
    core.multipart.create(bob, "b/a", content_type="")
    page = core.multipart.list_uploads(account, "b/")
    order = [made[1], made[3], made[0], made[2], made[4]]
    assert [upload.id for upload in page.uploads] == [upload.id for upload in order]
    assert not page.truncated
    page = core.multipart.list_uploads(account, "b/", delimiter="/")
    assert [upload.path for upload in page.uploads] == ["b/a", "b/a"]
    assert page.prefixes == ["b/x/", "b/y/"]
    seen: list[str] = []
    marker: tuple[str, str | None] | None = None
    while True:
        page = core.multipart.list_uploads(
            account,
            "b/",
            delimiter="/",
            key_marker=None if marker is None else marker[0],
            upload_id_marker=None if marker is None else marker[1],
            limit=1,
        )
        seen += [upload.id for upload in page.uploads] + page.prefixes
        if not page.truncated:
            break
        marker = page.next_marker
    assert seen == [made[1].id, made[3].id, "b/x/", "b/y/"]
    after = core.multipart.list_uploads(account, "b/", key_marker="b/a")
    assert [upload.id for upload in after.uploads] == [made[0].id, made[2].id, made[4].id]
    assert core.multipart.list_uploads(account, "b/", limit=0).uploads == []


def test_parts_are_listed_in_pages(pg_core: Core) -> None:
    core = pg_core
    account = alice(core)
    info = core.multipart.create(account, "f.bin", content_type="")
    parts = [put_part(core, info, number, bytes([number])) for number in (5, 2, 9, 7)]
    assert [part.number for part in core.multipart.parts(info)] == [2, 5, 7, 9]
    assert core.multipart.parts(info, after=5, limit=1) == [parts[3]]
    assert core.multipart.parts(info, after=9) == []


def test_an_upload_opened_in_a_bucket_being_deleted_does_not_outlive_it(pg_core: Core) -> None:
    """``in_bucket``: the bucket (a top-level folder) is checked as the upload is
    recorded, so an upload opened while its bucket is deleted is either refused or
    recorded before the delete, which then aborts it: none is left."""
    core = pg_core
    owner = alice(core)
    with pytest.raises(NotFound):
        core.multipart.create(owner, "missing/k", content_type="", in_bucket=True)

    def race(what: str) -> object:
        if what == "create":
            return core.multipart.create(owner, "b/k", content_type="", in_bucket=True)
        core.storage.delete(owner, "b")
        return None

    outcomes = set()
    for _ in range(8):
        core.storage.mkdir(owner, "b")
        created, _ = in_parallel(race, ["create", "delete"])
        outcomes.add(type(created).__name__)
        assert core.multipart.list_uploads(owner, "").uploads == []
    assert core.storage.usage(owner)[0] == 0
    assert outcomes <= {"MultipartInfo", "NotFound"}
