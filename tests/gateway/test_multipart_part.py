"""A part of a multipart upload on its way in: a part sent again replaces the earlier
and gives its quota back, a full account or a limit fails the part and stores
nothing, a part copied from a file, and a part cut short by a dead process holds
nothing."""

from __future__ import annotations

import hashlib
import os

import pytest
from sqlalchemy import select

from gateway.clock import ManualClock
from gateway.core import Core
from gateway.errors import QuotaExceeded, TooLarge
from gateway.models import UploadPart
from gateway.multipart_terms import MIN_PART_SIZE, InvalidPart
from tests.conftest import CoreFactory
from tests.gateway.multipart_helpers import alice, complete, put_part

MiB = 1024 * 1024


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
