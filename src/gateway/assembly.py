"""Multipart uploads assembled while their parts arrive: :class:`Assemblies`, one per
process (:class:`gateway.multipart.MultipartUploads` makes it).

Completing an upload makes its object from the parts and hashes it (MD5 and SHA-1,
as every file has); for a large object that is long, and the client waits. Clients
send parts roughly in order, so a worker thread per upload does most of it as they
arrive: it takes the parts this process stored, 1, 2, 3, ... for as long as they follow
one another, into the store's :class:`gateway.objectstore.Assembly` of the upload,
hashing their bytes as they are copied, and keeps the hash states after each. A
completion whose part list begins with parts taken stops the worker, takes over the
assembly and the hashes at the end of those parts, takes the rest itself and has the
store rename the assembly into place (:meth:`Assemblies.take`).

It is only ever a shortcut, never trusted beyond what it can show:

- everything is keyed by the store's token of each part (``Part.etag``), which names
  bytes that never change: a part stored again has a new token, so a completion
  listing the new one does not match the old one taken; the list is compared part by
  part (number, size, token), and only the positions that match are used;
- a completion listing fewer parts, or a part replaced after it was taken, rewinds
  the assembly to the last position that matches, if the hashes there are still
  kept (the last :data:`WINDOW` positions); otherwise it finds nothing to take over;
- nothing of it is persisted: a completion in another process, or after a restart,
  finds nothing here and takes the full path (assemble, read back, hash), as does one
  whose upload this process did not see begin (parts sent to several processes), an
  upload whose part 1 never came, or one whose store cannot read parts back (S3);
- no bytes are held: a worker reads a part back a block at a time, into the one
  buffer of the assembly (the part was just written, so its pages are likely still
  cached). The assembly's scratch file is the store's, inside the upload, so
  completing or aborting the upload removes it.

A worker hashes MD5 and SHA-1 on its own thread, one after the other: it runs beside
the parts arriving, and a second thread would only add hand-overs; what is left when
the completion comes is hashed on two (:class:`gateway.feed.Hashes`), as the client
waits for it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.errors import BadRequest, LockrError, NotFound
from gateway.objectstore import Assembly, ObjectStore, Part

if TYPE_CHECKING:
    from hashlib import _Hash

log = logging.getLogger("lockr")

WINDOW = 32
"""Positions whose hash states are kept, to rewind to."""
MAX_UPLOADS = 16
"""Uploads assembled at once in one process; more are completed the full way."""
IDLE_SECONDS = 900.0
"""An upload that no part reached for this long is no longer assembled here."""


@dataclass(frozen=True)
class Prefix:
    """What a completion takes over (:meth:`Assemblies.take`): an assembly holding the
    first ``count`` parts of its list (one or more), and the MD5 and SHA-1 of their
    bytes, to be continued."""

    assembly: Assembly
    count: int
    md5: _Hash
    sha1: _Hash


class _Stopped(Exception):
    """Raised inside a worker's hashing when a completion takes its upload over."""


class _TooFarBack(Exception):
    """A part stored again lies before the positions whose hashes are kept."""


class _Upload:
    """One upload being assembled. ``arrived`` holds the parts stored and not taken
    yet (or stored again after being taken); ``hashes`` the MD5 and SHA-1 after the
    first ``count`` parts taken, for the last positions. The assembly and the hashes
    are the worker's while it runs, and whoever stopped it after."""

    def __init__(self, assembly: Assembly, window: int) -> None:
        self.assembly = assembly
        self.lock = threading.Lock()
        self.arrived: dict[int, Part] = {}
        self.hashes: deque[tuple[int, _Hash, _Hash]] = deque(maxlen=window + 1)
        self.hashes.append((0, hashlib.md5(), hashlib.sha1()))
        self.stopped = False
        self.worker: threading.Thread | None = None
        self.touched = time.monotonic()


