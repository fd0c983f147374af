"""The server secret, and comparing secrets.

Signed download URLs, download keys, upload sessions and remembered credentials are
keyed by the server secret, so every node serving one database MUST have the same
one: from the ``secret`` setting (``LOCKR_SECRET``), or ``secret_file``. A single
node needs neither: 32 random bytes are made in its data folder on first start
(0600). The secret never appears in an error, a log line or the configuration's repr.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from gateway.config import Config, ConfigError
from gateway.private import open_private, private_folder

MIN_SECRET_BYTES = 32


def server_secret(config: Config) -> bytes:
    """The server secret ``config`` names (see the module's docstring)."""
    if config.secret is not None:
        value = config.secret.encode("utf-8")
        if len(value) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"setting 'secret' must be at least {MIN_SECRET_BYTES} characters "
                "(for example the output of `openssl rand -hex 32`)"
            )
        return value
    if config.secret_file is not None:
        path = Path(config.secret_file).expanduser()
        try:
            value = path.read_bytes().rstrip(b"\r\n")
        except OSError as error:
            raise ConfigError(
                f"secret_file {str(path)!r} cannot be read: {error.strerror}"
            ) from None
        if len(value) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"secret_file {str(path)!r} must hold at least {MIN_SECRET_BYTES} bytes"
            )
        return value
    return load_or_create_secret(config.secret_path)


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
