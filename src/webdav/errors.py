"""Domain errors -> WebDAV statuses (a full account is 507, as rclone expects)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from wsgidav.dav_error import DAVError

from gateway.errors import LockrError, QuotaExceeded

T = TypeVar("T")

INSUFFICIENT_STORAGE = 507


def dav_status(error: LockrError) -> int:
    if isinstance(error, QuotaExceeded):
        return INSUFFICIENT_STORAGE
    return error.status


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise domain errors as DAVError with the matching status."""
    try:
        yield
    except LockrError as error:
        raise DAVError(dav_status(error), context_info=error.message) from None


def call(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    with translated():
        return function(*args, **kwargs)