class Assemblies:
    """The uploads this process assembles while their parts arrive; see the module's
    docstring. Every method is safe from any thread and none raises for the sake of
    this shortcut: at worst an upload is completed the full way."""

    def __init__(self, *, window: int = WINDOW) -> None:
        self._window = window
        self._lock = threading.Lock()
        self._uploads: dict[str, _Upload] = {}

    def stored(
        self, upload_id: str, store: ObjectStore, key: str, multipart_id: str, part: Part
    ) -> None:
        """Part ``part`` of the upload ``upload_id`` (the store's upload
        ``multipart_id`` of ``key``) was stored and recorded: take it when its turn
        comes."""
        self._expire()
        with self._lock:
            upload = self._uploads.get(upload_id)
            if upload is None:
                if len(self._uploads) >= MAX_UPLOADS:
                    return
                try:
                    assembly = store.assembly(key, multipart_id)
                except (LockrError, OSError):
                    return
                if assembly is None:
                    return
                upload = self._uploads[upload_id] = _Upload(assembly, self._window)
            upload.touched = time.monotonic()
        with upload.lock:
            if upload.stopped:
                return
            upload.arrived[part.number] = part
            if upload.worker is not None:
                return
            worker = threading.Thread(
                target=self._work, args=(upload_id, upload), name="lockr-assembly", daemon=True
            )
            try:
                worker.start()
            except RuntimeError:  # no thread to be had: no shortcut either
                return
            upload.worker = worker

    def take(self, upload_id: str, parts: Sequence[Part]) -> Prefix | None:
        """Stop assembling the upload and hand what matches the start of ``parts``
        (the completion's list, as recorded) over to the caller, who then owns the
        assembly (and MUST complete or discard it); ``None`` if nothing does."""
        upload = self._pop(upload_id)
        if upload is None:
            return None
        taken = upload.assembly.parts
        count = 0
        while count < min(len(taken), len(parts)) and taken[count] == parts[count]:
            count += 1
        state = next((kept for kept in upload.hashes if kept[0] == count), None)
        if count == 0 or state is None:
            upload.assembly.discard()
            return None
        try:
            upload.assembly.rewind(count)
        except (LockrError, OSError):
            upload.assembly.discard()
            return None
        return Prefix(upload.assembly, count, state[1].copy(), state[2].copy())

    def forget(self, upload_id: str) -> None:
        """Stop assembling the upload (aborted) and drop what was assembled."""
        upload = self._pop(upload_id)
        if upload is not None:
            upload.assembly.discard()

    def close(self) -> None:
        """Stop every worker and drop every assembly (the process ends)."""
        with self._lock:
            ids = list(self._uploads)
        for upload_id in ids:
            self.forget(upload_id)

    def _pop(self, upload_id: str) -> _Upload | None:
        """Take the upload out, its worker stopped (waited for: it stops within a
        block)."""
        with self._lock:
            upload = self._uploads.pop(upload_id, None)
        if upload is None:
            return None
        with upload.lock:
            upload.stopped = True
            worker = upload.worker
        if worker is not None and worker is not threading.current_thread():
            worker.join()
        return upload

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            idle = [key for key, up in self._uploads.items() if now - up.touched > IDLE_SECONDS]
        for upload_id in idle:
            self.forget(upload_id)

    # -- the worker ----------------------------------------------------------------------

    def _work(self, upload_id: str, upload: _Upload) -> None:
        try:
            while (part := self._next(upload)) is not None:
                self._take(upload, part)
            return
        except _Stopped:
            pass
        except (NotFound, _TooFarBack):
            self.forget(upload_id)  # the upload is gone, or cannot be rewound
        except Exception:
            log.exception("assembling upload %s failed: it completes the full way", upload_id)
            self.forget(upload_id)
        with upload.lock:
            upload.worker = None

    def _next(self, upload: _Upload) -> Part | None:
        """The next part to take, after rewinding past any taken part stored again.
        With none yet (or stopped), the worker ends, in the same breath as it says so,
        so that a part stored meanwhile starts another."""
        while True:
            with upload.lock:
                rewind = None
                if not upload.stopped:
                    taken = upload.assembly.parts
                    again = sorted(
                        number
                        for number, part in upload.arrived.items()
                        if number <= len(taken) and part != taken[number - 1]
                    )
                    for number in [number for number in upload.arrived if number <= len(taken)]:
                        if number not in again:
                            del upload.arrived[number]  # told twice of a part taken
                    if again:
                        rewind = again[0] - 1
                    elif (part := upload.arrived.pop(len(taken) + 1, None)) is not None:
                        return part
                if rewind is None:
                    upload.worker = None
                    return None
            self._rewind(upload, rewind)

    def _rewind(self, upload: _Upload, count: int) -> None:
        """Back to the first ``count`` parts taken; those after are to be taken again
        (unless stored again meanwhile)."""
        while upload.hashes and upload.hashes[-1][0] > count:
            upload.hashes.pop()
        if not upload.hashes:
            raise _TooFarBack
        with upload.lock:
            for part in upload.assembly.parts[count:]:
                upload.arrived.setdefault(part.number, part)
        upload.assembly.rewind(count)

    def _take(self, upload: _Upload, part: Part) -> None:
        count, md5, sha1 = upload.hashes[-1]
        md5, sha1 = md5.copy(), sha1.copy()

        def each(block: memoryview) -> None:
            if upload.stopped:
                raise _Stopped
            md5.update(block)
            sha1.update(block)

        try:
            upload.assembly.append(part, each)
        except BadRequest:
            return  # stored again meanwhile: the new one arrives in turn
        upload.hashes.append((count + 1, md5, sha1))
