"""How a file looks in JSON, the same from every endpoint."""

from __future__ import annotations

from gateway.storage import Entry
from gateway.timefmt import iso


def file_json(entry: Entry, path: str, public_url: str) -> dict[str, object]:
    file_id = entry.file_id
    return {
        "id": file_id,
        "name": entry.name,
        "path": path,
        "size": entry.size,
        "type": entry.content_type or "application/octet-stream",
        "region": entry.region,
        "keyProtected": entry.key_protected,
        "createdAt": iso(entry.uploaded_at or entry.created_at),
        "modifiedAt": iso(entry.mtime),
        "md5": entry.md5,
        "sha1": entry.sha1,
        "downloadUrl": f"{public_url}/api/v1/download/{file_id}",
        "pageUrl": f"{public_url}/download/{file_id}",
    }


def entry_json(entry: Entry, public_url: str) -> dict[str, object]:
    """A folder or a file as a listing shows it: ``kind`` says which; a file has the
    fields of :func:`file_json`, a folder its id, name, path and times."""
    if not entry.is_dir:
        return {"kind": "file", **file_json(entry, entry.path, public_url)}
    return {
        "kind": "folder",
        "id": entry.file_id,
        "name": entry.name,
        "path": entry.path,
        "createdAt": iso(entry.created_at),
        "modifiedAt": iso(entry.mtime),
    }
