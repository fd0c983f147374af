"""The JSON API's shared request handling over real HTTP: remembered (Basic) credentials
cannot change state from another site, and JSON endpoints insist on JSON with Basic."""

from __future__ import annotations

import subprocess

import httpx
import pytest

from tests.api.conftest import User
from tests.conftest import PASSWORD, LockrProcess

CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
]


def writes(server: LockrProcess, user: User) -> list[tuple[str, str, dict[str, object]]]:
    """State-changing requests of several routes, each with the body it needs."""
    file_id = user.upload("victim.txt", b"precious").json()["id"]
    return [
        ("POST", "/api/v1/tokens", {"json": {"name": "stolen"}}),
        ("POST", "/api/v1/upload", {"content": b"junk", "headers": {"x-file-name": "j.txt"}}),
        ("POST", "/api/v1/upload/session", {"json": {"name": "s.bin", "size": 3}}),
        ("POST", f"/api/v1/files/{file_id}/key", {"json": {"key": "locked out"}}),
        ("DELETE", f"/api/v1/files/{file_id}", {}),
        ("POST", "/api/v1/account/password", {"json": {"currentPassword": PASSWORD}}),
        ("DELETE", "/api/v1/api-key", {}),
    ]


@pytest.mark.parametrize("browser", CROSS_SITE)
def test_cross_site_basic_writes_are_refused(
    server: LockrProcess, user: User, browser: dict[str, str]
) -> None:
    for method, path, kwargs in writes(server, user):
        extra = dict(kwargs.pop("headers", {}))  # type: ignore[call-overload]
        response = httpx.request(
            method,
            server.url + path,
            auth=(user.name, PASSWORD),
            headers={**extra, **browser},
            **kwargs,  # type: ignore[arg-type]
        )
        assert response.status_code == 403, (method, path, response.text)
        error = response.json()["error"]
        assert error["code"] == "cross_site" and "Bearer" in error["message"], error
    files = httpx.get(server.url + "/api/v1/files", headers=user.headers).json()["files"]
    assert [(f["name"], f["keyProtected"]) for f in files] == [("victim.txt", False)]
    tokens = httpx.get(server.url + "/api/v1/tokens", headers=user.headers).json()["tokens"]
    assert [t["name"] for t in tokens] == ["signup"]


def test_reads_bearer_and_same_origin_pages_are_not_refused(
    server: LockrProcess, user: User
) -> None:
    evil = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
    read = httpx.get(server.url + "/api/v1/files", auth=(user.name, PASSWORD), headers=evil)
    assert read.status_code == 200
    by_token = httpx.post(
        server.url + "/api/v1/tokens", json={"name": "t"}, headers={**user.headers, **evil}
    )
    assert by_token.status_code == 201
    own = {"Sec-Fetch-Site": "same-origin", "Origin": server.url}
    same_origin = httpx.post(
        server.url + "/api/v1/tokens", json={"name": "p"}, auth=(user.name, PASSWORD), headers=own
    )
    assert same_origin.status_code == 201
    tool = httpx.post(server.url + "/api/v1/tokens", json={}, auth=(user.name, PASSWORD))
    assert tool.status_code == 201


