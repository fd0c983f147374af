"""The server secret (configured, from a file, or made once), and comparing secrets:
any text a client sends is a match or a mismatch."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.core import build_core
from gateway.secret import same_secret, server_secret
from tests.conftest import CoreFactory, make_config


def test_secrets_of_any_text_compare() -> None:
    assert same_secret("abc123", "abc123")
    assert not same_secret("abc124", "abc123")
    assert not same_secret("", "abc123")
    assert not same_secret("\u00e9" * 6, "abc123")
    assert same_secret("\u2603\u00e9", "\u2603\u00e9")
    assert not same_secret("\ud800", "abc123")


SHARED = "0123456789abcdef" * 4


def test_nodes_configured_with_one_secret_agree(make_core: CoreFactory, tmp_path: Path) -> None:
    """Two nodes with their own data folders and one configured secret sign alike;
    no secret file is made."""
    first = make_core(secret=SHARED)
    second = build_core(make_config(tmp_path / "other", secret=SHARED))
    try:
        assert first.secret == second.secret == SHARED.encode()
        assert not first.config.secret_path.exists()
        assert not second.config.secret_path.exists()
    finally:
        second.close()


def test_a_secret_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "lockr.secret"
    path.write_text(SHARED + "\n")  # as `openssl rand -hex 32 > file` writes it
    config = load_config(env={"LOCKR_DATA": str(tmp_path / "d"), "LOCKR_SECRET_FILE": str(path)})
    assert server_secret(config) == SHARED.encode()
    from_env = load_config(env={"LOCKR_DATA": str(tmp_path / "d"), "LOCKR_SECRET": SHARED})
    assert server_secret(from_env) == SHARED.encode()
    assert SHARED not in repr(from_env)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"secret": "short-but-secret"}, "at least 32 characters"),
        ({"secret_file": "/nonexistent/lockr.secret"}, "cannot be read"),
    ],
)
def test_unusable_secrets_are_refused_without_showing_them(
    tmp_path: Path, settings: dict[str, str], message: str
) -> None:
    config = make_config(tmp_path / "d", **settings)
    with pytest.raises(ConfigError, match=message) as refused:
        server_secret(config)
    assert "short-but-secret" not in str(refused.value)


def test_a_short_secret_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.secret"
    path.write_text("tiny-secret-value")
    with pytest.raises(ConfigError, match="at least 32 bytes") as refused:
        server_secret(make_config(tmp_path / "d", secret_file=str(path)))
    assert "tiny-secret-value" not in str(refused.value)
