"""Comparing secrets: any text a client sends is a match or a mismatch."""

from __future__ import annotations

from gateway.secret import same_secret


def test_secrets_of_any_text_compare() -> None:
    assert same_secret("abc123", "abc123")
    assert not same_secret("abc124", "abc123")
    assert not same_secret("", "abc123")
    assert not same_secret("\u00e9" * 6, "abc123")
    assert same_secret("\u2603\u00e9", "\u2603\u00e9")
    assert not same_secret("\ud800", "abc123")
