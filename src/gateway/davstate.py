"""WebDAV locks and dead properties in the database, so every server process sees the
same ones (a lock taken through one process blocks writes through another) and they
survive restarts. The WebDAV front adapts these to wsgidav's interfaces; the SQL
stays here.

URLs are percent-encoded paths of up to 4,096 bytes, several times longer encoded:
more than a PostgreSQL index entry may hold. So rows are found by ``home`` (the
account's name, the URL's first component: every lock and property lives inside one
home) and properties by the SHA-256 of their URL; prefix matches are done on the
few rows of one home."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from gateway.clock import Clock
from gateway.db import Database
from gateway.errors import BadRequest, QuotaExceeded, TooLarge
from gateway.models import DavLock, DavProperty


def _row_to_lock(row: DavLock) -> dict[str, Any]:
    lock: dict[str, Any] = json.loads(row.data)
    lock["owner"] = lock.get("owner", "").encode("utf-8")
    lock.update(token=row.token, root=row.root, expire=row.expire)
    return lock


def home_of(url: str) -> str:
    """The home a WebDAV URL lies in: its first path component."""
    return url.lstrip("/").split("/", 1)[0]


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def _at_or_below(url: str, root: str) -> bool:
    return url == root or url.startswith(root.rstrip("/") + "/")


# Asked once per WebDAV request: built once.
_ANY_LOCK = select(DavLock.token).where(DavLock.home == bindparam("home")).limit(1)
_ANY_STATE = select(literal(1)).where(
    or_(
        exists().where(DavLock.home == bindparam("home")),
        exists().where(DavProperty.home == bindparam("home")),
    )
)


class DavLocks:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._any_state = db.prepare(_ANY_STATE)

    def get(self, token: str) -> dict[str, Any] | None:
        """The lock, or None when unknown or expired (an expired one is removed)."""
        with self.db.read() as session:
            row = session.get(DavLock, token)
            lock = None if row is None else _row_to_lock(row)
        if lock is not None and 0 <= lock["expire"] < self.clock():
            self.delete(token)
            return None
        return lock

    def create(self, lock: dict[str, Any]) -> None:
        data = {k: v for k, v in lock.items() if k not in ("token", "root", "expire")}
        owner = data.get("owner", b"")
        data["owner"] = owner.decode("utf-8") if isinstance(owner, bytes) else str(owner)
        with self.db.write() as session:
            session.add(
                DavLock(
                    token=lock["token"],
                    root=lock["root"],
                    home=home_of(lock["root"]),
                    data=json.dumps(data),
                    expire=lock["expire"],
                )
            )

    def refresh(self, token: str, *, timeout: float, expire: float) -> dict[str, Any] | None:
        with self.db.write() as session:
            row = session.get(DavLock, token)
            if row is None:
                return None
            data = json.loads(row.data)
            data["timeout"] = timeout
            row.data = json.dumps(data)
            row.expire = expire
            session.flush()
            return _row_to_lock(row)

    def delete(self, token: str) -> bool:
        with self.db.write() as session:
            gone: int = session.execute(delete(DavLock).where(DavLock.token == token)).rowcount  # type: ignore[attr-defined]
        return gone > 0

    def any_in_home(self, home: str) -> bool:
        """Whether any lock (live or expired) is held inside the home ``/<home>``."""
        with self.db.read() as session:
            found = session.connection().execute(_ANY_LOCK, {"home": home}).first()
        return found is not None

    def home_is_plain(self, home: str) -> bool:
        """Whether the home ``/<home>`` holds no lock (live or expired) and no dead
        property: then no request inside it needs either, and the WebDAV front may
        answer it without wsgidav. One indexed query."""
        return self._any_state.first({"home": home}) is None

    def at(self, root: str, *, include_root: bool, include_children: bool) -> list[dict[str, Any]]:
        """Live locks rooted at ``root`` and/or below it."""
        if not (include_root or include_children):
            return []
        now = self.clock()
        with self.db.read() as session:
            rows = session.scalars(select(DavLock).where(DavLock.home == home_of(root))).all()
            locks = [
                _row_to_lock(row)
                for row in rows
                if (include_root and row.root == root)
                or (include_children and row.root != root and _at_or_below(row.root, root))
            ]
        live = [lock for lock in locks if lock["expire"] < 0 or lock["expire"] >= now]
        for lock in locks:
            if lock not in live:
                self.delete(lock["token"])
        return live

    def clear(self) -> None:
        with self.db.write() as session:
            session.execute(delete(DavLock))

    def purge_expired(self) -> None:
        with self.db.write() as session:
            session.execute(
                delete(DavLock).where(DavLock.expire >= 0, DavLock.expire < self.clock())
            )


MAX_PROPERTY_BYTES = 64 * 1024
MAX_PROPERTY_NAME = 500
"""Characters; with the URL's key, a primary-key entry PostgreSQL can index."""
MAX_PROPERTIES = 100

