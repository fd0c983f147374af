"""Domain errors -> WebDAV statuses (a full account is 507, as rclone expects), and
the error pages WebDAV clients see."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from wsgidav import util
from wsgidav.dav_error import (
    HTTP_INTERNAL_ERROR,
    HTTP_NO_CONTENT,
    HTTP_NOT_MODIFIED,
    DAVError,
    get_http_status_string,
)
from wsgidav.mw.base_mw import BaseMiddleware

from gateway.errors import LockrError, QuotaExceeded
from gateway.logsafe import loggable

T = TypeVar("T")
log = logging.getLogger("lockr.webdav")

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


class ErrorPages(BaseMiddleware):  # type: ignore[misc]
    """In place of wsgidav's ``ErrorPrinter``: a DAVError (or any exception) becomes a
    response that says what was wrong and nothing more. A page tells the status and
    the message lockr or wsgidav gave; never the exception behind it, a traceback or
    the server's name and version. Unexpected errors are logged and answered with a
    bare 500. Lock preconditions keep their RFC 4918 XML body."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        pending = util.SubAppStartResponse()
        try:
            started = False
            try:
                app_iter = self.next_app(environ, pending)
                for block in app_iter:
                    if not started:
                        start_response(pending.status, pending.response_headers)
                        started = True
                    yield block
                close = getattr(app_iter, "close", None)
                if close is not None:
                    close()
            except DAVError:
                raise
            except Exception:
                log.exception(
                    "WebDAV %s %s failed",
                    environ.get("REQUEST_METHOD"),
                    loggable(environ.get("PATH_INFO", "")),
                )
                raise DAVError(HTTP_INTERNAL_ERROR) from None
            if not started:
                start_response(pending.status, pending.response_headers)
        except DAVError as error:
            yield from _error_response(error, start_response)


def _error_response(error: DAVError, start_response: Any) -> Iterator[bytes]:
    status = get_http_status_string(error)
    headers = [("Date", util.get_rfc1123_time()), *(error.add_headers or [])]
    if error.value in (HTTP_NOT_MODIFIED, HTTP_NO_CONTENT) or not error.add_body:
        start_response(status, [("Content-Length", "0"), *headers])
        yield b""
        return
    if error.err_condition is not None:
        content_type = "application/xml; charset=utf-8"
        body = util.to_bytes(error.err_condition.as_string())
    else:
        content_type = "text/plain; charset=utf-8"
        message = "" if error.value == HTTP_INTERNAL_ERROR else error.context_info
        body = f"{status}{': ' + str(message) if message else ''}\n".encode()
    start_response(
        status, [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]
    )
    yield body
