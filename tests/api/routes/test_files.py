"""File management over real HTTP: list, register, key, delete, signed URLs."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.api.conftest import User
from tests.conftest import LockrProcess


def files(user: User, **params: object) -> dict[str, object]:
    response = httpx.get(user.server.url + "/api/v1/files", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_list_is_paginated_newest_first(user: User) -> None:
    ids = [user.upload(f"f{i}.txt", f"data {i}".encode()).json()["id"] for i in range(7)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = files(user, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += [f["id"] for f in page["files"]]  # type: ignore[union-attr]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids)) and pages == 3
    first = files(user, limit=1)["files"][0]  # type: ignore[index]
    assert set(first) >= {
        "id",
        "name",
        "size",
        "type",
        "region",
        "keyProtected",
        "createdAt",
        "modifiedAt",
        "md5",
        "sha1",
        "downloadUrl",
    }
    bad = httpx.get(
        user.server.url + "/api/v1/files", params={"cursor": "@@"}, headers=user.headers
    )
    assert bad.status_code == 400
    assert httpx.get(user.server.url + "/api/v1/files").status_code == 401


def test_accounts_see_only_their_files(user: User, other_user: User) -> None:
    mine = user.upload("mine.txt", b"mine").json()
    assert files(other_user)["files"] == []
    response = httpx.delete(
        user.server.url + f"/api/v1/files/{mine['id']}", headers=other_user.headers
    )
    assert response.status_code == 403
    key = httpx.post(
        user.server.url + f"/api/v1/files/{mine['id']}/key",
        json={"key": "k"},
        headers=other_user.headers,
    )
    assert key.status_code == 403


def test_set_and_clear_key(user: User) -> None:
    file = user.upload("doc.txt", b"document").json()
    base = user.server.url + f"/api/v1/files/{file['id']}/key"
    assert httpx.post(base, json={"key": "phrase one"}, headers=user.headers).json()["keyProtected"]
    assert httpx.get(file["downloadUrl"]).status_code == 403
    good = hashlib.sha256(b"phrase one").hexdigest()
    assert httpx.get(file["downloadUrl"], params={"keyHash": good}).content == b"document"
    assert httpx.get(file["downloadUrl"], headers=user.headers).status_code == 200  # owner
    cleared = httpx.post(base, json={"key": None}, headers=user.headers).json()
    assert cleared["keyProtected"] is False
    protected = httpx.post(base, json={"keyHash": good}, headers=user.headers).json()
    assert protected["keyProtected"] is True
    assert httpx.get(file["downloadUrl"]).status_code == 403
    assert httpx.post(base, headers=user.headers).json()["keyProtected"] is False  # {} clears
    assert httpx.post(base, json={"key": 5}, headers=user.headers).status_code == 400
    assert httpx.post(base, json={"keyHash": "zz"}, headers=user.headers).status_code == 400


def test_delete_frees_quota_and_the_id(user: User) -> None:
    file = user.upload("gone.bin", b"z" * 100_000).json()
    account = user.server.url + "/api/v1/account"
    before = httpx.get(account, headers=user.headers).json()["account"]["usedBytes"]
    response = httpx.delete(user.server.url + f"/api/v1/files/{file['id']}", headers=user.headers)
    assert response.status_code == 204
    after = httpx.get(account, headers=user.headers).json()["account"]["usedBytes"]
    assert before - after == 100_000
    assert httpx.get(file["downloadUrl"]).status_code == 404
    again = httpx.delete(user.server.url + f"/api/v1/files/{file['id']}", headers=user.headers)
    assert again.status_code == 404


def test_register(server: LockrProcess, user: User, other_user: User) -> None:
    with httpx.Client() as browser:  # keeps the guest cookie, as a browser would
        guest = browser.post(
            server.url + "/api/v1/upload",
            content=b"from a browser",
            headers={"x-file-name": "g.txt"},
        ).json()
        claimed = browser.post(
            server.url + "/api/v1/files/register", json={"id": guest["id"]}, headers=user.headers
        )
    assert claimed.status_code == 200 and claimed.json()["id"] == guest["id"]
    again = httpx.post(
        server.url + "/api/v1/files/register", json={"id": guest["id"]}, headers=user.headers
    )
    assert again.status_code == 200  # idempotent
    stolen = httpx.post(
        server.url + "/api/v1/files/register", json={"id": guest["id"]}, headers=other_user.headers
    )
    assert stolen.status_code == 403
    anonymous = httpx.post(
        server.url + "/api/v1/upload", content=b"x", headers={"x-file-name": "h.txt"}
    ).json()
    no_proof = httpx.post(
        server.url + "/api/v1/files/register",
        json={"id": anonymous["id"]},
        headers=other_user.headers,
    )
    assert no_proof.status_code == 403 and "claimToken" in no_proof.json()["error"]["message"]
    missing = httpx.post(
        server.url + "/api/v1/files/register",
        json={"id": "local_aaaaaaaaaaaaaaaaaaaa"},
        headers=user.headers,
    )
    assert missing.status_code == 404
    assert [f["name"] for f in files(user)["files"]] == ["g.txt"]  # type: ignore[index]


def test_signed_urls_expire_and_resist_tampering(user: User) -> None:
    file = user.upload("signed.txt", b"signed", **{"x-file-key": "k"}).json()
    response = httpx.get(
        user.server.url + f"/api/v1/files/{file['id']}/signed-url",
        params={"expires": 2},
        headers=user.headers,
    )
    assert response.status_code == 200
    url = response.json()["url"]
    assert httpx.get(url).content == b"signed"  # no key needed
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    later = dict(query, expires=str(int(query["expires"]) + 3600))
    assert httpx.get(url.split("?")[0] + "?" + urlencode(later)).status_code == 403
    flipped = dict(
        query,
        signature=query["signature"][:-1] + "0"
        if query["signature"][-1] != "0"
        else query["signature"][:-1] + "1",
    )
    assert httpx.get(url.split("?")[0] + "?" + urlencode(flipped)).status_code == 403
    time.sleep(3.1)
    expired = httpx.get(url)
    assert expired.status_code == 403 and "expired" in expired.json()["error"]["message"]
    bad = httpx.get(
        user.server.url + f"/api/v1/files/{file['id']}/signed-url",
        params={"expires": 0},
        headers=user.headers,
    )
    assert bad.status_code == 400


def test_bad_cursors_and_limits_are_400(user: User) -> None:
    user.upload("c.txt", b"c")
    url = user.server.url + "/api/v1/files"
    overflowing = base64.urlsafe_b64encode(b"n" + b"9" * 30).decode().rstrip("=")
    for params in (
        {"cursor": "!!!"},
        {"cursor": overflowing},
        {"cursor": base64.urlsafe_b64encode(b"n\xb2").decode()},
        {"limit": "²"},
        {"limit": "٣"},
        {"limit": "9" * 5000},
        {"limit": " 5"},
    ):
        response = httpx.get(url, params=params, headers=user.headers)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["error"]["code"] == "bad_request"
