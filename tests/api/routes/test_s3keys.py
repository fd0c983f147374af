"""S3 access keys over real HTTP: the secret shown once, metadata after, revoking at
once, each account seeing only its own keys."""

from __future__ import annotations

import base64
import re

import httpx

from tests.api.conftest import User
from tests.conftest import PASSWORD, LockrProcess


def keys_url(server: LockrProcess) -> str:
    return server.url + "/api/v1/s3-keys"


def test_create_list_and_revoke(user: User) -> None:
    url = keys_url(user.server)
    created = httpx.post(url, json={"name": "laptop"}, headers=user.headers)
    assert created.status_code == 201, created.text
    key = created.json()
    assert set(key) == {"id", "accessKeyId", "secretAccessKey", "name", "createdAt", "lastUsedAt"}
    assert re.fullmatch(r"LK[A-Z0-9]{18}", key["accessKeyId"])
    assert len(key["secretAccessKey"]) == 40 and key["lastUsedAt"] is None
    assert key["name"] == "laptop" and key["createdAt"].endswith("Z")

    plain = httpx.post(url, headers=user.headers)  # no body: no name
    assert plain.status_code == 201 and plain.json()["name"] == ""

    listed = httpx.get(url, headers=user.headers)
    assert listed.status_code == 200
    shown = listed.json()["s3Keys"]
    assert [k["accessKeyId"] for k in shown] == [key["accessKeyId"], plain.json()["accessKeyId"]]
    assert key["secretAccessKey"] not in listed.text and "secretAccessKey" not in listed.text
    assert shown[0] == {k: v for k, v in key.items() if k != "secretAccessKey"}

    gone = httpx.delete(f"{url}/{key['id']}", headers=user.headers)
    assert gone.status_code == 204
    again = httpx.delete(f"{url}/{key['id']}", headers=user.headers)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    remaining = httpx.get(url, headers=user.headers).json()["s3Keys"]
    assert [k["id"] for k in remaining] == [plain.json()["id"]]


def test_each_account_sees_and_revokes_only_its_own(user: User, other_user: User) -> None:
    url = keys_url(user.server)
    mine = httpx.post(url, headers=user.headers).json()
    assert httpx.get(url, headers=other_user.headers).json() == {"s3Keys": []}
    theirs = httpx.delete(f"{url}/{mine['id']}", headers=other_user.headers)
    assert theirs.status_code == 404
    assert [k["id"] for k in httpx.get(url, headers=user.headers).json()["s3Keys"]] == [mine["id"]]


def test_credentials_are_required(server: LockrProcess) -> None:
    url = keys_url(server)
    for response in (
        httpx.get(url),
        httpx.post(url, json={}),
        httpx.delete(url + "/1"),
        httpx.get(url, headers={"Authorization": "Bearer lk_nonsense"}),
    ):
        assert response.status_code == 401, response.text


def test_basic_credentials_work_with_a_json_body(user: User) -> None:
    basic = {
        "Authorization": "Basic " + base64.b64encode(f"{user.name}:{PASSWORD}".encode()).decode()
    }
    url = keys_url(user.server)
    created = httpx.post(url, json={"name": "rclone"}, headers=basic)
    assert created.status_code == 201, created.text
    form = httpx.post(url, content=b'{"name": "x"}', headers=basic)  # not labelled JSON
    assert form.status_code == 415


def test_bad_input_is_a_clear_400(user: User) -> None:
    url = keys_url(user.server)
    for body in ({"name": "x" * 101}, {"name": 3}, {"name": "a\u0000b"}, {"other": "x"}):
        response = httpx.post(url, json=body, headers=user.headers)
        assert response.status_code == 400, (body, response.text)
    assert httpx.delete(url + "/abc", headers=user.headers).status_code == 400
    assert httpx.get(url, headers=user.headers).json() == {"s3Keys": []}


def test_the_twenty_first_key_is_refused(user: User) -> None:
    url = keys_url(user.server)
    for _ in range(20):
        assert httpx.post(url, headers=user.headers).status_code == 201
    refused = httpx.post(url, headers=user.headers)
    assert refused.status_code == 403
    assert "at most 20 S3 access keys" in refused.json()["error"]["message"]
