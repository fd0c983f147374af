"""Signing in to the web app over real HTTP: the forms, sessions that are login
tokens, a return to the page asked for (never elsewhere), refusals from other origins,
and signing out."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import User
from tests.conftest import PASSWORD, LockrProcess, within_one_window


@pytest.fixture
def client(server: LockrProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url) as client:
        yield client


def csrf_of(page: str) -> str:
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def test_sign_up_signs_in(client: httpx.Client, server: LockrProcess) -> None:
    form = {"username": "formsignup", "email": "formsignup@example.com", "password": PASSWORD}
    made = client.post("/signup", data=form)
    assert made.status_code == 303 and made.headers["location"] == "/files"
    cookie = made.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http here
    page = client.get("/files")
    assert page.status_code == 200 and "formsignup" in page.text
    me = client.get("/api/v1/tokens").json()["tokens"]
    assert [(t["name"], t["current"]) for t in me] == [("web session", True)]
    again = client.get("/signup")
    assert again.status_code == 303  # signed in already: the form leads home
    with httpx.Client(base_url=server.url) as other:
        taken = other.post("/signup", data=form)
        assert taken.status_code == 409 and "already registered" in taken.text
        assert 'value="formsignup"' in taken.text and PASSWORD not in taken.text
        short = other.post("/signup", data={**form, "username": "x", "password": "short"})
        assert short.status_code == 400 and 'id="notice"' in short.text


def test_sign_in_goes_back_where_it_was_asked_for(
    client: httpx.Client, server: LockrProcess, user: User
) -> None:
    asked = client.get("/files/a%20b/c")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/login?next=%2Ffiles%2Fa%2520b%2Fc"
    page = client.get(asked.headers["location"])
    assert 'name="next" value="/files/a%20b/c"' in page.text
    wrong = client.post("/login", data={"identifier": user.name, "password": "wrong"})
    assert (
        wrong.status_code == 401 and "wrong" in wrong.text and "lockr_session" not in client.cookies
    )
    back = client.post(
        "/login", data={"identifier": user.name, "password": PASSWORD, "next": "/files/a%20b/c"}
    )
    assert back.status_code == 303 and back.headers["location"] == "/files/a%20b/c"
    assert client.get("/login?next=/settings").headers["location"] == "/settings"


@pytest.mark.parametrize(
    "elsewhere",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "files", "/a b", "/é", ""],
)
def test_sign_in_never_leads_elsewhere(server: LockrProcess, user: User, elsewhere: str) -> None:
    with httpx.Client(base_url=server.url) as client:
        signed = client.post(
            "/login", data={"identifier": user.name, "password": PASSWORD, "next": elsewhere}
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/files"
        assert client.get("/login", params={"next": elsewhere}).headers["location"] == "/files"


@pytest.mark.parametrize(
    "browser",
    [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}],
)
def test_forms_from_another_site_are_refused(
    server: LockrProcess, user: User, browser: dict[str, str]
) -> None:
    with httpx.Client(base_url=server.url) as client:
        form = {"identifier": user.name, "password": PASSWORD}
        refused = client.post("/login", data=form, headers=browser)
        assert refused.status_code == 403 and "lockr_session" not in client.cookies
        sign_up = {"username": "evilmade", "email": "evil@example.com", "password": PASSWORD}
        assert client.post("/signup", data=sign_up, headers=browser).status_code == 403
        same = client.post("/login", data=form, headers={"Origin": server.url})
        assert same.status_code == 303
        csrf = csrf_of(client.get("/files").text)
        out = client.post("/logout", data={"csrf": csrf}, headers=browser)
        assert out.status_code == 403 and client.get("/files").status_code == 200


def test_sign_out_needs_the_csrf_token_and_ends_the_session(
    client: httpx.Client, user: User
) -> None:
    client.post("/login", data={"identifier": user.name, "password": PASSWORD})
    session = client.cookies["lockr_session"]
    assert client.post("/logout", data={"csrf": "0" * 64}).status_code == 403
    assert client.get("/files").status_code == 200
    out = client.post("/logout", data={"csrf": csrf_of(client.get("/files").text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert "lockr_session" not in client.cookies
    client.cookies.set("lockr_session", session)
    assert client.get("/files").status_code == 303  # the token was revoked
    assert client.post("/logout", data={}).status_code == 303  # signed out already: fine


def test_a_form_too_large_is_413(client: httpx.Client) -> None:
    huge = {"identifier": "x", "password": "p" * 20_000}
    assert client.post("/login", data=huge).status_code == 413
    assert client.post("/signup", data=huge).status_code == 413


def test_sign_in_while_throttled_says_when_to_come_back(server: LockrProcess) -> None:
    within_one_window(900)  # LOCKR_LOGIN_WINDOW_SECONDS's default
    with httpx.Client(base_url=server.url) as client:
        for _ in range(3):  # LOCKR_LOGIN_MAX_FAILURES is 3 on this server
            client.post("/login", data={"identifier": "throttled", "password": "guess"})
        limited = client.post("/login", data={"identifier": "throttled", "password": "guess"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
