"""Multipart uploads a client drives, in the engine, on both kinds of region: parts in
any order, retries that replace a part and give its quota back, the checks of a
completion, aborts and lifetimes that free everything, and uploads continued by
another process."""

from __future__ import annotations

import hashlib
import os

import pytest
from sqlalchemy import delete, func, select

from gateway.blobkeys import object_key
from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import Exists, QuotaExceeded, TooLarge
from gateway.models import Account, CompletedUpload, MultipartUpload, Reservation, UploadPart
from gateway.multipart import (
    COMPLETED_KEPT_SECONDS,
    MIN_PART_SIZE,
    InvalidPart,
    InvalidPartOrder,
    MultipartInfo,
    NoSuchUpload,
    PartInfo,
    PartTooSmall,
    UploadBusy,
    multipart_etag,
    part_list_digest,
)
from gateway.storage import Entry
from tests.conftest import PASSWORD, CoreFactory, unfinished

MiB = 1024 * 1024


def put_part(core: Core, info: MultipartInfo, number: int, data: bytes) -> PartInfo:
    with core.multipart.part(info, number) as writer:
        for start in range(0, len(data), 400_000):
            writer.write(data[start : start + 400_000])
        return writer.finish()


def complete(core: Core, info: MultipartInfo, parts: list[PartInfo]) -> Entry:
    listed = [(part.number, f'"{part.md5}"') for part in parts]
    return core.multipart.complete(info, listed).run()


def rows(core: Core) -> tuple[int, int, int]:
    """How many uploads, parts and reservations the database holds."""
    with core.db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(MultipartUpload)) or 0,
            session.scalar(select(func.count()).select_from(UploadPart)) or 0,
            session.scalar(select(func.count()).select_from(Reservation)) or 0,
        )


def alice(core: Core) -> int:
    return core.accounts.create("alice", "a@example.com", PASSWORD).id


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


def test_a_retried_part_replaces_the_earlier_and_gives_its_quota_back(region_core: Core) -> None:
    core = region_core
    account = alice(core)
    info = core.multipart.create(account, "f.bin", content_type="")
    first = put_part(core, info, 1, b"a" * (MIN_PART_SIZE + MiB))
    assert core.storage.usage(account)[0] == MIN_PART_SIZE + MiB
    if core.config.regions[core.config.default_region].backend == "s3":
        # The test's S3 server (rclone serve s3) keeps a part it has begun to store
        # unless it is sent again with the same bytes, as a client's retry sends it
        # (see ObjectStore.put_part); the stores of production replace parts.
        again = put_part(core, info, 1, b"a" * (MIN_PART_SIZE + MiB))
        content = b"a" * (MIN_PART_SIZE + MiB)
    else:
        again = put_part(core, info, 1, b"b" * MIN_PART_SIZE)
        content = b"b" * MIN_PART_SIZE
    assert core.storage.usage(account)[0] == len(content)
    last = put_part(core, info, 2, b"tail")
    assert core.multipart.parts(info) == [again, last]
    if again.md5 != first.md5:
        with pytest.raises(InvalidPart):
            complete(core, info, [first, last])  # the replaced part is gone
    entry = complete(core, info, [again, last])
    assert b"".join(core.storage.open(entry)) == content + b"tail"
    assert core.storage.usage(account)[0] == len(content) + 4


def test_a_full_account_fails_the_part_and_stores_nothing(make_core: CoreFactory) -> None:
    core = make_core(default_quota="3MiB")
    account = alice(core)
    info = core.multipart.create(account, "f.bin", content_type="")
    kept = put_part(core, info, 1, b"k" * MiB)
    with pytest.raises(QuotaExceeded):
        core.multipart.part(info, 2, size=3 * MiB)  # declared: refused before any byte
    writer = core.multipart.part(info, 2)
    writer.write(b"x" * MiB)
    with pytest.raises(QuotaExceeded):
        writer.write(b"x" * (MiB + 1))
    with pytest.raises(QuotaExceeded):
        put_part(core, info, 1, b"r" * (2 * MiB + 1))  # a retry too big keeps the first
    assert core.multipart.parts(info) == [kept]
    assert core.storage.usage(account)[0] == MiB
    folder = core.stores["local"].tmp / f"mpu-{info.multipart_id}"  # type: ignore[attr-defined]
    stored = sorted(path.name for path in folder.iterdir() if not path.name.startswith("."))
    assert stored == [f"00001.{_etag(core, 1)}", "key"]  # (dot files: the assembly's scratch)
    entry = complete(core, info, [kept])
    assert b"".join(core.storage.open(entry)) == b"k" * MiB


def _etag(core: Core, number: int) -> str:
    with core.db.read() as session:
        return session.scalars(select(UploadPart.etag).where(UploadPart.number == number)).one()


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


