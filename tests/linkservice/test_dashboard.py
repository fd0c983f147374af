"""The links page over real HTTP without a browser: it needs the web app's session,
its forms need the session's CSRF token and the same origin, links are created and
deleted, output is escaped, and the API key is managed with the session too."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.linkservice.conftest import LinkServer, unique

_clients: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


def signed_in(server: LinkServer, *, plan: str = "pro") -> httpx.Client:
    name = unique("dash")
    server.signup(name, plan=plan)
    client = httpx.Client(base_url=server.url)
    _clients.append(client)
    response = client.post("/login", data={"identifier": name, "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/files"
    return client


def csrf(client: httpx.Client, path: str = "/links") -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get(path).text)
    assert found
    return found.group(1)


def test_sign_in_is_required_and_checked(links_server: LinkServer) -> None:
    anonymous = httpx.get(links_server.url + "/links")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/links"
    wrong = httpx.post(links_server.url + "/login", data={"identifier": "nobody", "password": "x"})
    assert wrong.status_code == 401 and "wrong" in wrong.text


def test_sign_in_while_busy_is_503(busy_server: LinkServer) -> None:
    gate = busy_server.core.passwords.gate
    assert gate is not None
    with gate.slot():
        busy = httpx.post(
            busy_server.url + "/login", data={"identifier": "nobody", "password": "x"}
        )
    assert busy.status_code == 503 and "busy" in busy.text
    assert int(busy.headers["retry-after"]) > 0


def test_forms_need_the_csrf_token_and_the_same_origin(links_server: LinkServer) -> None:
    client = signed_in(links_server)
    form = {"type": "url", "targetUrl": "https://example.com", "password": "pass", "memo": "m"}
    assert client.post("/links", data=form).status_code == 403
    assert client.post("/links", data={**form, "csrf": "0" * 64}).status_code == 403
    assert client.post("/links", data={**form, "csrf": "\u00e9" * 64}).status_code == 403
    token = csrf(client)
    foreign = client.post(
        "/links", data={**form, "csrf": token}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    made = client.post("/links", data={**form, "csrf": token, "memo": "<i>x</i>"})
    assert made.status_code == 303 and made.headers["location"].startswith("/links?created=")
    page = client.get(made.headers["location"]).text
    assert "&lt;i&gt;x&lt;/i&gt;" in page and "<i>x</i>" not in page
    assert 'class="badge"' not in page  # made on the page, not with the API
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>", page)  # created
    link_id = re.search(r'data-link="(lnk_[0-9a-f]+)"', page)
    assert link_id
    deleted = client.post(f"/links/{link_id.group(1)}/delete", data={"csrf": token})
    assert deleted.status_code == 303
    assert link_id.group(1) not in client.get("/links").text


def test_a_refused_form_says_why_and_keeps_no_secret(links_server: LinkServer) -> None:
    client = signed_in(links_server)
    refused = client.post(
        "/links",
        data={
            "csrf": csrf(client),
            "type": "url",
            "targetUrl": "ftp://x",
            "password": "sesame-42",
            "memo": "label",
        },
    )
    assert refused.status_code == 400 and "targetUrl must be an absolute" in refused.text
    assert 'value="label"' in refused.text and "sesame-42" not in refused.text


def test_the_api_key_with_the_session_and_sign_out(links_server: LinkServer) -> None:
    free = signed_in(links_server, plan="free")
    page = {"X-CSRF-Token": csrf(free), "Origin": links_server.url}
    refused = free.post("/api/v1/api-key", headers=page)
    assert refused.status_code == 403 and "pro plan" in refused.json()["error"]["message"]
    client = signed_in(links_server)
    token = csrf(client)
    assert client.post("/api/v1/api-key").status_code == 403  # no CSRF token
    made = client.post("/api/v1/api-key", headers={"X-CSRF-Token": token})
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    key = made.json()["key"]
    assert re.fullmatch(r"ll_live_[0-9A-Za-z]{38}", key)
    assert key not in client.get("/api/v1/api-key").text
    out = client.post("/logout", data={"csrf": token})
    assert out.status_code == 303
    assert client.get("/links").status_code == 303  # the session token was revoked


def test_a_form_too_large_is_413_on_every_form(links_server: LinkServer) -> None:
    huge = {"identifier": "x", "password": "p" * 20_000}
    with httpx.Client(base_url=links_server.url) as anonymous:
        assert anonymous.post("/login", data=huge).status_code == 413
        assert anonymous.post("/some-slug", data=huge).status_code == 413
    client = signed_in(links_server)
    refused = client.post("/links", data={"csrf": csrf(client), "memo": "m" * 20_000})
    assert refused.status_code == 413 and "too large" in refused.text