_PROPERTY_COUNT = (
    select(func.count())
    .select_from(DavProperty)
    .where(DavProperty.url_key == bindparam("key"), DavProperty.name != bindparam("name"))
)


class DavProperties:
    """Dead properties: at most :data:`MAX_PROPERTIES` per resource, each value at most
    :data:`MAX_PROPERTY_BYTES` and each name at most :data:`MAX_PROPERTY_NAME`
    characters, so PROPPATCH cannot grow the database without bound."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def check(self, url: str, name: str, value: bytes) -> None:
        """Raise what :meth:`set` would raise for these arguments, storing nothing."""
        with self.db.read() as session:
            self._check(session, url, name, value)

    def _check(self, session: Session, url: str, name: str, value: bytes) -> None:
        if len(name) > MAX_PROPERTY_NAME:
            raise BadRequest(f"a property name is at most {MAX_PROPERTY_NAME} characters")
        if len(value) > MAX_PROPERTY_BYTES:
            raise TooLarge(f"a property value is at most {MAX_PROPERTY_BYTES} bytes")
        others = session.connection().execute(_PROPERTY_COUNT, {"key": url_key(url), "name": name})
        if int(others.scalar_one()) >= MAX_PROPERTIES:
            raise QuotaExceeded(f"a resource has at most {MAX_PROPERTIES} dead properties")

    def names(self, url: str) -> list[str]:
        with self.db.read() as session:
            return list(
                session.scalars(
                    select(DavProperty.name)
                    .where(DavProperty.url_key == url_key(url))
                    .order_by(DavProperty.name)
                )
            )

    def get(self, url: str, name: str) -> bytes | None:
        with self.db.read() as session:
            row = session.get(DavProperty, (url_key(url), name))
            return None if row is None else row.value

    def set(self, url: str, name: str, value: bytes) -> None:
        with self.db.write() as session:
            self._check(session, url, name, value)
            row = session.get(DavProperty, (url_key(url), name))
            if row is None:
                session.add(_property(url, name, value))
            else:
                row.value = value

    def remove(self, url: str, name: str) -> None:
        with self.db.write() as session:
            session.execute(
                delete(DavProperty).where(
                    DavProperty.url_key == url_key(url), DavProperty.name == name
                )
            )

    def _tree(self, session: Session, url: str) -> list[DavProperty]:
        """The rows of ``url`` and of everything below it."""
        rows = session.scalars(select(DavProperty).where(DavProperty.home == home_of(url)))
        return [row for row in rows if _at_or_below(row.url, url)]

    def remove_tree(self, url: str) -> None:
        """Properties of ``url`` and of everything below it."""
        with self.db.write() as session:
            for row in self._tree(session, url):
                session.delete(row)

    def copy(self, src: str, dst: str, *, with_children: bool = False) -> None:
        """Properties of ``src`` (and with ``with_children`` of everything below it)
        onto the same names under ``dst``, replacing what ``dst`` itself had."""
        with self.db.write() as session:
            rows = [
                (row.url, row.name, row.value)
                for row in self._tree(session, src)
                if with_children or row.url == src
            ]
            session.execute(delete(DavProperty).where(DavProperty.url_key == url_key(dst)))
            session.flush()
            for url, name, value in rows:
                session.merge(_property(_moved(url, src, dst), name, value))

    def move(self, src: str, dst: str, *, with_children: bool) -> None:
        with self.db.write() as session:
            session.execute(delete(DavProperty).where(DavProperty.url_key == url_key(dst)))
            moving = [row for row in self._tree(session, src) if with_children or row.url == src]
            for row in moving:
                session.delete(row)
            session.flush()
            for row in moving:
                session.merge(_property(_moved(row.url, src, dst), row.name, row.value))


def _property(url: str, name: str, value: bytes) -> DavProperty:
    return DavProperty(url_key=url_key(url), name=name, url=url, home=home_of(url), value=value)


def _moved(url: str, src: str, dst: str) -> str:
    """``url`` (``src`` or below it) at the same place under ``dst``."""
    if url == src:
        return dst
    return dst.rstrip("/") + "/" + url[len(src.rstrip("/") + "/") :]
