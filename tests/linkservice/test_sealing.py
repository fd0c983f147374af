"""AES-GCM under an argon2id-derived key: only the password (and the link) opens it."""

from __future__ import annotations

import pytest

from linkservice.sealing import KeyDerivation, Unsealable

KDF = KeyDerivation(time_cost=1, memory_cost=1024, parallelism=1)


def test_round_trip_and_fresh_salt_and_nonce() -> None:
    one = KDF.seal("pw", "the secret memo", associated=b"lnk_1")
    two = KDF.seal("pw", "the secret memo", associated=b"lnk_1")
    assert KDF.unseal("pw", one, associated=b"lnk_1") == "the secret memo"
    assert one.salt != two.salt and one.nonce != two.nonce and one.ciphertext != two.ciphertext
    assert b"secret" not in one.ciphertext


def test_wrong_password_or_link_does_not_open() -> None:
    sealed = KDF.seal("pw", "x", associated=b"lnk_1")
    with pytest.raises(Unsealable):
        KDF.unseal("PW", sealed, associated=b"lnk_1")
    with pytest.raises(Unsealable):
        KDF.unseal("pw", sealed, associated=b"lnk_2")
