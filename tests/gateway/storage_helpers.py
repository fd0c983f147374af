"""Steps the tests of the storage engine share: accounts, files written and read,
and trees inserted straight into the database."""

from __future__ import annotations

import base64

from awscrt.checksums import crc64nvme

from gateway.core import Core
from gateway.models import Account, Blob, Node
from tests.conftest import PASSWORD

MiB = 1024 * 1024


def account(core: Core, name: str = "alice") -> int:
    return core.accounts.create(name, f"{name}@example.com", PASSWORD).id


def put(core: Core, account_id: int, path: str, data: bytes, **kwargs: object) -> object:
    with core.storage.upload(account_id, path, max_size=1 << 40, **kwargs) as upload:  # type: ignore[arg-type]
        for start in range(0, len(data), MiB):
            upload.write(data[start : start + MiB])
        return upload.commit()


def crc_meta(data: bytes) -> dict[str, str]:
    """The checksum every write keeps with a file of ``data`` (in its metadata)."""
    value = base64.b64encode(crc64nvme(data, 0).to_bytes(8, "big")).decode()
    return {"x-amz-checksum-crc64nvme": value, "x-amz-checksum-type": "FULL_OBJECT"}


def read(core: Core, account_id: int, path: str) -> bytes:
    return b"".join(core.storage.open(core.storage.stat(account_id, path)))


def new_node(
    uid: str,
    account_id: int,
    parent_id: int | None,
    name: str,
    blob: Blob | None = None,
    *,
    parent_key: str,
) -> Node:
    """A node row to add straight to the database: a folder, or a file of ``blob``,
    in the folder ``parent_id`` whose key is ``parent_key``."""
    return Node(
        uid=uid,
        key=parent_key + name + ("/" if blob is None else ""),
        account_id=account_id,
        parent_id=parent_id,
        name=name,
        is_dir=blob is None,
        blob_id=None if blob is None else blob.id,
        size=0 if blob is None else blob.size,
        content_type="",
        mtime=0.0,
        created_at=0.0,
    )


def blob_count(core: Core) -> int:
    with core.db.read() as session:
        return session.query(Blob).count()


def entry_count(core: Core, account_id: int) -> int:
    with core.db.read() as session:
        row = session.get(Account, account_id)
        assert row is not None
        return row.entry_count


def node_rows(core: Core, account_id: int) -> int:
    """The account's nodes but its root, wherever they are."""
    with core.db.read() as session:
        return session.query(Node).filter(Node.account_id == account_id).count() - 1


def make_tree(core: Core, account_id: int, path: str, folders: int, files: int) -> None:
    """``path`` with ``folders`` folders of ``files`` one-byte files each (each its own
    blob), inserted directly: a tree of ``1 + folders * (1 + files)`` entries."""
    top = core.storage.mkdir(account_id, path)
    with core.db.write() as session:
        for index in range(folders):
            folder = new_node(
                f"f{top.id:06d}{index:07d}", account_id, top.id, f"d{index}", parent_key=top.key
            )
            session.add(folder)
            session.flush()
            for number in range(files):
                blob = Blob(
                    region="local",
                    key=f"{folder.id:012d}{number:020d}",
                    size=1,
                    md5="",
                    sha1="",
                    refcount=1,
                    created_at=0.0,
                )
                session.add(blob)
                session.flush()
                uid = f"n{folder.id:09d}{number:07d}"
                session.add(
                    new_node(uid, account_id, folder.id, f"f{number}", blob, parent_key=folder.key)
                )
        added = folders * (1 + files)
        session.query(Account).filter(Account.id == account_id).update(
            {
                "entry_count": Account.entry_count + added,
                "used_bytes": Account.used_bytes + folders * files,
            }
        )
