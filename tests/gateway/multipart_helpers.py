"""Steps the tests of multipart uploads share: a part sent, a completion, what the
database holds."""

from __future__ import annotations

from sqlalchemy import func, select

from gateway.core import Core
from gateway.models import MultipartUpload, Reservation, UploadPart
from gateway.multipart_terms import MultipartInfo, PartInfo
from gateway.tree import Entry
from tests.conftest import PASSWORD


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
