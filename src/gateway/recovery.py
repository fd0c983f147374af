"""Instance liveness and crash recovery.

Every server process registers an :class:`Instance` row, with a random id, and
refreshes its heartbeat. Reservations belong to an instance; when an instance is dead
its reservations are released and what their writes left in the stores freed
(:mod:`gateway.strays`).

An instance is dead when its heartbeat is older than the lease, or at once when it
ran on this *node* and no longer holds its lock file. A node is a data folder: its
``node.id`` file names it, and each instance holds an exclusive ``flock`` on
``instances/<id>.lock`` in it for as long as it runs, which the kernel drops when the
process dies however it dies. So a restarted node reclaims a crashed process's work
at once, and nothing is guessed from host names or process ids (which repeat across
containers). Other nodes' instances die by their lease.

Resumable uploads and multipart uploads keep their reservation across restarts until
the upload expires.
Blobs no file references any more are collected. Both run at start-up and then
periodically, so a process killed mid-write leaves no visible partial file and no
leaked quota. Each node reclaims its own dead processes' work; the rest of a pass
runs on one node at a time, the holder of the ``recovery`` lease (:mod:`gateway.leases`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import and_, delete, or_, select, update

from gateway.clock import Clock
from gateway.db import Database
from gateway.leases import Leases
from gateway.models import Blob, Instance, Reservation
from gateway.objectstore import ObjectStore
from gateway.private import open_private, private_folder
from gateway.strays import Sighting, drop_unreferenced, release_write, sweep_uploads

log = logging.getLogger("lockr.recovery")

LEASE_SECONDS = 60.0
HEARTBEAT_SECONDS = 15.0
RECOVERY_LEASE = "recovery"


class Recovery:
    """Registers this process and cleans up after dead ones."""

    def __init__(
        self,
        db: Database,
        stores: dict[str, ObjectStore],
        clock: Clock,
        *,
        node_folder: Path,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self.db = db
        self.stores = stores
        self.clock = clock
        self.lease = lease
        self.instance_id = secrets.token_hex(16)
        self.leases = Leases(db, clock)
        self.locks = node_folder / "instances"
        self.node = _node_id(node_folder)
        self._lock_fd: int | None = None
        self.tasks: list[Callable[[], object]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sightings: dict[Sighting, float] = {}

    def register(self) -> None:
        private_folder(self.locks)
        fd = open_private(self.locks / f"{self.instance_id}.lock", os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock_fd = fd
        now = self.clock()
        with self.db.write() as session:
            session.add(
                Instance(
                    id=self.instance_id,
                    node=self.node,
                    pid=os.getpid(),
                    started_at=now,
                    heartbeat_at=now,
                )
            )

    def heartbeat(self) -> None:
        with self.db.write() as session:
            session.execute(
                update(Instance)
                .where(Instance.id == self.instance_id)
                .values(heartbeat_at=self.clock())
            )

    def unregister(self) -> None:
        """Forget this instance after a clean stop (its writes have finished or aborted)."""
        self.reclaim(only=[self.instance_id])
        with self.db.write() as session:
            session.execute(delete(Instance).where(Instance.id == self.instance_id))
        if self._lock_fd is not None:
            (self.locks / f"{self.instance_id}.lock").unlink(missing_ok=True)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _is_dead(self, instance: Instance, now: float) -> bool:
        if instance.id == self.instance_id:
            return False
        if instance.heartbeat_at < now - self.lease:
            return True
        return instance.node == self.node and not self._holds_lock(instance.id)

    def _holds_lock(self, instance_id: str) -> bool:
        """Whether the instance ``instance_id`` of this node still holds its lock file."""
        path = self.locks / f"{instance_id}.lock"
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        path.unlink(missing_ok=True)
        return False

    def dead_instances(self, *, this_node: bool = False) -> list[str]:
        """Dead instances (of this node only, with ``this_node``)."""
        now = self.clock()
        query = select(Instance)
        if this_node:
            query = query.where(Instance.node == self.node)
        with self.db.read() as session:
            instances = session.scalars(query).all()
        return [i.id for i in instances if self._is_dead(i, now)]

    def reclaim(self, *, only: list[str] | None = None) -> int:
        """Release the reservations of dead instances (or of ``only`` these) and of
        expired uploads (resumable sessions, multipart uploads: the latter's rows go
        with their reservation), and discard their blobs unless a committed file
        refers to them. Returns how many were released."""
        instance_ids = self.dead_instances() if only is None else only
        held_by_dead = and_(
            Reservation.instance_id.in_(instance_ids), Reservation.expires_at.is_(None)
        )
        expired = and_(Reservation.expires_at.is_not(None), Reservation.expires_at < self.clock())
        condition = held_by_dead if only is not None else or_(held_by_dead, expired)
        with self.db.read() as session:
            reservations = session.scalars(select(Reservation).where(condition)).all()
        for reservation in reservations:
            released = release_write(self.db, self.stores, reservation.id)
            if released is not None:
                log.info("released %d bytes held by an interrupted upload", released)
        if instance_ids:
            with self.db.write() as session:
                session.execute(
                    delete(Instance).where(
                        Instance.id.in_(instance_ids), Instance.id != self.instance_id
                    )
                )
        return len(reservations)

    def collect_garbage(self) -> int:
        """Delete blobs no file references. Returns how many were deleted."""
        with self.db.read() as session:
            orphans = list(session.scalars(select(Blob.id).where(Blob.refcount <= 0)))
        return drop_unreferenced(self.db, self.stores, orphans)

    def run_once(self) -> None:
        """One recovery pass. Every node reclaims the work of its own dead processes at
        once (only it can see their locks); the rest (instances whose lease ran out,
        expired uploads, ``tasks``, orphan blobs) runs on one node at a time, the one
        holding the recovery lease."""
        if not self.leases.acquire(RECOVERY_LEASE, self.instance_id, self.lease):
            self.reclaim(only=self.dead_instances(this_node=True))
            return
        self.reclaim()
        for task in self.tasks:
            task()
        self.collect_garbage()
        sweep_uploads(self.db, self.stores, self._sightings, self.clock())

    def start(self) -> None:
        """Register, recover once, and keep a heartbeat and periodic recovery running."""
        self.register()
        self.run_once()
        self._thread = threading.Thread(target=self._loop, name="lockr-recovery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.unregister()
        self.leases.release(RECOVERY_LEASE, self.instance_id)

    def _loop(self) -> None:
        while not self._stop.wait(min(HEARTBEAT_SECONDS, self.lease / 4)):
            try:
                self.heartbeat()
                self.run_once()
            except Exception:  # pragma: no cover - logged, retried at the next beat
                log.exception("recovery pass failed")


def _node_id(folder: Path) -> str:
    """The id of the node whose data folder is ``folder``, made on first use."""
    path = folder / "node.id"
    private_folder(folder)
    try:
        fd = open_private(path, os.O_WRONLY | os.O_EXCL)
    except FileExistsError:
        return path.read_text().strip()
    node = secrets.token_hex(16)
    try:
        os.write(fd, node.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return node
