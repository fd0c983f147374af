"""The domain errors every front translates into its own protocol.

The core raises these and nothing protocol-specific. Each carries an HTTP-like
``status`` and a short machine ``code`` so that a front can map it without a table
of its own; a front MAY still choose another status where its protocol needs one
(WebDAV answers ``QuotaExceeded`` with 507, for instance).
"""

from __future__ import annotations


class LockrError(Exception):
    """Base of every domain error. ``message`` is safe to show to the client."""

    status: int = 500
    code: str = "internal"

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class BadRequest(LockrError):
    status = 400
    code = "bad_request"


class Unauthorized(LockrError):
    status = 401
    code = "unauthorized"


class Forbidden(LockrError):
    status = 403
    code = "forbidden"


class CrossSite(Forbidden):
    """A browser sent credentials it remembers (Basic) on a state-changing request
    from another site."""

    code = "cross_site"


class QuotaExceeded(LockrError):
    """The account's storage (or another counted quota) has no room left."""

    status = 403
    code = "quota_exceeded"


class NotFound(LockrError):
    status = 404
    code = "not_found"


class Conflict(LockrError):
    status = 409
    code = "conflict"


class TooLarge(LockrError):
    """One object is larger than the principal's per-object limit."""

    status = 413
    code = "too_large"


class UnsupportedMediaType(LockrError):
    status = 415
    code = "unsupported_media_type"


class RateLimited(LockrError):
    """Slow down; ``retry_after`` says how many seconds to wait."""

    status = 429
    code = "rate_limited"


class Busy(LockrError):
    """The server has no capacity for this now (too much expensive work at once);
    ``retry_after`` says when to try again."""

    status = 503
    code = "busy"


class Gone(LockrError):
    status = 410
    code = "gone"


class Changed(Conflict):
    """What a write was told to act on changed meanwhile (a copy's source was written
    after its bytes were read): the write did nothing and may be sent again."""

    code = "changed"


class Exists(Conflict):
    """The target name is taken (a folder that exists, a file where none may be)."""

    code = "exists"


class FileExists(Exists):
    """A file is at the name, and the write was told not to replace one
    (``on_conflict="fail"``)."""
