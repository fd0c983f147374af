"""Accounts, login and tokens over real HTTP, as the storage seed documents them."""

from __future__ import annotations

import base64
import subprocess

import httpx
import pytest

from tests.conftest import PASSWORD, LockrProcess, in_parallel


def signup(server: LockrProcess, username: str) -> dict[str, object]:
    response = httpx.post(
        server.url + "/api/v1/accounts",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_signup_returns_account_and_token(server: LockrProcess) -> None:
    body = signup(server, "alice")
    assert body["account"]["username"] == "alice"  # type: ignore[index]
    assert body["account"]["quotaBytes"] == 1024**3  # type: ignore[index]
    assert "password" not in str(body["account"]).lower()
    me = httpx.get(
        server.url + "/api/v1/account", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert me.status_code == 200 and me.json()["account"]["email"] == "alice@example.com"


def test_seed_login_command_verbatim(server: LockrProcess) -> None:
    """The storage seed's curl command, with only the host replaced."""
    httpx.post(
        server.url + "/api/v1/accounts",
        json={"username": "you", "email": "you@example.com", "password": "hunter2!!"},
    )
    command = (
        f"curl -s {server.url}/api/v1/login \\\n"
        '-H "Content-Type: application/json" \\\n'
        """-d '{"identifier":"you@example.com","password":"hunter2!!"}'"""
    )
    output = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, check=True
    ).stdout
    token = httpx.Response(200, content=output).json()["token"]
    for header in (
        f"Bearer {token}",
        "Basic " + base64.b64encode(b"you@example.com:hunter2!!").decode(),
        "Basic " + base64.b64encode(b"you:hunter2!!").decode(),
    ):
        assert (
            httpx.get(server.url + "/api/v1/account", headers={"Authorization": header}).status_code
            == 200
        )


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ({"username": "Bad", "email": "b@example.com", "password": PASSWORD}, 400, "username"),
        ({"username": "bobby", "email": "nope", "password": PASSWORD}, 400, "email"),
        ({"username": "bobby", "email": "b@example.com", "password": "short"}, 400, "password"),
        ({"username": "bobby", "email": "b@example.com"}, 400, "'password' is required"),
        (
            {"username": "bobby", "email": "b@example.com", "password": PASSWORD, "x": 1},
            400,
            "unknown field 'x'",
        ),
        ({"username": "alice", "email": "new@example.com", "password": PASSWORD}, 409, "username"),
    ],
)
def test_signup_errors(
    server: LockrProcess, body: dict[str, object], status: int, mentions: str
) -> None:
    response = httpx.post(server.url + "/api/v1/accounts", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert mentions in error["message"] and error["code"]


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"", 400, "JSON object body"),
        (b"{nope", 400, "not valid JSON"),
        (b"[1]", 400, "JSON object"),
        (b"{" + b" " * 70000 + b"}", 413, "at most"),
        (b'{"a":' + b"[" * 30000 + b"]" * 30000 + b"}", 400, "nested too deeply"),
    ],
)
def test_malformed_bodies(server: LockrProcess, content: bytes, status: int, message: str) -> None:
    response = httpx.post(
        server.url + "/api/v1/login", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def test_wrong_credentials_then_throttled(server: LockrProcess) -> None:
    signup(server, "carol")
    for _ in range(3):
        response = httpx.post(
            server.url + "/api/v1/login", json={"identifier": "carol", "password": "wrong-password"}
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    response = httpx.post(
        server.url + "/api/v1/login", json={"identifier": "carol", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    # Another account from the same address is not locked out.
    signup(server, "dave")
    ok = httpx.post(server.url + "/api/v1/login", json={"identifier": "dave", "password": PASSWORD})
    assert ok.status_code == 200


def test_missing_and_bad_auth_are_401(server: LockrProcess) -> None:
    for headers in ({}, {"Authorization": "Bearer lk_nope"}, {"Authorization": "Digest x"}):
        response = httpx.get(server.url + "/api/v1/account", headers=headers)
        assert response.status_code == 401
        assert "WWW-Authenticate" in response.headers


def test_tokens_list_create_revoke(server: LockrProcess) -> None:
    first = signup(server, "erin")["token"]
    auth = {"Authorization": f"Bearer {first}"}
    created = httpx.post(server.url + "/api/v1/tokens", json={"name": "rclone"}, headers=auth)
    assert created.status_code == 201
    second = created.json()
    assert second["token"].startswith("lk_") and second["name"] == "rclone"
    listing = httpx.get(server.url + "/api/v1/tokens", headers=auth).json()["tokens"]
    assert [t["name"] for t in listing] == ["signup", "rclone"]
    assert [t["current"] for t in listing] == [True, False]
    assert all("token" not in t and len(t["prefix"]) == 10 for t in listing)
    other = {"Authorization": f"Bearer {second['token']}"}
    assert httpx.get(server.url + "/api/v1/account", headers=other).status_code == 200
    gone = httpx.delete(server.url + f"/api/v1/tokens/{second['id']}", headers=auth)
    assert gone.status_code == 204
    assert httpx.get(server.url + "/api/v1/account", headers=other).status_code == 401
    again = httpx.delete(server.url + f"/api/v1/tokens/{second['id']}", headers=auth)
    assert again.status_code == 404
    assert httpx.delete(server.url + "/api/v1/tokens/abc", headers=auth).status_code == 400


def test_unknown_route_and_method(server: LockrProcess) -> None:
    missing = httpx.get(server.url + "/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = httpx.get(server.url + "/api/v1/login")
    assert wrong.status_code == 405


def test_change_password(server: LockrProcess) -> None:
    first = signup(server, "frank")["token"]
    auth = {"Authorization": f"Bearer {first}"}
    laptop = httpx.post(server.url + "/api/v1/tokens", json={"name": "laptop"}, headers=auth)
    other = {"Authorization": f"Bearer {laptop.json()['token']}"}
    url = server.url + "/api/v1/account/password"
    me = server.url + "/api/v1/account"
    assert httpx.get(me, auth=("frank", PASSWORD)).status_code == 200  # now remembered
    for body, status, words in [
        ({"currentPassword": PASSWORD, "newPassword": "short"}, 400, "new password"),
        ({"currentPassword": PASSWORD}, 400, "newPassword"),
        ({"currentPassword": PASSWORD, "newPassword": "long enough", "x": 1}, 400, "'x'"),
        ({"currentPassword": 1, "newPassword": "long enough"}, 400, "currentPassword"),
        (
            {"currentPassword": PASSWORD, "newPassword": "long enough", "revokeTokens": "yes"},
            400,
            "revokeTokens",
        ),
        (
            {"currentPassword": "wrong-password", "newPassword": "long enough"},
            403,
            "current password",
        ),
    ]:
        refused = httpx.post(url, json=body, headers=auth)
        assert refused.status_code == status and words in refused.json()["error"]["message"], (
            body,
            refused.text,
        )
    assert httpx.post(url, json={}).status_code == 401
    changed = httpx.post(
        url,
        json={"currentPassword": PASSWORD, "newPassword": "a new passphrase", "revokeTokens": True},
        headers=auth,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["revokedTokens"] == 1
    assert changed.json()["account"]["username"] == "frank"
    assert httpx.get(me, auth=("frank", PASSWORD)).status_code == 401  # at once
    assert httpx.get(me, auth=("frank", "a new passphrase")).status_code == 200
    assert httpx.get(me, headers=auth).status_code == 200  # the token the change used
    assert httpx.get(me, headers=other).status_code == 401
    # Without revokeTokens, tokens stay; Basic works for the change too.
    again = httpx.post(
        url,
        json={"currentPassword": "a new passphrase", "newPassword": "a third passphrase"},
        auth=("frank", "a new passphrase"),
    )
    assert again.status_code == 200 and again.json()["revokedTokens"] == 0
    assert httpx.get(me, headers=auth).status_code == 200


def test_wrong_current_passwords_are_throttled_like_logins(server: LockrProcess) -> None:
    auth = {"Authorization": f"Bearer {signup(server, 'gina')['token']}"}
    url = server.url + "/api/v1/account/password"
    for _ in range(3):
        wrong = httpx.post(
            url, json={"currentPassword": "guess-guess", "newPassword": "long enough"}, headers=auth
        )
        assert wrong.status_code == 403
    throttled = httpx.post(
        url, json={"currentPassword": PASSWORD, "newPassword": "long enough"}, headers=auth
    )
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    login = httpx.post(
        server.url + "/api/v1/login", json={"identifier": "gina", "password": PASSWORD}
    )
    assert login.status_code == 429


def test_parallel_sign_ups_stop_at_the_limit(server: LockrProcess) -> None:
    """Sign-ups at once from one address: twenty accounts are created, the rest are
    429 and created nothing; refused sign-ups (taken names) did not use the budget."""
    address = {"X-Forwarded-For": "203.0.113.20"}
    signup(server, "taken")
    for _ in range(25):
        taken = httpx.post(
            server.url + "/api/v1/accounts",
            json={"username": "taken", "email": "other@example.com", "password": PASSWORD},
            headers=address,
        )
        assert taken.status_code == 409

    def sign_up(index: int) -> int:
        name = f"crowd{index}"
        body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        return httpx.post(server.url + "/api/v1/accounts", json=body, headers=address).status_code

    statuses = in_parallel(sign_up, range(50))
    assert statuses.count(201) == 20 and statuses.count(429) == 30
