"""The schemas of the OpenAPI document (:mod:`api.openapi`): the bodies requests send
and the answers the routes give, and the helpers that write them."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def answer(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object the server answers with: every property present but ``optional``."""
    return {
        "type": "object",
        "required": [name for name in properties if name not in optional],
        "properties": properties,
    }


def schemas() -> dict[str, Any]:
    """Every schema the paths refer to (``#/components/schemas/NAME``)."""
    string, integer, boolean = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": string, "message": string},
                }
            },
        },
        "SignUp": {
            "type": "object",
            "required": ["username", "email", "password"],
            "additionalProperties": False,
            "properties": {
                "username": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"},
                "email": string,
                "password": {"type": "string", "minLength": 8},
            },
        },
        "Login": {
            "type": "object",
            "required": ["identifier", "password"],
            "properties": {"identifier": string, "password": string, "tokenName": string},
        },
        "PasswordChange": {
            "type": "object",
            "required": ["currentPassword", "newPassword"],
            "additionalProperties": False,
            "properties": {
                "currentPassword": string,
                "newPassword": {"type": "string", "minLength": 8, "maxLength": 1024},
                "revokeTokens": {
                    "type": "boolean",
                    "default": False,
                    "description": "Revoke every login token but the one this request used",
                },
            },
        },
        "Account": answer(
            {
                "id": integer,
                "username": string,
                "email": string,
                "plan": string,
                "quotaBytes": integer,
                "usedBytes": integer,
                "defaultRegion": string,
            }
        ),
        "AccountUsage": {
            "allOf": [
                ref("Account"),
                answer(
                    {
                        "reservedBytes": {
                            "type": "integer",
                            "description": "Held by uploads in progress (counted as used)",
                        },
                        "maxObjectSize": {
                            "type": "integer",
                            "description": "The largest file the caller may upload",
                        },
                    }
                ),
            ]
        },
        "AccountWithToken": answer(
            {"account": ref("Account"), "token": string, "tokenId": integer}
        ),
        "Token": answer(
            {
                "id": integer,
                "name": string,
                "prefix": string,
                "createdAt": string,
                "lastUsedAt": {"type": ["string", "null"]},
                "current": {
                    "type": "boolean",
                    "description": "Whether the request listing the tokens used this one",
                },
            },
            optional=("current",),
        ),
        "NewToken": {
            "allOf": [
                ref("Token"),
                answer({"token": {"type": "string", "description": "Shown once"}}),
            ]
        },
        "S3Key": answer(
            {
                "id": integer,
                "accessKeyId": string,
                "name": string,
                "createdAt": string,
                "lastUsedAt": {"type": ["string", "null"]},
            }
        ),
        "NewS3Key": {
            "allOf": [
                ref("S3Key"),
                answer({"secretAccessKey": {"type": "string", "description": "Shown once"}}),
            ]
        },
        "SessionRequest": {
            "type": "object",
            "required": ["name", "size"],
            "additionalProperties": False,
            "properties": {
                "name": string,
                "size": {"type": "integer", "minimum": 0},
                "type": string,
                "region": string,
                "path": string,
                "key": string,
                "keyHash": string,
            },
        },
        "Session": answer(
            {
                "id": string,
                "sessionId": string,
                "uploadUrl": string,
                "downloadUrl": string,
                "pageUrl": string,
                "name": string,
                "size": integer,
                "type": string,
                "region": string,
                "expiresAt": string,
                "claimToken": string,
            },
            optional=("claimToken",),
        ),
        "Folder": answer(
            {
                "kind": {"const": "folder"},
                "id": string,
                "name": string,
                "path": string,
                "createdAt": string,
                "modifiedAt": string,
            }
        ),
        "Entry": {
            "oneOf": [
                ref("Folder"),
                {"allOf": [ref("File"), answer({"kind": {"const": "file"}})]},
            ]
        },
        "ShareRequest": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "expiresAt": {"type": "string", "description": "ISO 8601; UTC without a zone"},
                "maxDownloads": {"type": "integer", "minimum": 1, "maximum": 1000000},
                "password": {"type": "string", "minLength": 4, "maxLength": 1024},
            },
        },
        "Share": answer(
            {
                "id": string,
                "prefix": string,
                "createdAt": string,
                "expiresAt": {"type": ["string", "null"]},
                "maxDownloads": {"type": ["integer", "null"]},
                "downloads": integer,
                "passwordProtected": boolean,
                "state": {"enum": ["open", "expired", "used_up"]},
            }
        ),
        "NewShare": {"allOf": [ref("Share"), answer({"url": {"type": "string"}})]},
        "UnfinishedSession": answer(
            {
                "sessionId": string,
                "id": string,
                "sessionUrl": {
                    "type": "string",
                    "description": "The upload URL without its secret: its owner's "
                    "credentials authorize it",
                },
                "name": string,
                "size": integer,
                "received": {"type": "integer", "description": "Bytes durably stored"},
                "type": string,
                "path": string,
                "region": string,
                "expiresAt": string,
            }
        ),
        "File": answer(
            {
                "id": string,
                "name": string,
                "path": string,
                "size": integer,
                "type": string,
                "region": string,
                "keyProtected": boolean,
                "createdAt": string,
                "modifiedAt": string,
                "md5": string,
                "sha1": string,
                "downloadUrl": string,
                "pageUrl": string,
                "claimToken": string,
            },
            optional=("claimToken",),
        ),
    }
