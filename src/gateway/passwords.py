"""Password hashing with argon2id (argon2-cffi), rehashed when the configured cost rises.

Each argon2 computation takes ``memory_cost`` KiB (64 MiB by default) and a core's worth
of time, so they pass a :class:`Gate`: a few run at once, a few more wait briefly for
a slot, and the rest are refused with :class:`~gateway.errors.Busy` (503) instead of
piling up until the server runs out of memory.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION

from gateway.errors import BadRequest, Busy

MIN_PASSWORD = 8
MAX_PASSWORD = 1024


class Gate:
    """At most ``slots`` expensive computations at once in this process. A caller
    that finds them all taken waits for one, for at most ``wait`` seconds, if fewer
    than ``queue`` callers are waiting already; otherwise, or when the wait runs
    out, it gets :class:`Busy` at once, with a Retry-After of about ``wait``."""

    def __init__(self, *, slots: int, queue: int, wait: float) -> None:
        self.slots = slots
        self.queue = queue
        self.wait = wait
        self._free = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """How many callers are waiting for a slot now."""
        return self._waiting

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the ``with`` block, or raise :class:`Busy`."""
        if not self._free.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.queue:
                    raise self._busy()
                self._waiting += 1
            try:
                acquired = self._free.acquire(timeout=self.wait)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not acquired:
                raise self._busy()
        try:
            yield
        finally:
            self._free.release()

    def _busy(self) -> Busy:
        return Busy(
            "the server is busy checking passwords; try again shortly",
            retry_after=max(1, math.ceil(self.wait)),
        )


def gated(gate: Gate | None) -> AbstractContextManager[None]:
    """A slot of ``gate``; nothing to wait for without one."""
    return nullcontext() if gate is None else gate.slot()


class Passwords:
    """Hashes and checks passwords with the configured argon2id cost. With a ``gate``
    (the core always gives one), every hash and verification, :meth:`burn` included,
    passes it and MAY raise :class:`Busy`."""

    def __init__(
        self,
        *,
        time_cost: int = 3,
        memory_cost: int = 65536,
        parallelism: int = 4,
        gate: Gate | None = None,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=Type.ID,
        )
        self.gate = gate
        self._dummy: str | None = None

    @staticmethod
    def check_policy(password: object, *, name: str = "password") -> str:
        """A usable new password: a string of 8 to 1024 characters. ``name`` is what
        the message calls it."""
        if not isinstance(password, str):
            raise BadRequest(f"{name} must be a string")
        if len(password) < MIN_PASSWORD:
            raise BadRequest(f"{name} must be at least {MIN_PASSWORD} characters")
        if len(password) > MAX_PASSWORD:
            raise BadRequest(f"{name} must be at most {MAX_PASSWORD} characters")
        return password

    def hash(self, password: str) -> str:
        with gated(self.gate):
            return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        """True if ``password`` matches; never raises for a wrong password or bad hash
        (only :class:`Busy`)."""
        with gated(self.gate):
            try:
                return self._hasher.verify(stored_hash, password)
            except (VerificationError, InvalidHashError):
                return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when ``stored_hash`` is cheaper than the configured cost (or is not an
        argon2id hash). A costlier hash is kept: two processes configured differently
        (during an upgrade, say) must not rewrite each other's hashes on every login."""
        try:
            stored = extract_parameters(stored_hash)
        except InvalidHashError:
            return True
        ours = self._hasher
        return (
            stored.type is not Type.ID
            or stored.version != ARGON2_VERSION
            or stored.time_cost < ours.time_cost
            or stored.memory_cost < ours.memory_cost
            or stored.parallelism < ours.parallelism
            or stored.hash_len < ours.hash_len
            or stored.salt_len < ours.salt_len
        )

    def burn(self, password: str) -> None:
        """Spend the time of one verification, for an unknown user (so timing tells
        nothing about which accounts exist)."""
        if self._dummy is None:
            self._dummy = self.hash(secrets.token_urlsafe(16))
        self.verify(self._dummy, password)
