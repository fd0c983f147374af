"""The account's tree over real HTTP: a folder listed a page at a time in each order,
new folders, rename and move by id, delete, and clear errors for bad input."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from tests.api.conftest import User


def call(user: User, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, user.server.url + path, headers=user.headers, **kwargs)


def listing(user: User, **params: object) -> dict[str, Any]:
    response = call(user, "GET", "/api/v1/entries", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def folder(user: User, path: str) -> dict[str, Any]:
    made = call(user, "POST", "/api/v1/folders", json={"path": path})
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def put(user: User, folder: str, name: str, data: bytes) -> dict[str, Any]:
    session = call(
        user,
        "POST",
        "/api/v1/upload/session",
        json={"name": name, "size": len(data), "path": folder},
    )
    assert session.status_code == 201, session.text
    done = httpx.put(session.json()["uploadUrl"], content=data)
    assert done.status_code == 201, done.text
    return done.json()  # type: ignore[no-any-return]


def names(page: dict[str, Any]) -> list[str]:
    return [entry["name"] for entry in page["entries"]]


def test_a_folder_is_listed_folders_first_in_pages_that_join_up(user: User) -> None:
    top = folder(user, "docs")
    assert top["kind"] == "folder" and top["path"] == "docs" and top["id"].startswith("folder_")
    folder(user, "docs/zz")
    folder(user, "docs/aa")
    put(user, "docs", "big.bin", b"x" * 300)
    put(user, "docs", "small.txt", b"x")
    put(user, "docs", "mid.txt", b"x" * 20)
    whole = listing(user, path="docs")
    assert whole["folder"] == top and whole["count"] == 5 and whole["nextCursor"] is None
    assert names(whole) == ["aa", "zz", "big.bin", "mid.txt", "small.txt"]
    file = whole["entries"][2]
    assert file["kind"] == "file" and file["size"] == 300 and file["keyProtected"] is False
    assert file["path"] == "docs/big.bin" and file["downloadUrl"].endswith(file["id"])
    by_size: list[str] = []
    cursor = None
    while True:
        page = listing(
            user, path="docs", sort="size", order="desc", limit=2, **({"cursor": cursor} or {})
        )
        assert page["count"] == (5 if cursor is None else None)  # the first page counts
        by_size += names(page)
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert by_size == ["zz", "aa", "big.bin", "mid.txt", "small.txt"]
    assert names(listing(user, path="docs", kind="folder")) == ["aa", "zz"]
    root = listing(user)
    assert root["folder"]["path"] == "" and "docs" in names(root)


def test_rename_move_and_delete_by_id(user: User) -> None:
    src, dst = folder(user, "src"), folder(user, "dst")
    inner = folder(user, "src/inner")
    file = put(user, "src/inner", "a.txt", b"hello")
    renamed = call(user, "PATCH", f"/api/v1/entries/{file['id']}", json={"name": "b.txt"})
    assert renamed.status_code == 200 and renamed.json()["path"] == "src/inner/b.txt"
    assert renamed.json()["id"] == file["id"]  # the same file: its id and link stay
    moved = call(user, "PATCH", f"/api/v1/entries/{inner['id']}", json={"parentId": dst["id"]})
    assert moved.status_code == 200 and moved.json()["path"] == "dst/inner"
    assert names(listing(user, path="dst/inner")) == ["b.txt"]
    both = call(
        user, "PATCH", f"/api/v1/entries/{file['id']}", json={"parentId": src["id"], "name": "c"}
    )
    assert both.status_code == 200 and both.json()["path"] == "src/c"
    got = httpx.get(both.json()["downloadUrl"])
    assert got.content == b"hello"
    put(user, "src", "d", b"other")
    taken = call(user, "PATCH", f"/api/v1/entries/{file['id']}", json={"name": "d"})
    assert taken.status_code == 409  # never overwrites
    into_itself = call(
        user, "PATCH", f"/api/v1/entries/{dst['id']}", json={"parentId": moved.json()["id"]}
    )
    assert into_itself.status_code == 409
    root = listing(user)["folder"]
    assert call(user, "DELETE", f"/api/v1/entries/{root['id']}").status_code == 403
    assert (
        call(user, "PATCH", f"/api/v1/entries/{root['id']}", json={"name": "x"}).status_code == 403
    )
    before = call(user, "GET", "/api/v1/account").json()["account"]["usedBytes"]
    assert call(user, "DELETE", f"/api/v1/entries/{dst['id']}").status_code == 204
    assert call(user, "GET", "/api/v1/entries", params={"path": "dst"}).status_code == 404
    after = call(user, "GET", "/api/v1/account").json()["account"]["usedBytes"]
    assert before - after == 0  # the file had moved out of dst before
    assert call(user, "DELETE", f"/api/v1/entries/{file['id']}").status_code == 204
    assert call(user, "GET", "/api/v1/account").json()["account"]["usedBytes"] == after - 5


def test_another_accounts_entries_are_out_of_reach(user: User, other_user: User) -> None:
    mine = folder(user, "private")
    file = put(user, "private", "p.txt", b"p")
    theirs = folder(other_user, "theirs")
    for entry in (mine, file):
        assert call(other_user, "DELETE", f"/api/v1/entries/{entry['id']}").status_code == 403
        moving = call(
            other_user, "PATCH", f"/api/v1/entries/{entry['id']}", json={"parentId": theirs["id"]}
        )
        assert moving.status_code == 403
    into_theirs = call(
        user, "PATCH", f"/api/v1/entries/{file['id']}", json={"parentId": theirs["id"]}
    )
    assert into_theirs.status_code == 404
    assert call(other_user, "GET", "/api/v1/entries", params={"path": "private"}).status_code == 404
    assert httpx.get(user.server.url + "/api/v1/entries").status_code == 401


def _cursor(*values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def test_bad_input_is_a_clear_error(user: User) -> None:
    folder(user, "bad")
    put(user, "", "top.txt", b"t")
    for params, words in [
        ({"sort": "colour"}, "sort must be one of"),
        ({"order": "up"}, "order must be"),
        ({"kind": "file"}, "kind must be"),
        ({"limit": "0"}, "limit must be between"),
        ({"limit": "1001"}, "limit must be between"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "@@"}, "cursor"),
        ({"cursor": _cursor("size", "asc", "all", False, 1, "a")}, "cursor"),  # another sort
        ({"cursor": _cursor("name", "asc", "all", False, 1, "a")}, "cursor"),  # not a name
        ({"cursor": _cursor("name", "asc", "all", "no", "a", "a")}, "cursor"),
        ({"cursor": _cursor("name", "asc", "all", False, "\ud800", "a")}, "cursor"),
        ({"cursor": base64.urlsafe_b64encode(b"[" * 30_000).decode()}, "cursor"),
        ({"path": "/".join(["p"] * 65)}, "at most 64 components"),
    ]:
        refused = call(user, "GET", "/api/v1/entries", params=params)
        assert refused.status_code == 400, (params, refused.text)
        assert words in refused.json()["error"]["message"], params
    size_cursor = {"sort": "size", "cursor": _cursor("size", "asc", "all", False, 2**70, "a")}
    assert call(user, "GET", "/api/v1/entries", params=size_cursor).status_code == 400
    assert call(user, "GET", "/api/v1/entries", params={"path": "top.txt"}).status_code == 409
    assert call(user, "GET", "/api/v1/entries", params={"path": "nowhere"}).status_code == 404
    for body, status in [
        ({"path": "bad"}, 409),  # exists
        ({"path": "no/such/parent"}, 404),
        ({"path": "bad/x\u0001"}, 400),
        ({"path": 7}, 400),
        ({}, 400),
        ({"path": "bad/y", "parents": True}, 400),
    ]:
        assert call(user, "POST", "/api/v1/folders", json=body).status_code == status, body
    target = listing(user, path="bad")["folder"]["id"]
    for body in ({"name": ""}, {"name": "a/b"}, {"name": 3}, {"parentId": 3}, {"colour": "red"}):
        answer = call(user, "PATCH", f"/api/v1/entries/{target}", json=body)
        assert answer.status_code == 400, body
    assert call(user, "PATCH", "/api/v1/entries/not-an-id", json={"name": "x"}).status_code == 404
    missing = call(user, "PATCH", f"/api/v1/entries/{target}", json={"parentId": "folder_zz"})
    assert missing.status_code == 404