def test_a_completion_whose_commit_fails_can_be_retried(pg_core: Core) -> None:
    core = pg_core
    account = alice(core)
    info = core.multipart.create(account, "docs/f.bin", content_type="")
    part = put_part(core, info, 1, b"p" * MIN_PART_SIZE)
    spare = put_part(core, info, 2, b"spare")
    core.storage.mkdir(account, "docs/f.bin", parents=True)  # a folder is in the way
    with pytest.raises(Exists):
        complete(core, info, [part])
    info = core.multipart.get(account, info.id)
    assert info.assembled == multipart_etag([part.md5])
    with pytest.raises(InvalidPart, match="assembled from another part list"):
        complete(core, info, [part, spare])
    core.storage.delete(account, "docs/f.bin")
    entry = complete(core, info, [part])
    assert b"".join(core.storage.open(entry)) == b"p" * MIN_PART_SIZE
    assert core.storage.usage(account)[0] == MIN_PART_SIZE
    assert rows(core) == (0, 0, 0) and unfinished(core.stores["local"]) == []


def test_an_abort_after_a_failed_completion_removes_what_it_assembled(region_core: Core) -> None:
    core = region_core
    account = alice(core)
    core.storage.mkdir(account, "docs/f.bin", parents=True)
    info = core.multipart.create(account, "docs/f.bin", content_type="")
    part = put_part(core, info, 1, b"more")
    with pytest.raises(Exists):
        complete(core, info, [part])
    store = core.stores[core.config.default_region]
    assert store.exists(object_key(info.blob_key))
    core.multipart.abort(info)
    assert not store.exists(object_key(info.blob_key)) and unfinished(store) == []
    assert core.storage.usage(account)[0] == 0 and rows(core) == (0, 0, 0)


def test_completing_replaces_an_existing_file(pg_core: Core) -> None:
    core = pg_core
    account = alice(core)
    with core.storage.upload(account, "f.bin", max_size=1 << 30) as upload:
        upload.write(b"old" * 1000)
        old = upload.commit()
    info = core.multipart.create(account, "f.bin", content_type="text/plain")
    entry = complete(core, info, [put_part(core, info, 1, b"new")])
    assert entry.uid == old.uid and entry.content_type == "text/plain"
    assert core.storage.usage(account)[0] == 3
    assert not core.stores["local"].exists(object_key(old.blob_key or ""))


def test_limits_of_parts_and_objects(make_core: CoreFactory) -> None:
    core = make_core(max_object_size="7MiB")
    account = alice(core)
    info = core.multipart.create(account, "f.bin", content_type="")
    first = put_part(core, info, 1, b"a" * MIN_PART_SIZE)
    with pytest.raises(TooLarge):
        core.multipart.part(info, 2, size=3 * MiB)
    with pytest.raises(TooLarge):
        put_part(core, info, 2, b"b" * (2 * MiB + 1))
    assert core.storage.usage(account)[0] == MIN_PART_SIZE
    for number in (0, 10_001):
        with pytest.raises(Exception, match="part numbers go from 1 to 10000"):
            core.multipart.part(info, number)
    entry = complete(core, info, [first, put_part(core, info, 2, b"b" * (2 * MiB))])
    assert entry.size == 7 * MiB


def test_a_part_copied_from_a_file(region_core: Core) -> None:
    core = region_core
    account = alice(core)
    data = os.urandom(MIN_PART_SIZE + 5000)
    with core.storage.upload(account, "source.bin", max_size=1 << 30) as upload:
        upload.write(data)
        source = upload.commit()
    info = core.multipart.create(account, "copy.bin", content_type="")
    first = core.multipart.copy_part(info, 1, source, 0, MIN_PART_SIZE)
    second = core.multipart.copy_part(info, 2, source, 1000, 3000)
    assert first.md5 == hashlib.md5(data[:MIN_PART_SIZE]).hexdigest()
    entry = complete(core, info, [first, second])
    assert b"".join(core.storage.open(entry)) == data[:MIN_PART_SIZE] + data[1000:4000]


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


def test_a_part_cut_short_by_a_dead_process_holds_nothing(make_core: CoreFactory) -> None:
    clock = ManualClock()
    writer = make_core(clock=clock)
    account = alice(writer)
    info = writer.multipart.create(account, "f.bin", content_type="")
    kept = put_part(writer, info, 1, b"k" * 1000)
    cut = writer.multipart.part(info, 2)
    cut.write(b"c" * MiB)
    other = make_core(clock=clock)
    clock.advance(120)  # the writer stops beating; its lease runs out
    other.recovery.heartbeat()
    assert other.recovery.reclaim() == 1  # the part's reservation, not the upload's
    assert other.storage.usage(account)[0] == 1000
    entry = complete(other, other.multipart.get(account, info.id), [kept])
    assert entry.size == 1000


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


# -- a completion sent again ----------------------------------------------------------


def recorded(core: Core) -> list[str]:
    """The ids of the completed uploads remembered."""
    with core.db.read() as session:
        return sorted(session.scalars(select(CompletedUpload.id)))


