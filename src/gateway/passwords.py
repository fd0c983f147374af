"""Password hashing with argon2id (argon2-cffi), rehashed when the configured cost rises."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION

from gateway.errors import BadRequest

MIN_PASSWORD = 8
MAX_PASSWORD = 1024


class Passwords:
    """Hashes and checks passwords with the configured argon2id cost."""

    def __init__(self, *, time_cost: int = 3, memory_cost: int = 65536, parallelism: int = 4):
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=Type.ID,
        )
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
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        """True if ``password`` matches; never raises for a wrong password or bad hash."""
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
