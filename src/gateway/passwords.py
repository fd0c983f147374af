"""Password hashing with argon2id (argon2-cffi), rehashed when the parameters change."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

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
    def check_policy(password: object) -> str:
        """A usable new password: a string of 8 to 1024 characters."""
        if not isinstance(password, str):
            raise BadRequest("password must be a string")
        if len(password) < MIN_PASSWORD:
            raise BadRequest(f"password must be at least {MIN_PASSWORD} characters")
        if len(password) > MAX_PASSWORD:
            raise BadRequest(f"password must be at most {MAX_PASSWORD} characters")
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
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def burn(self, password: str) -> None:
        """Spend the time of one verification, for an unknown user (so timing tells
        nothing about which accounts exist)."""
        if self._dummy is None:
            self._dummy = self.hash(secrets.token_urlsafe(16))
        self.verify(self._dummy, password)
