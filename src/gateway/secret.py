"""The server secret: 32 random bytes in the data folder, made on first start (0600);
and comparing secrets."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from gateway.private import open_private, private_folder


def load_or_create_secret(path: Path) -> bytes:
    """Read the secret at ``path``, creating it (owner-only) if it does not exist."""
    private_folder(path.parent)
    try:
        fd = open_private(path, os.O_WRONLY | os.O_EXCL)
    except FileExistsError:
        data = path.read_bytes()
        if len(data) < 32:
            raise RuntimeError(f"server secret {path} is damaged (shorter than 32 bytes)") from None
        return data
    data = secrets.token_bytes(32)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return data


def same_secret(presented: str, expected: str) -> bool:
    """Whether the secret a client presented is the expected one, in constant time.

    Callers MUST compare secrets through this, not :func:`hmac.compare_digest` on
    strings, which raises ``TypeError`` for non-ASCII text: whatever a client sends is
    then a plain mismatch."""
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