def test_only_the_session_counts_the_address_it_was_sent_to_as_own(
    server: LockrProcess, user: User
) -> None:
    """Basic credentials count ``public_url``'s origin only as lockr's own; the web
    session, whose cookie only this address's pages hold, that address's too."""
    port = server.url.rsplit(":", 1)[1]
    elsewhere = {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"}
    basic = httpx.post(
        server.url + "/api/v1/tokens", json={}, auth=(user.name, PASSWORD), headers=elsewhere
    )
    assert basic.status_code == 403 and basic.json()["error"]["code"] == "cross_site"
    client, csrf = signed_in(server, user)
    try:
        made = client.post("/api/v1/tokens", json={}, headers={**elsewhere, "X-CSRF-Token": csrf})
        assert made.status_code == 201
    finally:
        client.close()


def test_curl_u_uploads_a_raw_body(server: LockrProcess, user: User, tmp_path: object) -> None:
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "-u",
            f"{user.name}:{PASSWORD}",
            "-H",
            "x-file-name: raw.bin",
            "--data-binary",
            "@-",
            server.url + "/api/v1/upload",
        ],
        input=b"\x00raw bytes\xff" * 1000,
        capture_output=True,
        check=True,
    )
    uploaded = httpx.Response(200, content=done.stdout).json()
    assert uploaded["name"] == "raw.bin" and uploaded["size"] == 11000, uploaded


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/tokens", {"name": "from a form"}),
        ("/api/v1/upload/session", {"name": "f.bin", "size": "1"}),
        ("/api/v1/account/password", {"currentPassword": PASSWORD, "newPassword": "x" * 12}),
    ],
)
def test_forms_to_json_endpoints_with_basic_are_415(
    server: LockrProcess, user: User, path: str, body: dict[str, str]
) -> None:
    form = httpx.post(server.url + path, data=body, auth=(user.name, PASSWORD))
    assert form.status_code == 415, form.text
    assert "application/json" in form.json()["error"]["message"]
    plain = httpx.post(
        server.url + path,
        content=b'{"name": "x"}',
        headers={"Content-Type": "text/plain"},
        auth=(user.name, PASSWORD),
    )
    assert plain.status_code == 415
    # With a token, curl -d '{...}' (labelled as a form) still works.
    labelled = httpx.post(
        server.url + "/api/v1/tokens",
        content=b'{"name": "curl -d"}',
        headers={**user.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert labelled.status_code == 201
    json_ish = httpx.post(
        server.url + "/api/v1/tokens",
        content=b'{"name": "vendor json"}',
        headers={"Content-Type": "application/vnd.lockr+json; charset=utf-8"},
        auth=(user.name, PASSWORD),
    )
    assert json_ish.status_code == 201


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/login", '{"identifier": "x", "password": "\\ud800"}', "password"),
        ("/api/v1/tokens", '{"name": "\\udfff"}', "name"),
        (
            "/api/v1/account/password",
            '{"currentPassword": "\\ud800", "newPassword": "12345678"}',
            "currentPassword",
        ),
        ("/api/v1/upload/session", '{"name": "a.txt", "size": 1, "type": "a\\ud800b"}', "type"),
        ("/api/v1/upload/session", '{"name": "a.txt", "size": 1, "key": "\\ud800"}', "key"),
        ("/api/v1/files/register", '{"id": "x", "claimToken": "\\ud800"}', "claimToken"),
        ("/api/v1/tokens", '{"name": [{"deep": ["\\udc00"]}]}', "name"),
    ],
)
def test_json_strings_must_be_unicode(
    server: LockrProcess, user: User, path: str, body: str, field: str
) -> None:
    """A lone surrogate escape in a JSON string is a 400 naming the field, not a 500
    when the string is encoded."""
    response = httpx.post(
        server.url + path,
        content=body.encode(),
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert f"field {field!r}" in message and "surrogate" in message, message


def test_json_strings_may_hold_any_character(server: LockrProcess, user: User) -> None:
    response = httpx.post(
        server.url + "/api/v1/tokens",
        content=b'{"name": "\\ud83d\\ude00 \\u00e9"}',
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201 and response.json()["name"] == "\U0001f600 \u00e9"


def signed_in(server: LockrProcess, user: User) -> tuple[httpx.Client, str]:
    """A client signed in to the web app as ``user``, and its session's CSRF token."""
    client = httpx.Client(base_url=server.url)
    signed = client.post("/login", data={"identifier": user.name, "password": PASSWORD})
    assert signed.status_code == 303 and "lockr_session" in client.cookies
    page = client.get("/files").text
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return client, csrf


def test_the_web_session_cookie_authenticates_the_api(server: LockrProcess, user: User) -> None:
    client, csrf = signed_in(server, user)
    try:
        me = client.get("/api/v1/account")
        assert me.status_code == 200 and me.json()["account"]["username"] == user.name
        for method, path, kwargs in writes(server, user):
            extra = dict(kwargs.pop("headers", {}))  # type: ignore[call-overload]
            for browser in CROSS_SITE:
                refused = client.request(
                    method, path, headers={**extra, **browser, "X-CSRF-Token": csrf}, **kwargs
                )
                assert refused.status_code == 403, (method, path, browser)
                assert refused.json()["error"]["code"] == "cross_site"
            bare = client.request(method, path, headers=extra, **kwargs)
            assert bare.status_code == 403 and "CSRF" in bare.json()["error"]["message"]
        files = httpx.get(server.url + "/api/v1/files", headers=user.headers).json()["files"]
        assert {f["keyProtected"] for f in files} == {False}  # nothing was changed
        page = {"Sec-Fetch-Site": "same-origin", "Origin": server.url, "X-CSRF-Token": csrf}
        made = client.post("/api/v1/tokens", json={"name": "from the page"}, headers=page)
        assert made.status_code == 201
        login = {"identifier": user.name, "password": PASSWORD}
        token = httpx.post(server.url + "/api/v1/login", json=login).json()["token"]
        as_token = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {token}"})
        current = [t["name"] for t in as_token.json()["tokens"] if t["current"]]
        assert current == ["login"]  # a header wins over the cookie
        session = client.cookies["lockr_session"]
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
        client.cookies.set("lockr_session", session)  # kept by a browser that ignored the end
        assert client.get("/api/v1/account").status_code == 401  # a stale cookie: no one
        guest = client.post("/api/v1/upload", content=b"g", headers={"x-file-name": "g", **page})
        assert guest.status_code == 201 and "claimToken" in guest.json()
    finally:
        client.close()