def test_a_completion_sent_again_finds_what_the_first_made(pg_core: Core) -> None:
    core = pg_core
    account, bob = alice(core), core.accounts.create("bob", "b@example.com", PASSWORD).id
    info = core.multipart.create(account, "docs/f.bin", content_type="")
    first = put_part(core, info, 1, b"a" * MIN_PART_SIZE)
    second = put_part(core, info, 2, b"tail")
    listed = [(1, f'"{first.md5}"'), (2, second.md5.upper())]
    sums = [{"SHA256": "one"}, {"SHA256": "two"}]
    entry = core.multipart.complete(info, listed, checksums=sums).run()
    assert recorded(core) == [info.id] and rows(core) == (0, 0, 0)
    with pytest.raises(NoSuchUpload):
        core.multipart.get(account, info.id)

    # Quoted or not, in either case: the same list.
    again = core.multipart.completed(
        account, info.id, "/docs/f.bin", [(1, first.md5), (2, f'"{second.md5}"')], checksums=sums
    )
    assert again is not None and again.entry == entry and again.meta == {}
    for other in (
        [(1, first.md5)],  # another list
        [(1, first.md5), (2, first.md5)],
    ):
        assert core.multipart.completed(account, info.id, "docs/f.bin", other) is None
    assert core.multipart.completed(account, info.id, "docs/f.bin", listed) is None  # no sums
    sums_changed = [{"SHA256": "one"}, {"SHA256": "else"}]
    assert (
        core.multipart.completed(account, info.id, "docs/f.bin", listed, checksums=sums_changed)
        is None
    )
    assert core.multipart.completed(account, info.id, "docs/g.bin", listed, checksums=sums) is None
    assert core.multipart.completed(bob, info.id, "docs/f.bin", listed, checksums=sums) is None
    assert core.multipart.completed(account, "nope", "docs/f.bin", listed, checksums=sums) is None
    # An abort of the completed upload finds no upload, and leaves the file alone.
    with pytest.raises(NoSuchUpload):
        core.multipart.abort(core.multipart.get(account, info.id))
    assert core.storage.stat(account, "docs/f.bin") == entry


def test_a_completion_sent_again_after_the_file_changed_finds_nothing(pg_core: Core) -> None:
    core = pg_core
    account = alice(core)
    made = {}
    for path in ("replaced.bin", "deleted.bin", "moved.bin"):
        info = core.multipart.create(account, path, content_type="")
        part = put_part(core, info, 1, path.encode())
        complete(core, info, [part])
        made[path] = (info.id, [(1, part.md5)])
    with core.storage.upload(account, "replaced.bin", max_size=1 << 20) as upload:
        upload.write(b"new bytes")
        upload.commit()
    core.storage.delete(account, "deleted.bin")
    core.storage.move(account, "moved.bin", "elsewhere.bin")
    for path, (upload_id, listed) in made.items():
        assert core.multipart.completed(account, upload_id, path, listed) is None, path
    assert (
        core.multipart.completed(
            account, made["moved.bin"][0], "elsewhere.bin", made["moved.bin"][1]
        )
        is None
    )


def test_a_failed_completion_is_not_remembered(pg_core: Core) -> None:
    core = pg_core
    account = alice(core)
    core.storage.mkdir(account, "f.bin")  # a folder is in the way
    info = core.multipart.create(account, "f.bin", content_type="")
    part = put_part(core, info, 1, b"bytes")
    with pytest.raises(Exists):
        complete(core, info, [part])
    assert recorded(core) == []
    assert core.multipart.completed(account, info.id, "f.bin", [(1, part.md5)]) is None
    core.storage.delete(account, "f.bin")
    entry = complete(core, core.multipart.get(account, info.id), [part])
    found = core.multipart.completed(account, info.id, "f.bin", [(1, part.md5)])
    assert found is not None and found.entry == entry


def test_completions_are_remembered_for_a_day(timed_core: tuple[Core, ManualClock]) -> None:
    core, clock = timed_core
    account = alice(core)
    info = core.multipart.create(account, "old.bin", content_type="")
    old = put_part(core, info, 1, b"old")
    complete(core, info, [old])
    clock.advance(COMPLETED_KEPT_SECONDS - 1)
    assert core.multipart.completed(account, info.id, "old.bin", [(1, old.md5)]) is not None
    clock.advance(2)
    assert core.multipart.completed(account, info.id, "old.bin", [(1, old.md5)]) is None
    assert recorded(core) == [info.id]  # until the next completion deletes it
    newer = core.multipart.create(account, "new.bin", content_type="")
    complete(core, newer, [put_part(core, newer, 1, b"new")])
    assert recorded(core) == [newer.id]


def test_the_record_goes_with_its_account(pg_core: Core) -> None:
    core = pg_core
    account = alice(core)
    info = core.multipart.create(account, "f.bin", content_type="")
    complete(core, info, [put_part(core, info, 1, b"x")])
    assert recorded(core) == [info.id]
    with core.db.write() as session:
        session.execute(delete(Account).where(Account.id == account))
    assert recorded(core) == []


def test_the_part_list_digest() -> None:
    listed = [(1, '"ABC"'), (2, " def ")]
    assert part_list_digest(listed) == part_list_digest([(1, "abc"), (2, '"def"')])
    assert part_list_digest(listed) == part_list_digest(listed, [{}, {}])
    assert part_list_digest(listed) != part_list_digest([(1, "abc"), (3, "def")])
    assert part_list_digest(listed, [{"CRC32": "a"}, {}]) != part_list_digest(listed)
