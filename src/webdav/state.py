"""wsgidav's lock storage and property manager, backed by the core's database tables
(:mod:`gateway.davstate`), so locks and dead properties are shared by every server
process and survive restarts."""

from __future__ import annotations

import threading
from typing import Any

from wsgidav.lock_man.lock_manager import generate_lock_token, normalize_lock_root, validate_lock
from wsgidav.lock_man.lock_storage import LockStorageDict

from gateway.davstate import DavLocks, DavProperties
from webdav.errors import translated


class _RequestScope(threading.local):
    """What one request (one server thread at a time) knows about its caller's locks."""

    home: str | None = None
    lock_free: bool | None = None


class DbLockStorage:
    """The interface of wsgidav's ``LockStorageDict``, over :class:`DavLocks`.

    wsgidav asks for the locks of a URL and each of its parents several times per
    write. Most accounts hold no lock at all, so each request first asks once
    whether the caller's home has any (:meth:`begin_request`) and, if not, answers
    those lookups without the database until a lock is created."""

    LOCK_TIME_OUT_DEFAULT = LockStorageDict.LOCK_TIME_OUT_DEFAULT
    LOCK_TIME_OUT_MAX = LockStorageDict.LOCK_TIME_OUT_MAX

    def __init__(self, locks: DavLocks) -> None:
        self.locks = locks
        self._scope = _RequestScope()

    def begin_request(self, username: str) -> None:
        """Start a request of the account ``username`` on this thread: lookups of
        the locks at or below its home, or on the root itself, may be answered from
        one query."""
        self._scope.home = f"/{username}"
        self._scope.lock_free = None

    def _lock_free(self, root: str, *, include_children: bool) -> bool:
        scope = self._scope
        home = scope.home
        if home is None:
            return False
        in_home = root == home or root.startswith(home + "/")
        the_root_alone = root == "/" and not include_children
        if not (in_home or the_root_alone):
            return False
        if scope.lock_free is None:
            scope.lock_free = not self.locks.any_in_home(home.lstrip("/"))
        return scope.lock_free

    def __repr__(self) -> str:
        return "DbLockStorage()"

    def open(self) -> None:
        self.locks.purge_expired()

    def close(self) -> None:
        pass

    def cleanup(self) -> None:
        self.locks.purge_expired()

    def clear(self) -> None:
        self.locks.clear()

    def get(self, token: str) -> dict[str, Any] | None:
        return self.locks.get(token)

    def _timeout(self, timeout: Any) -> float:
        value = self.LOCK_TIME_OUT_DEFAULT if timeout is None else float(timeout)
        if value < 0 or value > self.LOCK_TIME_OUT_MAX:
            value = self.LOCK_TIME_OUT_MAX
        return value

    def create(self, path: str, lock: dict[str, Any]) -> dict[str, Any]:
        assert lock.get("token") is None and lock.get("expire") is None
        lock["root"] = normalize_lock_root(path)
        lock["timeout"] = self._timeout(lock.get("timeout"))
        lock["expire"] = self.locks.clock() + lock["timeout"]
        validate_lock(lock)
        lock["token"] = generate_lock_token()
        self._scope.lock_free = None
        self.locks.create(lock)
        return lock

    def refresh(self, token: str, *, timeout: Any) -> dict[str, Any]:
        value = self._timeout(timeout)
        lock = self.locks.refresh(token, timeout=value, expire=self.locks.clock() + value)
        if lock is None:
            raise ValueError("Lock must exist")
        return lock

    def delete(self, token: str) -> bool:
        return self.locks.delete(token)

    def get_lock_list(
        self, path: str, *, include_root: bool, include_children: bool, token_only: bool
    ) -> list[Any]:
        root = normalize_lock_root(path)
        if self._lock_free(root, include_children=include_children):
            return []
        locks = self.locks.at(root, include_root=include_root, include_children=include_children)
        return [lock["token"] for lock in locks] if token_only else locks


class DbPropertyManager:
    """The interface of wsgidav's ``PropertyManager``, over :class:`DavProperties`."""

    def __init__(self, properties: DavProperties) -> None:
        self.properties = properties

    def __repr__(self) -> str:
        return "DbPropertyManager()"

    def get_properties(self, norm_url: str, environ: Any = None) -> list[str]:
        return self.properties.names(norm_url)

    def get_property(self, norm_url: str, name: str, environ: Any = None) -> bytes | None:
        return self.properties.get(norm_url, name)

    def write_property(
        self,
        norm_url: str,
        name: str,
        property_value: bytes,
        dry_run: bool = False,
        environ: Any = None,
    ) -> None:
        with translated():
            if dry_run:
                self.properties.check(norm_url, name, property_value)
            else:
                self.properties.set(norm_url, name, property_value)

    def remove_property(
        self, norm_url: str, name: str, dry_run: bool = False, environ: Any = None
    ) -> None:
        if not dry_run:
            self.properties.remove(norm_url, name)

    def remove_properties(self, norm_url: str, environ: Any = None) -> None:
        self.properties.remove_tree(norm_url)

    def copy_properties(
        self, src_url: str, dest_url: str, environ: Any = None, *, with_children: bool = False
    ) -> None:
        self.properties.copy(src_url, dest_url, with_children=with_children)

    def move_properties(
        self, src_url: str, dest_url: str, with_children: bool, environ: Any = None
    ) -> None:
        self.properties.move(src_url, dest_url, with_children=with_children)
