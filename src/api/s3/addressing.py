"""Which bucket and key a request addresses: path-style or virtual-host style.

Path-style (always served): ``http://HOST/bucket/key``. Virtual-host style, when the
``s3_domain`` setting names a domain: ``http://bucket.DOMAIN/key``, the bucket taken
from the ``Host`` header (a port in it ignored, any case) and the whole path being the
key. A ``Host`` equal to the domain itself, or any other host (an IP address, a name
the domain is no suffix of), is path-style.

Routing only: the signature is checked against the request line and the ``Host``
header as the client sent them, whichever style it used.
"""

from __future__ import annotations

from urllib.parse import unquote

from api.s3.errors import InvalidArgument


def bucket_from_host(host: str, domain: str | None) -> str | None:
    """The bucket a ``Host`` header names under ``domain``, or None (path-style)."""
    if not domain or host.startswith("["):  # no domain set, or an IPv6 literal
        return None
    name = host.rpartition(":")[0] if ":" in host else host
    name = name.lower().removesuffix(".")
    suffix = "." + domain
    if not name.endswith(suffix) or len(name) == len(suffix):
        return None
    return name[: -len(suffix)]


def address(raw_path: str, host: str, domain: str | None) -> tuple[str, str]:
    """The bucket and the key (percent-decoded) of a request.

    ``raw_path`` MUST be the path as sent (percent-encoded, without the query);
    ``host`` the ``Host`` header (empty when absent); ``domain`` the ``s3_domain``
    setting. ``("", "")`` addresses the service (ListBuckets).
    """
    bucket = bucket_from_host(host, domain)
    if bucket is None:
        bucket, _, key = raw_path.lstrip("/").partition("/")
    else:
        key = raw_path.removeprefix("/")
    try:
        return unquote(bucket, errors="strict"), unquote(key, errors="strict")
    except UnicodeDecodeError:
        raise InvalidArgument("The path must be UTF-8, percent-encoded.") from None
