"""Completing a multipart upload: a completion whose commit fails can be tried again
(or the upload aborted, taking what it assembled), a completion replaces an existing
file, and a completion sent again finds what the first made, while the file is still
that one and for a day."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from gateway.blobkeys import object_key
from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import Exists
from gateway.models import Account, CompletedUpload
from gateway.multipart_terms import (
    COMPLETED_KEPT_SECONDS,
    MIN_PART_SIZE,
    InvalidPart,
    NoSuchUpload,
    multipart_etag,
)
from tests.conftest import PASSWORD, CoreFactory, unfinished
from tests.gateway.multipart_helpers import alice, complete, put_part, rows


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


def test_a_completion_may_make_its_folders_its_own_way(make_core: CoreFactory) -> None:
    """The caller's ``make_folders`` makes the folder the file goes in (S3 makes none
    above its bucket); one that refuses leaves the upload to be completed again."""
    core = make_core()
    account = alice(core)
    info = core.multipart.create(account, "gone/a/f.bin", content_type="")
    part = put_part(core, info, 1, b"part")
    listed = [(1, part.md5)]

    def refuse(folder: str) -> None:
        raise NoSuchUpload(f"no folder {folder}")

    with pytest.raises(NoSuchUpload, match="no folder gone/a"):
        core.multipart.complete(info, listed).run(make_folders=refuse)
    assert core.storage.children(account, "") == []  # nothing was made
    made: list[str] = []

    def mkdir(folder: str) -> None:
        made.append(folder)
        core.storage.mkdir(account, folder, parents=True)

    info = core.multipart.get(account, info.id)
    entry = core.multipart.complete(info, listed).run(make_folders=mkdir)
    assert made == ["gone/a"] and entry.path == "gone/a/f.bin"
