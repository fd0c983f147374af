"""The paths of the OpenAPI document (:mod:`api.openapi`), an API area at a time."""

from __future__ import annotations

from typing import Any

from api.openapi_parts import (
    BEARER,
    DOWNLOAD_PARAMETERS,
    FILE_ID,
    OPTIONAL_AUTH,
    UPLOAD_URL,
    body,
    download_answers,
    errors,
    in_path,
    response,
)
from api.openapi_schemas import answer, ref


def paths() -> dict[str, Any]:
    """Every path the API serves, each operation with its own answers only (the errors
    every operation of its kind shares are :func:`api.openapi.document`'s to add)."""
    return {
        **_account_paths(),
        **_upload_paths(),
        **_tree_paths(),
        **_share_paths(),
        **_file_paths(),
    }


def _account_paths() -> dict[str, Any]:
    """The server itself and accounts: sign-up, sign-in, tokens, S3 keys, rclone remotes."""
    return {
        "/healthz": {
            "get": {
                "summary": "Health check",
                "security": [],
                "responses": {
                    "200": response(answer({"status": {"const": "ok"}}), "OK"),
                    "503": response(
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
                "responses": {"200": response({"type": "object"}, "OK")},
            }
        },
        "/api/v1/accounts": {
            "post": {
                "summary": "Create an account (100 GB and an API token)",
                "security": [],
                "requestBody": body(ref("SignUp")),
                "responses": {
                    "201": response(ref("AccountWithToken"), "Created"),
                    **errors(409, 429, 503),
                },
            }
        },
        "/api/v1/login": {
            "post": {
                "summary": "Exchange credentials for a reusable token",
                "security": [],
                "requestBody": body(ref("Login")),
                "responses": {
                    "200": response(ref("AccountWithToken"), "Signed in"),
                    **errors(401, 429, 503),
                },
            }
        },
        "/api/v1/account": {
            "get": {
                "summary": "The caller's account and usage",
                "security": BEARER,
                "responses": {
                    "200": response(answer({"account": ref("AccountUsage")}), "OK"),
                },
            }
        },
        "/api/v1/account/password": {
            "post": {
                "summary": "Change the password; optionally revoke every other token",
                "security": BEARER,
                "requestBody": body(ref("PasswordChange")),
                "responses": {
                    "200": response(
                        answer({"account": ref("Account"), "revokedTokens": {"type": "integer"}}),
                        "Changed; remembered Basic credentials stop working at once",
                    ),
                    **errors(403),
                },
            }
        },
        "/api/v1/tokens": {
            "get": {
                "summary": "List tokens (metadata only)",
                "security": BEARER,
                "responses": {
                    "200": response(
                        answer({"tokens": {"type": "array", "items": ref("Token")}}), "OK"
                    )
                },
            },
            "post": {
                "summary": "Create a token, shown once",
                "security": BEARER,
                "requestBody": body(
                    {"type": "object", "properties": {"name": {"type": "string"}}}, required=False
                ),
                "responses": {"201": response(ref("NewToken"), "Created")},
            },
        },
        "/api/v1/tokens/{token_id}": {
            "delete": {
                "summary": "Revoke a token",
                "security": BEARER,
                "parameters": [in_path("token_id", "integer")],
                "responses": {"204": {"description": "Revoked"}, **errors(400, 404)},
            }
        },
        "/api/v1/s3-keys": {
            "get": {
                "summary": "List S3 access keys (never a secret)",
                "security": BEARER,
                "responses": {
                    "200": response(
                        answer({"s3Keys": {"type": "array", "items": ref("S3Key")}}), "OK"
                    )
                },
            },
            "post": {
                "summary": "Create an S3 access key; the secret is shown once",
                "security": BEARER,
                "requestBody": body(
                    {
                        "type": "object",
                        "properties": {"name": {"type": "string", "maxLength": 100}},
                    },
                    required=False,
                ),
                "responses": {
                    "201": response(ref("NewS3Key"), "Created"),
                    **errors(403),
                },
            },
        },
        "/api/v1/s3-keys/{key_id}": {
            "delete": {
                "summary": "Revoke an S3 access key at once",
                "security": BEARER,
                "parameters": [in_path("key_id", "integer")],
                "responses": {"204": {"description": "Revoked"}, **errors(400, 404)},
            }
        },
        "/api/v1/rclone-config": {
            "post": {
                "summary": "A ready rclone remote with a new credential (shown once), and "
                "the migration command",
                "security": BEARER,
                "requestBody": body(
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
                    "201": response(
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
                    **errors(403),
                },
            }
        },
    }


def _upload_paths() -> dict[str, Any]:
    """Regions, and uploads: direct, and resumable sessions."""
    return {
        "/api/v1/regions": {
            "get": {
                "summary": "The regions the caller may upload to, and its default",
                "security": OPTIONAL_AUTH,
                "responses": {
                    "200": response(
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
                    "201": response(ref("File"), "Stored"),
                    **errors(400, 413),
                },
            }
        },
        "/api/v1/upload/session": {
            "post": {
                "summary": "Create a resumable upload session",
                "security": OPTIONAL_AUTH,
                "requestBody": body(ref("SessionRequest")),
                "responses": {
                    "201": response(ref("Session"), "Created"),
                    **errors(403),
                },
            }
        },
        "/api/v1/upload/sessions": {
            "get": {
                "summary": "Your unfinished resumable sessions, with the bytes each has "
                "(never their upload secrets)",
                "security": BEARER,
                "responses": {
                    "200": response(
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
                    "200": response(ref("File"), "Already complete"),
                    "201": response(ref("File"), "Complete"),
                    "308": {
                        "description": "Incomplete; Range: bytes=0-N gives what is stored "
                        "(absent when nothing is)"
                    },
                    **errors(400, 404, 409, 429),
                },
            },
            "delete": {
                "summary": "Give an unfinished upload up: what it stored and reserved is freed",
                "security": OPTIONAL_AUTH,
                "parameters": UPLOAD_URL,
                "responses": {
                    "204": {"description": "Given up; the upload URL answers 404 from now on"},
                    **errors(404, 409, 429),
                },
            },
        },
        **_tree_paths(),
        **_share_paths(),
    }


def _file_paths() -> dict[str, Any]:
    """The account's files and their downloads."""
    return {
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
                    "200": response(
                        answer(
                            {
                                "files": {"type": "array", "items": ref("File")},
                                "nextCursor": {"type": ["string", "null"]},
                            }
                        ),
                        "A page",
                    ),
                    **errors(400),
                },
            }
        },
        "/api/v1/files/register": {
            "post": {
                "summary": "Attach a download id (a guest upload) to your account",
                "security": BEARER,
                "requestBody": body(
                    {
                        "type": "object",
                        "required": ["id"],
                        "properties": {"id": {"type": "string"}, "claimToken": {"type": "string"}},
                    }
                ),
                "responses": {"200": response(ref("File"), "Yours"), **errors(403, 404)},
            }
        },
        "/api/v1/files/{file_id}": {
            "get": {
                "summary": "A file's metadata",
                "security": BEARER,
                "parameters": [FILE_ID],
                "responses": {"200": response(ref("File"), "OK"), **errors(403, 404)},
            },
            "delete": {
                "summary": "Delete a file",
                "security": BEARER,
                "parameters": [FILE_ID],
                "responses": {"204": {"description": "Deleted"}, **errors(403, 404)},
            },
        },
        "/api/v1/files/{file_id}/key": {
            "post": {
                "summary": 'Set ({"key": phrase} or {"keyHash": hex}) or clear '
                '({"key": null} or {}) the download key',
                "security": BEARER,
                "parameters": [FILE_ID],
                "requestBody": body(
                    {
                        "type": "object",
                        "properties": {
                            "key": {"type": ["string", "null"]},
                            "keyHash": {"type": "string"},
                        },
                    },
                    required=False,
                ),
                "responses": {"200": response(ref("File"), "OK"), **errors(403, 404)},
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
                    "200": response(
                        answer({"url": {"type": "string"}, "expiresAt": {"type": "string"}}),
                        "OK",
                    ),
                    **errors(400, 403, 404),
                },
            }
        },
        "/api/v1/download/{file_id}": {
            "get": {
                "summary": "Download the bytes (Range, conditional requests)",
                "security": OPTIONAL_AUTH,
                "parameters": DOWNLOAD_PARAMETERS,
                "responses": {
                    **download_answers(),
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
                "responses": download_answers(),
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


ENTRY_ID = in_path(
    "entry_id",
    description="A file's download id (REGION_OBJECT) or a folder's id (folder_OBJECT)",
)


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
                    "200": response(
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
                    **errors(400, 404, 409),
                },
            }
        },
        "/api/v1/folders": {
            "post": {
                "summary": "Make a folder (its parent must exist)",
                "security": BEARER,
                "requestBody": body(
                    {
                        "type": "object",
                        "required": ["path"],
                        "additionalProperties": False,
                        "properties": {"path": {"type": "string"}},
                    }
                ),
                "responses": {"201": response(ref("Folder"), "Made"), **errors(403, 404, 409)},
            }
        },
        "/api/v1/entries/{entry_id}": {
            "patch": {
                "summary": "Rename an entry, move it into another folder, or both",
                "security": BEARER,
                "parameters": [ENTRY_ID],
                "requestBody": body(
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
                    "200": response(ref("Entry"), "Renamed or moved"),
                    **errors(403, 404, 409),
                },
            },
            "delete": {
                "summary": "Delete a file, or a folder with everything in it",
                "security": BEARER,
                "parameters": [ENTRY_ID],
                "responses": {"204": {"description": "Deleted"}, **errors(403, 404)},
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
                    **errors(400, 403, 404),
                },
            }
        },
    }


def _share_paths() -> dict[str, Any]:
    """Shares of a file: made, listed, revoked; downloaded by anyone with the link."""
    token = in_path("token")
    html = {"description": "HTML page"}
    return {
        "/api/v1/files/{file_id}/shares": {
            "post": {
                "summary": "Share a file: a link with an expiry, a download limit, a password",
                "security": BEARER,
                "parameters": [FILE_ID],
                "requestBody": body(ref("ShareRequest"), required=False),
                "responses": {
                    "201": response(ref("NewShare"), "Made; url is shown this once"),
                    **errors(403, 404),
                },
            },
            "get": {
                "summary": "A file's shares (never their URLs)",
                "security": BEARER,
                "parameters": [FILE_ID],
                "responses": {
                    "200": response(
                        answer({"shares": {"type": "array", "items": ref("Share")}}), "OK"
                    ),
                    **errors(403, 404),
                },
            },
        },
        "/api/v1/shares/{share_id}": {
            "delete": {
                "summary": "Revoke a share at once",
                "security": BEARER,
                "parameters": [in_path("share_id")],
                "responses": {"204": {"description": "Revoked"}, **errors(404)},
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
                    **download_answers(),
                    "302": {"description": "From a region with redirect_downloads"},
                    **errors(401, 410),
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
                    **download_answers(),
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
