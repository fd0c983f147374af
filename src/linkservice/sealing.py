"""Sealing a link's secret (its target URL or secret memo) under its password.

The key is derived from the password with argon2id and a random salt; the secret is
encrypted with AES-256-GCM under a random nonce, with the link's id as associated
data (so a ciphertext copied onto another link does not open). The database keeps
only the salt, the nonce and the ciphertext: without the password there is nothing
to decrypt with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.passwords import Gate, gated

SALT_BYTES = 16
NONCE_BYTES = 12
KEY_BYTES = 32


@dataclass(frozen=True)
class Sealed:
    salt: bytes
    nonce: bytes
    ciphertext: bytes


class Unsealable(Exception):
    """The password or the associated data does not open this ciphertext."""


@dataclass(frozen=True)
class KeyDerivation:
    """argon2id cost of the key derivation (the same knobs as account passwords), and
    the gate that bounds argon2 work in this process (shared with the passwords)."""

    time_cost: int = 3
    memory_cost: int = 65536
    parallelism: int = 4
    gate: Gate | None = field(default=None, compare=False)

    def key(self, password: str, salt: bytes) -> bytes:
        with gated(self.gate):
            return hash_secret_raw(
                secret=password.encode("utf-8"),
                salt=salt,
                time_cost=self.time_cost,
                memory_cost=self.memory_cost,
                parallelism=self.parallelism,
                hash_len=KEY_BYTES,
                type=Type.ID,
            )

    def seal(self, password: str, secret: str, *, associated: bytes) -> Sealed:
        salt = os.urandom(SALT_BYTES)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self.key(password, salt)).encrypt(
            nonce, secret.encode("utf-8"), associated
        )
        return Sealed(salt, nonce, ciphertext)

    def unseal(self, password: str, sealed: Sealed, *, associated: bytes) -> str:
        """The secret; raises :class:`Unsealable` for a wrong password or data."""
        try:
            plain = AESGCM(self.key(password, sealed.salt)).decrypt(
                sealed.nonce, sealed.ciphertext, associated
            )
        except InvalidTag:
            raise Unsealable("the password does not open this link") from None
        return plain.decode("utf-8")
