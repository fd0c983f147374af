"""The building blocks of the OpenAPI document's paths (:mod:`api.openapi_paths`):
answers and errors, request bodies, the security requirements, and the parameters
several operations share."""

from __future__ import annotations

from typing import Any

from api.openapi_schemas import ref

JSON = "application/json"


def response(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """An answer whose body is JSON of ``schema``."""
    return {"description": description, "content": {JSON: {"schema": schema}}}


def errors(*codes: int) -> dict[str, Any]:
    """The answers of these error statuses, each an ``Error`` body saying what it means."""
    texts = {
        400: "Bad input; the message names the field",
        401: "Missing or invalid credentials",
        403: "Forbidden, quota exceeded, or key restrictions",
        404: "Not found",
        409: "Conflict",
        410: "Gone: a share that has expired or been used as many times as it allows",
        412: "A precondition (If-Match, If-Unmodified-Since) failed",
        413: "Too large: a file past the plan's limit (5 GB guest, 100 GB account), "
        "or a JSON body past 64 KiB",
        415: "With Basic credentials, a JSON body must be sent as application/json",
        416: "Range not satisfiable",
        429: "Slow down; see Retry-After",
        503: "Busy: too many passwords being checked at once, or a region's store "
        "unreachable or overloaded; see Retry-After",
    }
    return {str(code): response(ref("Error"), texts[code]) for code in codes}


def body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    """A JSON request body of ``schema``."""
    return {"required": required, "content": {JSON: {"schema": schema}}}


def in_path(name: str, kind: str = "string", description: str = "") -> dict[str, Any]:
    """The path parameter ``name``, of JSON type ``kind``."""
    parameter = {"name": name, "in": "path", "required": True, "schema": {"type": kind}}
    return {**parameter, "description": description} if description else parameter


BEARER: list[dict[str, list[str]]] = [{"bearer": []}, {"basic": []}]
OPTIONAL_AUTH: list[dict[str, list[str]]] = [{"bearer": []}, {"basic": []}, {}]
FILE_ID = in_path("file_id", description="Download id, REGION_OBJECT")

UPLOAD_URL = [
    in_path("session_id"),
    {
        "name": "uploadToken",
        "in": "query",
        "schema": {"type": "string"},
        "description": "The upload URL's secret; without it, the credentials of the "
        "account that opened the session",
    },
]
"""What names a resumable session: its upload URL (path and secret)."""

DOWNLOAD_PARAMETERS = [
    FILE_ID,
    {
        "name": "keyHash",
        "in": "query",
        "schema": {"type": "string"},
        "description": "sha256 hex of the download key phrase (key-protected files)",
    },
    {"name": "X-Key-Hash", "in": "header", "schema": {"type": "string"}},
    {"name": "expires", "in": "query", "schema": {"type": "integer"}},
    {"name": "signature", "in": "query", "schema": {"type": "string"}},
    {
        "name": "inline",
        "in": "query",
        "schema": {"enum": ["1"]},
        "description": "Content-Disposition inline for PDFs, raster images, audio and "
        "video (sandboxed, nosniff); any other type stays an attachment",
    },
    {"name": "Range", "in": "header", "schema": {"type": "string"}, "example": "bytes=0-99"},
    {"name": "If-Range", "in": "header", "schema": {"type": "string"}},
    {"name": "If-Match", "in": "header", "schema": {"type": "string"}},
    {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}},
    {"name": "If-Modified-Since", "in": "header", "schema": {"type": "string"}},
    {"name": "If-Unmodified-Since", "in": "header", "schema": {"type": "string"}},
]


def download_answers() -> dict[str, Any]:
    """A download's answers, for GET and HEAD alike; those without content have none."""
    return {
        "200": {"description": "The bytes"},
        "206": {"description": "A range; Content-Range says which"},
        "304": {"description": "Not modified"},
        "412": {"description": "A precondition (If-Match, If-Unmodified-Since) failed"},
        "416": {"description": "Range not satisfiable; Content-Range: bytes */SIZE"},
        **errors(403, 404, 429, 503),
    }
