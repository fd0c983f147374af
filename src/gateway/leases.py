"""Named leases in the database: work that one node at a time should do.

A lease is a row naming its holder and when it runs out. :meth:`Leases.acquire` is
one conditional upsert (SQLite and PostgreSQL both have ``INSERT … ON CONFLICT DO
UPDATE … WHERE``): it takes a lease that is free or has run out, or extends one the
caller holds, and tells whether the caller holds it now. So however many nodes ask at
once, one holds it; if that node dies, another takes over once the lease runs out.
"""

from __future__ import annotations

from sqlalchemy import delete, or_

from gateway.clock import Clock
from gateway.db import Database
from gateway.models import Lease


class Leases:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def acquire(self, name: str, holder: str, seconds: float) -> bool:
        """Take or extend the lease ``name`` for ``seconds``; whether ``holder`` has it."""
        now = self.clock()
        insert = self.db.upsert(Lease).values(name=name, holder=holder, expires_at=now + seconds)
        statement = insert.on_conflict_do_update(
            index_elements=[Lease.name],
            set_={"holder": insert.excluded.holder, "expires_at": insert.excluded.expires_at},
            where=or_(Lease.holder == holder, Lease.expires_at < now),
        ).returning(Lease.holder)
        with self.db.write() as session:
            taken: str | None = session.scalar(statement)
        return taken == holder

    def release(self, name: str, holder: str) -> None:
        """Give the lease up at once (a clean stop), if ``holder`` has it."""
        with self.db.write() as session:
            session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
