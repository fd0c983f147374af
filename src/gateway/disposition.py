"""The ``Content-Disposition`` value that saves a download under a file's name.

In the core because a front sends it on a download and an S3-compatible object store
signs it into a presigned URL, so the store's answer carries it too.
"""

from __future__ import annotations

from urllib.parse import quote


def content_disposition(name: str, *, inline: bool = False) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''…`` for any file name."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
