"""The ``local`` object store: objects as files under a directory.

An object is a file under the store's root: the object ``a/b`` is the file
``root/a/b``, and one of lockr's blob keys, ``ab/cd/abcd…``, is ``root/ab/abcd…`` in a
store made since the flat layout came, or ``root/ab/cd/abcd…`` in one an earlier
version made (:mod:`gateway.objectstore_local_layout`, which every path this store
computes goes through). Everything not yet visible lives under
``root/tmp/``, one folder per upload: ``tmp/mpu-<upload id>/`` holds a ``key`` file naming
the object and the parts as ``<number>.<token>`` files (and, while parts arrive, the
object being assembled from them, ``.assembly-<token>``: :class:`LocalAssembly`, whose
completion renames the folder ``tmp/done-<upload id>/`` until the parts are removed). A
whole-object :meth:`put` is a one-part upload of its own, so the bytes of a put cut
short by a crash are found by :meth:`LocalObjectStore.list_multipart` and freed like
any other stray upload. A
:meth:`~LocalObjectStore.put_pending` keeps its record as ``tmp/put-<upload id>.<key>``
(``/`` written ``~``), a durable file that is also linked in as the object.

Files and folders are owner-only (:mod:`gateway.private`). An object becomes visible by
``rename`` after its bytes were fsynced, and the folder holding it is fsynced after.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from gateway.errors import BadRequest, Conflict, Forbidden, NotFound
from gateway.objectstore import (
    BLOCK,
    RESERVED_ROOT,
    Part,
    check_key,
    check_part_number,
    check_parts,
    check_range,
)
from gateway.objectstore_local_layout import Layout, open_layout
from gateway.private import FOLDER_MODE, fsync_folder, open_private, private_folder

_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_TOKEN = re.compile(r"[0-9a-f]{32}")
_UPLOAD_PREFIX = "mpu-"
_DONE_PREFIX = "done-"
_PENDING_PREFIX = "put-"
_SLASH = "~"  # not a key character: stands for "/" in a pending object's file name
_NAME_MAX = 255
_KEY_FILE = "key"
_ASSEMBLY_PREFIX = ".assembly-"


class LocalObjectStore:
    """An :class:`gateway.objectstore.ObjectStore` on a local (or mounted) directory."""

    min_part_size = 1
    part_size = 1 << 40  # a part per request: completing one part is a rename

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / RESERVED_ROOT
        private_folder(root, tighten=True)
        private_folder(self.tmp, tighten=True)
        self.layout: Layout = open_layout(root, self.tmp)
        self._prefix = os.path.join(root, "")
        self._drop_legacy_scratch()

    def _drop_legacy_scratch(self) -> None:
        """Remove the pending blobs earlier versions kept as ``tmp/<32 hex digits>``
        files (this store keeps everything unfinished in ``tmp/mpu-*/`` folders): their
        uploads were expired by the upgrade that brought this store."""
        for path in self.tmp.iterdir():
            if _UPLOAD_ID.fullmatch(path.name) and path.is_file():
                path.unlink(missing_ok=True)

    # -- whole objects ---------------------------------------------------------------

    def put(self, key: str, blocks: Iterable[bytes]) -> int:
        size, upload = self._put_through_upload(key, self.path(key), blocks, durable=False)
        shutil.rmtree(upload, ignore_errors=True)
        return size

    def put_pending(self, key: str, blocks: Iterable[bytes]) -> tuple[int, str]:
        # Plain strings, not Paths, and no look at the object's folder unless the link
        # finds it missing: every small WebDAV PUT comes through here.
        final = self._file(key)
        upload_id = os.urandom(16).hex()
        name = _pending_name(upload_id, key)
        if len(name) > _NAME_MAX or os.path.exists(final):
            size, upload = self._put_through_upload(key, Path(final), blocks, durable=True)
            return size, upload.name.removeprefix(_UPLOAD_PREFIX)
        # The record is the bytes themselves, under a name that says the key: written
        # and made durable in the scratch folder, then linked in as the object.
        pending = os.path.join(self.tmp, name)
        size = _write(pending, blocks)
        folder = os.path.dirname(final)
        try:
            fsync_folder(self.tmp)
            try:
                os.link(pending, final)
            except FileNotFoundError:
                if not os.path.exists(pending):
                    raise
                private_folder(Path(folder), durable=True)
                os.link(pending, final)
        except FileExistsError:
            # Written meanwhile by another put of the key: replaced, as put does.
            link = os.path.join(self.tmp, f".{upload_id}")
            os.link(pending, link)
            os.replace(link, final)
        except (IsADirectoryError, NotADirectoryError):
            _unlink(pending)
            raise Conflict("an object key is also the folder of other objects") from None
        except BaseException:
            _unlink(pending)
            raise
        fsync_folder(folder)
        return size, upload_id

    def _put_through_upload(
        self, key: str, final: Path, blocks: Iterable[bytes], *, durable: bool
    ) -> tuple[int, Path]:
        """Store ``blocks`` as ``final`` by way of an upload folder of ``key`` (made
        :meth:`_new_upload` with ``durable``), which is returned, left for the caller:
        a put removes it at once, a :meth:`put_pending` keeps it as its record (for a
        key too long to name a scratch file, or one that replaces an object). On a
        failure the folder is removed."""
        upload = self._new_upload(key, durable=durable)
        try:
            temp = upload / ".object"
            size = _write(temp, blocks)
            self._publish(temp, final)
        except BaseException:
            shutil.rmtree(upload, ignore_errors=True)
            raise
        return size, upload

    def open_reader(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        check_range(offset, length)
        try:
            handle = self.path(key).open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound("no such object") from None
        return read_blocks(handle, offset, length)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        path = self.path(key)
        if not path.is_file():
            raise NotFound("no such object")
        return path.stat().st_size

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            pass

    # -- multipart uploads -----------------------------------------------------------

    def create_multipart(self, key: str) -> str:
        check_key(key)
        return self._new_upload(key, durable=True).name.removeprefix(_UPLOAD_PREFIX)

    def put_part(self, key: str, upload_id: str, number: int, blocks: Iterable[bytes]) -> Part:
        check_part_number(number)
        upload = self._upload(key, upload_id)
        temp = upload / f".{uuid.uuid4().hex}"
        # The part's token names its file; it is unique, not a hash: the bytes pass
        # here once, unhashed (whoever needs their MD5 has it from its own pass).
        etag = uuid.uuid4().hex
        size = _write(temp, blocks)
        name = f"{number:05d}.{etag}"
        try:
            os.replace(temp, upload / name)
        except FileNotFoundError:
            raise _aborted() from None
        for earlier in upload.glob(f"{number:05d}.*"):
            if earlier.name != name:
                earlier.unlink(missing_ok=True)
        fsync_folder(upload)
        return Part(number, size, etag)

    def complete_multipart(self, key: str, upload_id: str, parts: Sequence[Part]) -> int:
        check_parts(parts, self.min_part_size)
        final = self.path(key)
        upload = self._upload(key, upload_id)
        files = [upload / f"{part.number:05d}.{_etag(part)}" for part in parts]
        for part, path in zip(parts, files, strict=True):
            if not path.is_file() or path.stat().st_size != part.size:
                raise BadRequest(f"part {part.number} is not a part of this upload as listed")
        temp = upload / f".{uuid.uuid4().hex}"
        # The first part becomes the object and the others are appended to it; should
        # that fail, the first part is put back as it was.
        try:
            os.replace(files[0], temp)
        except FileNotFoundError:
            raise _aborted() from None
        try:
            _append(temp, _concatenate(files[1:]))
        except BaseException:
            os.truncate(temp, parts[0].size)
            os.replace(temp, files[0])
            raise
        try:
            size = temp.stat().st_size
            self._publish(temp, final)
        finally:
            temp.unlink(missing_ok=True)
        shutil.rmtree(upload, ignore_errors=True)
        return size

    def assembly(self, key: str, upload_id: str) -> LocalAssembly:
        return LocalAssembly(self, key, self._upload(key, upload_id))

    def abort_multipart(self, key: str, upload_id: str) -> None:
        # The id alone names the folder: a crashed put's upload may be listed with the
        # key "" (see _new_upload) and must still be freed.
        if not _UPLOAD_ID.fullmatch(upload_id):
            return
        pending = _pending_name(upload_id, key)
        if key and len(pending) <= _NAME_MAX:
            # A put_pending's record (every small put drops one): one unlink. Its id
            # names no folder, so nothing else is left to remove.
            try:
                os.unlink(os.path.join(self.tmp, pending))
                return
            except FileNotFoundError:
                pass
        shutil.rmtree(self.tmp / (_UPLOAD_PREFIX + upload_id), ignore_errors=True)
        shutil.rmtree(self.tmp / (_DONE_PREFIX + upload_id), ignore_errors=True)

    def list_multipart(self, prefix: str = "") -> list[tuple[str, str]]:
        found = []
        for folder in self.tmp.glob(_UPLOAD_PREFIX + "*"):
            try:
                key = (folder / _KEY_FILE).read_text()
            except NotADirectoryError:
                continue
            except FileNotFoundError:
                if not folder.is_dir():
                    continue  # removed meanwhile
                # A put killed before its key was written (or a folder being made or
                # removed this very moment): listed with the key "", as an empty key
                # file is, so that a sweep frees it.
                key = ""
            if key.startswith(prefix):
                found.append((key, folder.name.removeprefix(_UPLOAD_PREFIX)))
        if not prefix:
            # The parts of completed uploads whose removal a crash cut short.
            found += [
                ("", done.name.removeprefix(_DONE_PREFIX))
                for done in self.tmp.glob(_DONE_PREFIX + "*")
            ]
        for pending in self.tmp.glob(_PENDING_PREFIX + "*"):
            upload_id, _, named = pending.name.removeprefix(_PENDING_PREFIX).partition(".")
            key = named.replace(_SLASH, "/")
            if _UPLOAD_ID.fullmatch(upload_id) and key.startswith(prefix):
                found.append((key, upload_id))
        return sorted(found)

    def presigned_url(self, key: str, *, expires: int, filename: str | None = None) -> str | None:
        check_key(key)
        return None

    def check(self) -> None:
        if not os.access(self.root, os.W_OK | os.X_OK) or not os.access(self.tmp, os.W_OK):
            raise Forbidden(f"the folder {str(self.root)!r} is not writable by this process")

    def close(self) -> None:
        pass

    # -- helpers ---------------------------------------------------------------------

    def path(self, key: str) -> Path:
        """The file that holds the object ``key`` (whether or not it exists)."""
        return Path(self._file(key))

    def _file(self, key: str) -> str:
        # Plain strings: every small write and read comes through here.
        return self._prefix + self.layout.file(check_key(key))

    def _new_upload(self, key: str, *, durable: bool) -> Path:
        """A new upload folder whose ``key`` file names ``key``; with ``durable``, one
        that survives a crash. A put's own upload need not (it saves an fsync per put):
        after a crash its ``key`` file may be empty, and the upload is then listed with
        the key ``""``, to be aborted by a sweep of :meth:`list_multipart`."""
        for attempt in range(3):
            upload = self.tmp / (_UPLOAD_PREFIX + uuid.uuid4().hex)
            os.mkdir(upload, FOLDER_MODE)
            try:
                os.chmod(upload, FOLDER_MODE)
                _write(upload / ".key", [key.encode()], sync=durable)
                os.replace(upload / ".key", upload / _KEY_FILE)
                break
            except (FileNotFoundError, NotFound):
                # A sweep took the folder for a dead put's before its key was written
                # (see list_multipart): start again in another.
                if attempt == 2:
                    raise
        if durable:
            fsync_folder(upload)
            fsync_folder(self.tmp)
        return upload

    def _upload(self, key: str, upload_id: str) -> Path:
        """The folder of the upload ``upload_id`` of ``key``, or :class:`NotFound`."""
        check_key(key)
        upload = self.tmp / (_UPLOAD_PREFIX + upload_id)
        try:
            if _UPLOAD_ID.fullmatch(upload_id) and (upload / _KEY_FILE).read_text() == key:
                return upload
        except (FileNotFoundError, NotADirectoryError):
            pass
        raise NotFound("no such upload")

    def _publish(self, temp: Path, final: Path) -> None:
        """Move the fsynced ``temp`` to ``final`` and make that durable."""
        try:
            private_folder(final.parent, durable=True)
            os.replace(temp, final)
        except (IsADirectoryError, NotADirectoryError, FileExistsError):
            raise Conflict("an object key is also the folder of other objects") from None
        except FileNotFoundError:
            raise _aborted() from None
        fsync_folder(final.parent)


class LocalAssembly:
    """An :class:`gateway.objectstore.Assembly` as a scratch file of the upload's folder,
    ``.assembly-<token>``, which completing renames into place. Each part taken is
    copied into it from the part's file (read back while it is likely still cached)
    through one buffer of :data:`BLOCK` bytes, which the blocks handed over are views
    of, and its writing out is started at once, so that completing has little to
    flush."""

    def __init__(self, store: LocalObjectStore, key: str, upload: Path) -> None:
        self._store = store
        self._key = key
        self._upload = upload
        self._path = upload / f"{_ASSEMBLY_PREFIX}{uuid.uuid4().hex}"
        try:
            self._fd: int | None = open_private(self._path, os.O_WRONLY | os.O_EXCL)
        except FileNotFoundError:
            raise _aborted() from None
        self.parts: list[Part] = []
        self.size = 0
        self._done: Path | None = None
        self._buffer: memoryview | None = None

    def append(self, part: Part, each: Callable[[memoryview], object]) -> None:
        fd = self._open()
        try:
            source = os.open(self._upload / f"{part.number:05d}.{_etag(part)}", os.O_RDONLY)
        except FileNotFoundError:
            if not (self._upload / _KEY_FILE).is_file():
                raise _aborted() from None
            raise BadRequest(f"part {part.number} is not a part of this upload as listed") from None
        if self._buffer is None:
            self._buffer = memoryview(bytearray(BLOCK))
        start = offset = self.size
        end = start + part.size
        try:
            # Exactly the part's bytes: a completion elsewhere may be appending to the
            # file of a first part (see complete_multipart), never changing what it held.
            # Read into the one buffer, written and handed over from there.
            while offset < end:
                block = self._buffer[: min(BLOCK, end - offset)]
                read = os.readv(source, [block])
                if not read:
                    raise BadRequest(f"part {part.number} is shorter than it was stored")
                block = block[:read]
                _write_at(fd, block, offset)
                offset += read
                each(block)
        except BaseException:
            os.ftruncate(fd, start)
            raise
        finally:
            os.close(source)
        _start_writeback(fd, start, part.size)
        self.parts.append(part)
        self.size = offset

    def rewind(self, count: int) -> None:
        fd = self._open()
        kept = self.parts[: max(0, count)]
        size = sum(part.size for part in kept)
        os.ftruncate(fd, size)
        self.parts, self.size = kept, size

    def complete(self, parts: Sequence[Part]) -> int:
        fd = self._open()
        if list(parts) != self.parts:
            raise BadRequest("the part list is not the parts assembled")
        check_parts(parts, self._store.min_part_size)
        final = self._store.path(self._key)
        self._fd = None
        self._buffer = None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            self._store._publish(self._path, final)
        finally:
            self._path.unlink(missing_ok=True)
        # The upload is gone at once; its parts are removed by discard (a gigabyte of
        # them takes a while), or by a sweep should a crash come first.
        done = self._store.tmp / (_DONE_PREFIX + self._upload.name.removeprefix(_UPLOAD_PREFIX))
        try:
            os.rename(self._upload, done)
            self._done = done
        except FileNotFoundError:
            pass  # aborted meanwhile: nothing left to remove
        return self.size

    def discard(self) -> None:
        self._buffer = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._path.unlink(missing_ok=True)
        if self._done is not None:
            shutil.rmtree(self._done, ignore_errors=True)
            self._done = None

    def _open(self) -> int:
        if self._fd is None:
            raise BadRequest("the assembly is used up")
        return self._fd


def _write_at(fd: int, view: memoryview, offset: int) -> None:
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Have the kernel start writing these bytes out, without waiting for them (on
    Linux, advising that they are not needed again does), so that the fsync of
    completing has little left to do."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


def _pending_name(upload_id: str, key: str) -> str:
    """The scratch file of :meth:`LocalObjectStore.put_pending` ``upload_id`` of ``key``."""
    return f"{_PENDING_PREFIX}{upload_id}.{key.replace('/', _SLASH)}"


def _aborted() -> NotFound:
    return NotFound("no such upload (it was aborted meanwhile)")


def _etag(part: Part) -> str:
    if not _TOKEN.fullmatch(part.etag):
        raise BadRequest(f"part {part.number} was not stored by this store")
    return part.etag


def _write(path: str | Path, blocks: Iterable[bytes], *, sync: bool = True) -> int:
    """Write ``blocks`` to the new file ``path`` (fsynced unless told not to) and return
    the size; if anything fails, the file is removed and the error propagates. The
    file's folder is an upload's: if it is gone, the upload was aborted."""
    try:
        fd = open_private(path, os.O_WRONLY | os.O_EXCL)
    except FileNotFoundError:
        raise _aborted() from None
    size = 0
    try:
        try:
            # Straight to the file descriptor: the blocks are whole already, and a
            # buffered file object would cost more than the write of a small one.
            for block in blocks:
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view) :]
                size += len(block)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _unlink(path)
        raise
    return size


def _unlink(path: str | Path) -> None:
    """Remove the file ``path`` if it is there."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _append(path: Path, blocks: Iterable[bytes]) -> None:
    """Append ``blocks`` to the file ``path`` and fsync it."""
    with path.open("ab") as handle:
        for block in blocks:
            handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())


def _concatenate(files: Iterable[Path]) -> Iterator[bytes]:
    for path in files:
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise _aborted() from None
        yield from read_blocks(handle, 0, None)


def read_blocks(handle: BinaryIO, offset: int, length: int | None) -> Iterator[bytes]:
    """Yield ``length`` bytes (or all) of ``handle`` from ``offset`` in blocks of at most
    :data:`BLOCK`, closing it at the end."""
    with handle:
        if offset:
            handle.seek(offset)
        remaining = length
        while remaining is None or remaining > 0:
            block = handle.read(BLOCK if remaining is None else min(BLOCK, remaining))
            if not block:
                return
            if remaining is not None:
                remaining -= len(block)
            yield block
