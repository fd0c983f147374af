"""The OpenAPI 3.1 description of every route, served at ``/api/v1/openapi.json``.

Written by hand next to the routes it describes; ``tests/api/test_openapi.py`` checks
that every served route is described and every described route is served, and
``tests/api/test_openapi_fuzz.py`` that a real server answers as described."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.openapi_schemas import answer, ref, schemas

JSON = "application/json"


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
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
    return {str(code): _json(ref("Error"), texts[code]) for code in codes}


def _shared_errors(method: str, operation: dict[str, Any]) -> dict[str, Any]:
    """The errors any operation of its kind can answer, whatever else it does.

    One that takes credentials: 401 for bad ones, 429 once the caller or its address
    sends too much (requests, wrong passwords), 503 while too many passwords are being
    checked, and, if it changes state, 403 for Basic credentials sent from another
    site. One that reads a JSON body: 400 and 413, and 415 with Basic credentials when
    the body is not labelled JSON."""
    codes: set[int] = set()
    takes_credentials = operation.get("security") != []
    if takes_credentials:
        codes |= {401, 429, 503}
        if method not in ("get", "head"):
            codes.add(403)
    if JSON in operation.get("requestBody", {}).get("content", {}):
        codes |= {400, 413}
        if takes_credentials:
            codes.add(415)
    return _errors(*sorted(codes))


MALFORMED = (
    "a request HTTP itself refuses (a malformed header such as a Content-Length that is "
    "not a number), answered by the server in plain text"
)


def _with_shared_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """Each operation's own answers, the errors of its kind, and 400 for a request the
    HTTP server refuses before any route sees it (plain text, not JSON)."""
    for operations in paths.values():
        for method, operation in operations.items():
            responses = {**_shared_errors(method, operation), **operation["responses"]}
            bad: dict[str, Any] = responses.get("400") or {"description": "", "content": {}}
            described = bad["description"]
            responses["400"] = {
                "description": f"{described}; or {MALFORMED}" if described else MALFORMED,
                "content": {**bad["content"], "text/plain": {"schema": {"type": "string"}}},
            }
            operation["responses"] = responses
    return paths


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {JSON: {"schema": schema}}}


def _integer_in_path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


BEARER: list[dict[str, list[str]]] = [{"bearer": []}, {"basic": []}]
OPTIONAL_AUTH: list[dict[str, list[str]]] = [{"bearer": []}, {"basic": []}, {}]
FILE_ID = {
    "name": "file_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "Download id, REGION_OBJECT",
}

UPLOAD_URL = [
    {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}},
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


def _paths() -> dict[str, Any]:
    return {
        "/healthz": {
            "get": {
                "summary": "Health check",
                "security": [],
                "responses": {
                    "200": _json(answer({"status": {"const": "ok"}}), "OK"),
                    "503": _json(
                        answer({"status": {"const": "unavailable"}}),
                        "The database does not answer",
                    ),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "OK")},
            }
        },
        "/api/v1/accounts": {
            "post": {
                "summary": "Create an account (100 GB and an API token)",
                "security": [],
                "requestBody": _body(ref("SignUp")),
                "responses": {
                    "201": _json(ref("AccountWithToken"), "Created"),
                    **_errors(409, 429, 503),
                },
            }
        },
        "/api/v1/login": {
            "post": {
                "summary": "Exchange credentials for a reusable token",
                "security": [],
                "requestBody": _body(ref("Login")),
                "responses": {
                    "200": _json(ref("AccountWithToken"), "Signed in"),
                    **_errors(401, 429, 503),
                },
            }
        },
        "/api/v1/account": {
            "get": {
                "summary": "The caller's account and usage",
                "security": BEARER,
                "responses": {
                    "200": _json(answer({"account": ref("AccountUsage")}), "OK"),
                },
            }
        },
        "/api/v1/account/password": {
            "post": {
                "summary": "Change the password; optionally revoke every other token",
                "security": BEARER,
                "requestBody": _body(ref("PasswordChange")),
                "responses": {
                    "200": _json(
                        answer({"account": ref("Account"), "revokedTokens": {"type": "integer"}}),
                        "Changed; remembered Basic credentials stop working at once",
                    ),
                    **_errors(403),
                },
            }
        },
        "/api/v1/tokens": {
            "get": {
                "summary": "List tokens (metadata only)",
                "security": BEARER,
                "responses": {
                    "200": _json(answer({"tokens": {"type": "array", "items": ref("Token")}}), "OK")
                },
            },
            "post": {
                "summary": "Create a token, shown once",
                "security": BEARER,
                "requestBody": _body(
                    {"type": "object", "properties": {"name": {"type": "string"}}}, required=False
                ),
                "responses": {"201": _json(ref("NewToken"), "Created")},
            },
        },
        "/api/v1/tokens/{token_id}": {
            "delete": {
                "summary": "Revoke a token",
                "security": BEARER,
                "parameters": [_integer_in_path("token_id")],
                "responses": {"204": {"description": "Revoked"}, **_errors(400, 404)},
            }
        },
        "/api/v1/s3-keys": {
            "get": {
                "summary": "List S3 access keys (never a secret)",
                "security": BEARER,
                "responses": {
                    "200": _json(answer({"s3Keys": {"type": "array", "items": ref("S3Key")}}), "OK")
                },
            },
            "post": {
                "summary": "Create an S3 access key; the secret is shown once",
                "security": BEARER,
                "requestBody": _body(
                    {
                        "type": "object",
                        "properties": {"name": {"type": "string", "maxLength": 100}},
                    },
                    required=False,
                ),
                "responses": {
                    "201": _json(ref("NewS3Key"), "Created"),
                    **_errors(403),
                },
            },
        },
        "/api/v1/s3-keys/{key_id}": {
            "delete": {
                "summary": "Revoke an S3 access key at once",
                "security": BEARER,
                "parameters": [_integer_in_path("key_id")],
                "responses": {"204": {"description": "Revoked"}, **_errors(400, 404)},
            }
        },
        "/api/v1/rclone-config": {
            "post": {
                "summary": "A ready rclone remote with a new credential (shown once), and "
                "the migration command",
                "security": BEARER,
                "requestBody": _body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "kind": {"enum": ["webdav", "s3"]},
                            "remote": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,31}$"},
                        },
                    },
                    required=False,
                ),
                "responses": {
                    "201": _json(
                        answer(
                            {
                                "kind": {"enum": ["webdav", "s3"]},
                                "remote": {"type": "string"},
                                "config": {"type": "string"},
                                "command": {"type": "string"},
                            }
                        ),
                        "Made",
                    ),
                    **_errors(403),
                },
            }
        },
        "/api/v1/regions": {
            "get": {
                "summary": "The regions the caller may upload to, and its default",
                "security": OPTIONAL_AUTH,
                "responses": {
                    "200": _json(
                        answer(
                            {
                                "regions": {
                                    "type": "array",
                                    "items": answer(
                                        {
                                            "name": {"type": "string"},
                                            "backend": {"enum": ["local", "s3"]},
                                            "default": {"type": "boolean"},
                                        }
                                    ),
                                },
                                "defaultRegion": {"type": "string"},
                            }
                        ),
                        "OK",
                    ),
                },
            }
        },
        "/api/v1/upload": {
            "post": {
                "summary": "Direct upload: the raw body, streamed",
                "security": OPTIONAL_AUTH,
                "parameters": [
                    {
                        "name": "x-file-name",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "UTF-8, percent-encoded",
                    },
                    {"name": "x-upload-region", "in": "header", "schema": {"type": "string"}},
                    {
                        "name": "x-file-key",
                        "in": "header",
                        "schema": {"type": "string"},
                        "description": "Download key phrase (hashed by the server)",
                    },
                    {
                        "name": "x-key-hash",
                        "in": "header",
                        "schema": {"type": "string"},
                        "description": "sha256 hex of the download key phrase",
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "responses": {
                    "201": _json(ref("File"), "Stored"),
                    **_errors(400, 413),
                },
            }
        },
        "/api/v1/upload/session": {
            "post": {
                "summary": "Create a resumable upload session",
                "security": OPTIONAL_AUTH,
                "requestBody": _body(ref("SessionRequest")),
                "responses": {
                    "201": _json(ref("Session"), "Created"),
                    **_errors(403),
                },
            }
        },
        "/api/v1/upload/sessions": {
            "get": {
                "summary": "Your unfinished resumable sessions, with the bytes each has "
                "(never their upload secrets)",
                "security": BEARER,
                "responses": {
                    "200": _json(
                        answer({"sessions": {"type": "array", "items": ref("UnfinishedSession")}}),
                        "OK",
                    ),
                },
            }
        },
        "/api/v1/upload/session/{session_id}": {
            "put": {
                "summary": "Upload the body, a chunk (Content-Range: bytes S-E/T), or ask "
                "for progress (Content-Range: bytes */T, empty body)",
                "security": OPTIONAL_AUTH,
                "parameters": [
                    *UPLOAD_URL,
                    {"name": "Content-Range", "in": "header", "schema": {"type": "string"}},
                ],
                "requestBody": {
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}
                },
                "responses": {
                    "200": _json(ref("File"), "Already complete"),
                    "201": _json(ref("File"), "Complete"),
                    "308": {
                        "description": "Incomplete; Range: bytes=0-N gives what is stored "
                        "(absent when nothing is)"
                    },
                    **_errors(400, 404, 409, 429),
                },
            },
            "delete": {
                "summary": "Give an unfinished upload up: what it stored and reserved is freed",
                "security": OPTIONAL_AUTH,
                "parameters": UPLOAD_URL,
                "responses": {
                    "204": {"description": "Given up; the upload URL answers 404 from now on"},
                    **_errors(404, 409, 429),
                },
            },
        },
        **_tree_paths(),
        **_share_paths(),
        "/api/v1/files": {
            "get": {
                "summary": "List your files, newest first",
                "security": BEARER,
                "parameters": [
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                ],
                "responses": {
                    "200": _json(
                        answer(
                            {
                                "files": {"type": "array", "items": ref("File")},
                                "nextCursor": {"type": ["string", "null"]},
                            }
                        ),
                        "A page",
                    ),
                    **_errors(400),
                },
            }
        },
        "/api/v1/files/register": {
            "post": {
                "summary": "Attach a download id (a guest upload) to your account",
                "security": BEARER,
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["id"],
                        "properties": {"id": {"type": "string"}, "claimToken": {"type": "string"}},
                    }
                ),
                "responses": {"200": _json(ref("File"), "Yours"), **_errors(403, 404)},
            }
        },
        "/api/v1/files/{file_id}": {
            "get": {
                "summary": "A file's metadata",
                "security": BEARER,
                "parameters": [FILE_ID],
                "responses": {"200": _json(ref("File"), "OK"), **_errors(403, 404)},
            },
            "delete": {
                "summary": "Delete a file",
                "security": BEARER,
                "parameters": [FILE_ID],
                "responses": {"204": {"description": "Deleted"}, **_errors(403, 404)},
            },
        },
        "/api/v1/files/{file_id}/key": {
            "post": {
                "summary": 'Set ({"key": phrase} or {"keyHash": hex}) or clear '
                '({"key": null} or {}) the download key',
                "security": BEARER,
                "parameters": [FILE_ID],
                "requestBody": _body(
                    {
                        "type": "object",
                        "properties": {
                            "key": {"type": ["string", "null"]},
                            "keyHash": {"type": "string"},
                        },
                    },
                    required=False,
                ),
                "responses": {"200": _json(ref("File"), "OK"), **_errors(403, 404)},
            }
        },
        "/api/v1/files/{file_id}/signed-url": {
            "get": {
                "summary": "A short-lived signed download URL",
                "security": BEARER,
                "parameters": [
                    FILE_ID,
                    {
                        "name": "expires",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 604800},
                    },
                ],
                "responses": {
                    "200": _json(
                        answer({"url": {"type": "string"}, "expiresAt": {"type": "string"}}),
                        "OK",
                    ),
                    **_errors(400, 403, 404),
                },
            }
        },
        "/api/v1/download/{file_id}": {
            "get": {
                "summary": "Download the bytes (Range, conditional requests)",
                "security": OPTIONAL_AUTH,
                "parameters": DOWNLOAD_PARAMETERS,
                "responses": {
                    **_download_answers(),
                    "302": {
                        "description": "From a region with redirect_downloads: Location is "
                        "a presigned URL of the region's store, valid for 300 seconds",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                },
            },
            "head": {
                "summary": "Headers of a download",
                "security": OPTIONAL_AUTH,
                "parameters": DOWNLOAD_PARAMETERS,
                "responses": _download_answers(),
            },
        },
        "/download/{file_id}": {
            "get": {
                "summary": "Download page for people (HTML)",
                "security": [],
                "parameters": [FILE_ID],
                "responses": {
                    "200": {"description": "HTML page"},
                    "404": {"description": "HTML page"},
                },
            }
        },
    }


ENTRY_ID = {
    "name": "entry_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "A file's download id (REGION_OBJECT) or a folder's id (folder_OBJECT)",
}


def _tree_paths() -> dict[str, Any]:
    """The account's tree: folders listed a page at a time, made, entries renamed,
    moved and deleted."""
    return {
        "/api/v1/entries": {
            "get": {
                "summary": "A folder's entries, folders first, sorted, a page at a time",
                "security": BEARER,
                "parameters": [
                    {"name": "path", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "sort",
                        "in": "query",
                        "schema": {"enum": ["name", "size", "modified", "type"]},
                    },
                    {"name": "order", "in": "query", "schema": {"enum": ["asc", "desc"]}},
                    {"name": "kind", "in": "query", "schema": {"enum": ["all", "folder"]}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _json(
                        answer(
                            {
                                "folder": ref("Folder"),
                                "entries": {"type": "array", "items": ref("Entry")},
                                "nextCursor": {"type": ["string", "null"]},
                                "count": {
                                    "type": ["integer", "null"],
                                    "description": "Entries in the folder (first page only)",
                                },
                            }
                        ),
                        "A page",
                    ),
                    **_errors(400, 404, 409),
                },
            }
        },
        "/api/v1/folders": {
            "post": {
                "summary": "Make a folder (its parent must exist)",
                "security": BEARER,
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["path"],
                        "additionalProperties": False,
                        "properties": {"path": {"type": "string"}},
                    }
                ),
                "responses": {"201": _json(ref("Folder"), "Made"), **_errors(403, 404, 409)},
            }
        },
        "/api/v1/entries/{entry_id}": {
            "patch": {
                "summary": "Rename an entry, move it into another folder, or both",
                "security": BEARER,
                "parameters": [ENTRY_ID],
                "requestBody": _body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string"},
                            "parentId": {"type": "string", "description": "A folder's id"},
                        },
                    }
                ),
                "responses": {
                    "200": _json(ref("Entry"), "Renamed or moved"),
                    **_errors(403, 404, 409),
                },
            },
            "delete": {
                "summary": "Delete a file, or a folder with everything in it",
                "security": BEARER,
                "parameters": [ENTRY_ID],
                "responses": {"204": {"description": "Deleted"}, **_errors(403, 404)},
            },
        },
        "/api/v1/archive": {
            "get": {
                "summary": "Several of your files and folders (with all below them) as one "
                "zip, streamed (stored, zip64, no Content-Length); every id is checked "
                "first, and HEAD checks them alone",
                "security": BEARER,
                "parameters": [
                    {
                        "name": "id",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "array", "items": {"type": "string"}, "maxItems": 200},
                        "description": "Files' and folders' ids, the parameter repeated",
                    }
                ],
                "responses": {
                    "200": {"description": "lockr-DATE.zip", "content": {"application/zip": {}}},
                    **_errors(400, 403, 404),
                },
            }
        },
    }


def _share_paths() -> dict[str, Any]:
    """Shares of a file: made, listed, revoked; downloaded by anyone with the link."""
    token = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
    html = {"description": "HTML page"}
    return {
        "/api/v1/files/{file_id}/shares": {
            "post": {
                "summary": "Share a file: a link with an expiry, a download limit, a password",
                "security": BEARER,
                "parameters": [FILE_ID],
                "requestBody": _body(ref("ShareRequest"), required=False),
                "responses": {
                    "201": _json(ref("NewShare"), "Made; url is shown this once"),
                    **_errors(403, 404),
                },
            },
            "get": {
                "summary": "A file's shares (never their URLs)",
                "security": BEARER,
                "parameters": [FILE_ID],
                "responses": {
                    "200": _json(
                        answer({"shares": {"type": "array", "items": ref("Share")}}), "OK"
                    ),
                    **_errors(403, 404),
                },
            },
        },
        "/api/v1/shares/{share_id}": {
            "delete": {
                "summary": "Revoke a share at once",
                "security": BEARER,
                "parameters": [
                    {
                        "name": "share_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"204": {"description": "Revoked"}, **_errors(404)},
            }
        },
        "/api/v1/shares/{token}/download": {
            "get": {
                "summary": "Download a shared file; each download is counted",
                "security": [],
                "parameters": [
                    token,
                    {"name": "X-Share-Password", "in": "header", "schema": {"type": "string"}},
                    {"name": "Range", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {
                    **_download_answers(),
                    "302": {"description": "From a region with redirect_downloads"},
                    **_errors(401, 410),
                },
            }
        },
        "/s/{token}": {
            "get": {
                "summary": "Share page for people (HTML); consumes nothing",
                "security": [],
                "parameters": [token],
                "responses": {"200": html, "404": html, "410": html},
            },
            "post": {
                "summary": "Download from the share page (form field password)",
                "security": [],
                "parameters": [token],
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {"password": {"type": "string"}},
                            }
                        }
                    }
                },
                "responses": {
                    **_download_answers(),
                    "302": {"description": "From a region with redirect_downloads"},
                    "401": html,
                    "403": html,
                    "404": html,
                    "410": html,
                    "413": html,
                    "429": html,
                    "503": html,
                },
            },
        },
    }


def _download_answers() -> dict[str, Any]:
    """A download's answers, for GET and HEAD alike; those without content have none."""
    return {
        "200": {"description": "The bytes"},
        "206": {"description": "A range; Content-Range says which"},
        "304": {"description": "Not modified"},
        "412": {"description": "A precondition (If-Match, If-Unmodified-Since) failed"},
        "416": {"description": "Range not satisfiable; Content-Range: bytes */SIZE"},
        **_errors(403, 404, 429, 503),
    }


def document(public_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lockr storage API",
            "version": "1",
            "description": "Accounts, S3 access keys, uploads, files and downloads. "
            'Errors are {"error": {"code", "message"}}.',
        },
        "servers": [{"url": public_url}],
        "security": BEARER,
        "paths": _with_shared_errors(_paths()),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "username or email, and password. A browser remembers "
                    "these, so a state-changing request a browser marks as cross-site "
                    "(Sec-Fetch-Site, Origin) is refused with 403, and a JSON body must be "
                    "sent as application/json (415 otherwise).",
                },
            },
        },
    }


async def openapi(request: Request) -> Response:
    return JSONResponse(document(request.app.state.core.config.public_url))


routes = [Route("/api/v1/openapi.json", openapi, methods=["GET"])]
