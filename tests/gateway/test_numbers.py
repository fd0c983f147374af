"""Whole numbers from text: ASCII digits only, at most 18 of them."""

from __future__ import annotations

import pytest

from gateway.errors import BadRequest
from gateway.numbers import whole_number, whole_number_or_none


@pytest.mark.parametrize("text", ["0", "7", "007", "9" * 18])
def test_digits_are_numbers(text: str) -> None:
    assert whole_number(text, "n") == int(text)
    assert whole_number_or_none(text) == int(text)


@pytest.mark.parametrize(
    "text", ["", "²", "٣", " 5", "5 ", "+5", "-5", "1_0", "9" * 19, "9" * 5000]
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(BadRequest, match="n must be a whole number"):
        whole_number(text, "n")
    assert whole_number_or_none(text) is None
