"""Shares over real HTTP: made by the owner (the URL shown once), listed and revoked;
downloaded through the API and the share page, each download counted, a second one
refused past a limit of one; passwords; bad input."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import User
from tests.conftest import within_one_window


def share(user: User, file_id: str, **body: object) -> httpx.Response:
    return httpx.post(
        f"{user.server.url}/api/v1/files/{file_id}/shares", json=body, headers=user.headers
    )


def shares(user: User, file_id: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{user.server.url}/api/v1/files/{file_id}/shares", headers=user.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["shares"]  # type: ignore[no-any-return]


def test_a_share_of_one_download(user: User) -> None:
    file = user.upload("report.pdf", b"%PDF quarterly", **{"x-file-key": "the phrase"}).json()
    made = share(user, file["id"], maxDownloads=1, expiresAt="2999-01-01T00:00:00Z")
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    body = made.json()
    assert body["url"].startswith(user.server.url + "/s/sh_")
    assert body["maxDownloads"] == 1 and body["downloads"] == 0 and body["state"] == "open"
    assert body["expiresAt"] == "2999-01-01T00:00:00.000Z" and not body["passwordProtected"]
    token = body["url"].rsplit("/", 1)[1]
    page = httpx.get(body["url"])  # a preview uses nothing
    assert page.status_code == 200 and "report.pdf" in page.text and "1 download left" in page.text
    assert "Open until 2999-01-01 00:00 UTC." in page.text
    assert user.name not in page.text
    first = httpx.get(f"{user.server.url}/api/v1/shares/{token}/download")
    assert first.status_code == 200 and first.content == b"%PDF quarterly"  # no key needed
    assert first.headers["cache-control"] == "private, no-store"
    second = httpx.get(f"{user.server.url}/api/v1/shares/{token}/download")
    assert second.status_code == 410 and "used as many times" in second.json()["error"]["message"]
    again = httpx.post(body["url"])
    assert again.status_code == 410 and "used as many times" in again.text
    (listed,) = shares(user, file["id"])
    assert listed["downloads"] == 1 and listed["state"] == "used_up" and "url" not in listed
    assert token not in str(listed)
    gone = httpx.delete(f"{user.server.url}/api/v1/shares/{listed['id']}", headers=user.headers)
    assert gone.status_code == 204
    assert httpx.get(body["url"]).status_code == 404 and shares(user, file["id"]) == []


def test_a_password_share_through_its_page(user: User) -> None:
    file = user.upload("secret.txt", b"behind a password").json()
    url = share(user, file["id"], password="open sesame").json()["url"]
    token = url.rsplit("/", 1)[1]
    page = httpx.get(url)
    assert 'id="share-password"' in page.text
    asked = httpx.post(url)
    assert asked.status_code == 401 and "needs its password" in asked.text
    wrong = httpx.post(url, data={"password": "nope"})
    assert wrong.status_code == 403 and "wrong password" in wrong.text
    right = httpx.post(url, data={"password": "open sesame"})
    assert right.status_code == 200 and right.content == b"behind a password"
    assert "attachment" in right.headers["content-disposition"]
    api = f"{user.server.url}/api/v1/shares/{token}/download"
    assert httpx.get(api).status_code == 401
    assert httpx.get(api, headers={"X-Share-Password": "open sesame"}).status_code == 200
    assert shares(user, file["id"])[0]["downloads"] == 2


def test_wrong_passwords_on_the_share_page_are_throttled(user: User) -> None:
    within_one_window(900)  # LOCKR_LINK_GUESS_WINDOW's default
    file = user.upload("guarded.txt", b"behind a password").json()
    url = share(user, file["id"], password="open sesame").json()["url"]
    address = {"X-Forwarded-For": "10.99.0.1"}
    for _ in range(5):
        assert httpx.post(url, data={"password": "nope"}, headers=address).status_code == 403
    throttled = httpx.post(url, data={"password": "open sesame"}, headers=address)
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert "too many wrong passwords" in throttled.text and 'id="share-form"' in throttled.text


def test_only_the_owner_shares(user: User, other_user: User) -> None:
    file = user.upload("mine.txt", b"m").json()
    assert share(other_user, file["id"]).status_code == 403
    assert (
        httpx.get(
            f"{user.server.url}/api/v1/files/{file['id']}/shares", headers=other_user.headers
        ).status_code
        == 403
    )
    made = share(user, file["id"]).json()
    revoke = f"{user.server.url}/api/v1/shares/{made['id']}"
    assert httpx.delete(revoke, headers=other_user.headers).status_code == 404
    assert httpx.post(f"{user.server.url}/api/v1/files/{file['id']}/shares").status_code == 401
    for body in (
        {"maxDownloads": 0},
        {"maxDownloads": "3"},
        {"maxDownloads": True},
        {"expiresAt": "yesterday"},
        {"expiresAt": "2001-01-01T00:00:00Z"},
        {"password": "abc"},
        {"password": 1234},
        {"colour": "red"},
    ):
        assert share(user, file["id"], **body).status_code == 400, body
    assert share(user, "local_aaaaaaaaaaaaaaaaaaaa").status_code == 404
    assert httpx.get(user.server.url + "/s/sh_nothing").status_code == 404
    assert httpx.get(user.server.url + "/api/v1/shares/sh_nothing/download").status_code == 404
