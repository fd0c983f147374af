"""Several files and folders as one zip over real HTTP: what it holds (opened with
zipfile, each member's SHA-1 checked), folders by their relative paths, and clear
JSON errors before any byte of the archive."""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import zipfile
from typing import Any

import httpx

from tests.api.conftest import User
from tests.api.routes.test_entries import folder, put

ARCHIVE = "/api/v1/archive"


def fetch(user: User, ids: list[str], **headers: str) -> httpx.Response:
    return httpx.get(
        user.server.url + ARCHIVE,
        params=[("id", entry_id) for entry_id in ids],
        headers={**user.headers, **headers},
    )


def test_an_archive_holds_the_chosen_files_and_folders_whole(user: User) -> None:
    big = os.urandom(3 * 1024 * 1024 + 5)
    top = put(user, "", "a.bin", big)
    folder(user, "docs")
    folder(user, "docs/inner")
    folder(user, "docs/empty")
    folder(user, "other")
    inside = {
        "docs/x.txt": put(user, "docs", "x.txt", b"first"),
        "docs/inner/y.bin": put(user, "docs/inner", "y.bin", os.urandom(70_000)),
        "docs/inner/na\u00efve.txt": put(user, "docs/inner", "na\u00efve.txt", b""),
    }
    twin = put(user, "other", "a.bin", b"the other a.bin")
    docs = next(e for e in _listing(user, "")["entries"] if e["name"] == "docs")
    # The owner's archive holds a key-protected file too, as the owner's download does.
    key = hashlib.sha256(b"phrase").hexdigest()
    keyed = httpx.post(
        user.server.url + f"/api/v1/files/{top['id']}/key",
        json={"keyHash": key},
        headers=user.headers,
    )
    assert keyed.status_code == 200, keyed.text

    response = fetch(user, [top["id"], docs["id"], twin["id"], top["id"]])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    day = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    assert f'attachment; filename="lockr-{day}.zip"' in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "private, no-store"
    assert "content-length" not in response.headers  # streamed, not assembled first

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == sorted(
        [
            "a.bin",
            "a (2).bin",
            "docs/",
            "docs/empty/",
            "docs/inner/",
            "docs/x.txt",
            "docs/inner/y.bin",
            "docs/inner/na\u00efve.txt",
        ]
    )
    expected = {"a.bin": top, "a (2).bin": twin, **inside}
    for name, file in expected.items():
        data = archive.read(name)
        assert len(data) == file["size"]
        assert hashlib.sha1(data).hexdigest() == file["sha1"], name
    assert archive.read("a.bin") == big
    for info in archive.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
    # Each entry keeps its modification time (UTC, to the two seconds DOS can say).
    modified = datetime.datetime.fromisoformat(top["modifiedAt"].replace("Z", "+00:00"))
    stamped = datetime.datetime(*archive.getinfo("a.bin").date_time, tzinfo=datetime.UTC)
    assert abs((stamped - modified).total_seconds()) <= 2


def test_head_checks_the_ids_and_sends_no_archive(user: User) -> None:
    file = put(user, "", "h.txt", b"hello")
    head = httpx.head(user.server.url + ARCHIVE, params={"id": file["id"]}, headers=user.headers)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "application/zip"
    missing = httpx.head(
        user.server.url + ARCHIVE, params={"id": "local_" + "a" * 20}, headers=user.headers
    )
    assert missing.status_code == 404


def _listing(user: User, path: str) -> dict[str, Any]:
    response = httpx.get(
        user.server.url + "/api/v1/entries", params={"path": path}, headers=user.headers
    )
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    return str(error["message"])


def test_bad_selections_are_refused_before_any_byte(user: User, other_user: User) -> None:
    mine = put(user, "", "mine.txt", b"mine")
    theirs = put(other_user, "", "theirs.txt", b"theirs")
    assert "at least one" in _error(fetch(user, []), 400, "bad_request")
    many = [mine["id"]] + [f"local_{n:020d}".replace("0", "a") for n in range(200)]
    assert "at most 200" in _error(fetch(user, many), 400, "bad_request")
    unknown = "local_" + "b" * 20
    assert unknown in _error(fetch(user, [mine["id"], unknown]), 404, "not_found")
    assert "garbage" in _error(fetch(user, ["garbage"]), 404, "not_found")
    assert "another account" in _error(fetch(user, [mine["id"], theirs["id"]]), 403, "forbidden")
    root = _listing(user, "")["folder"]["id"]
    assert "top folder" in _error(fetch(user, [root]), 400, "bad_request")
    anonymous = httpx.get(user.server.url + ARCHIVE, params={"id": mine["id"]})
    _error(anonymous, 401, "unauthorized")
