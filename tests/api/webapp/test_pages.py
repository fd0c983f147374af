"""The web app's pages over real HTTP: signed out they lead to the sign-in form; signed
in they carry the session's CSRF token and one navigation; the old addresses lead to
the new ones; every page forbids inline scripts; the static files are lockr's own."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.api.conftest import User
from tests.conftest import PASSWORD, LockrProcess

PAGES = ["/files", "/files/some/folder", "/settings", "/links"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_a_session(server: LockrProcess, path: str) -> None:
    response = httpx.get(server.url + path)
    assert response.status_code == 303
    where = urlsplit(response.headers["location"])
    assert where.path == "/login" and parse_qs(where.query) == {"next": [path]}


def test_signed_in_pages(server: LockrProcess, user: User) -> None:
    with httpx.Client(base_url=server.url) as client:
        client.post("/login", data={"identifier": user.name, "password": PASSWORD})
        for path in PAGES:
            page = client.get(path)
            assert page.status_code == 200, path
            assert page.headers["cache-control"] == "no-store"
            html = page.text
            assert re.search(r'<meta name="csrf-token" content="[0-9a-f]{64}">', html), path
            nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
            assert re.findall(r'href="([^"]+)"', nav) == ["/files", "/links", "/settings"]
            assert nav.count('aria-current="page"') == 1
            assert "<script>" not in html and "style=" not in html, path
        assert client.get("/account").headers["location"] == "/settings"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/", "/files"),
        ("/account", "/signup"),
        ("/dashboard", "/links"),
        ("/dashboard/login", "/login"),
        ("/dashboard/settings", "/settings"),
    ],
)
def test_old_addresses_lead_to_the_new_places(server: LockrProcess, old: str, new: str) -> None:
    response = httpx.get(server.url + old)
    assert response.status_code in (301, 303) and response.headers["location"] == new


@pytest.mark.parametrize(
    "path", ["/login", "/signup", "/upload", "/download/local_aaaaaaaaaaaaaaaaaaaa", "/s/sh_x"]
)
def test_every_page_forbids_inline_scripts(server: LockrProcess, path: str) -> None:
    response = httpx.get(server.url + path)
    policy = response.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'" and "unsafe" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "<script>" not in response.text


def test_static_files_are_served_by_lockr(server: LockrProcess) -> None:
    page = httpx.get(server.url + "/login").text
    assert '<link rel="stylesheet" href="/static/app.css">' in page
    style = httpx.get(server.url + "/static/app.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    script = httpx.get(server.url + "/static/js/files.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert script.headers["cache-control"] == "no-cache"
    again = httpx.get(
        server.url + "/static/js/files.js", headers={"If-None-Match": script.headers["etag"]}
    )
    assert again.status_code == 304
    imported = set(re.findall(r'from "\./([a-z]+\.js)"', script.text))
    assert imported == {
        "api.js",
        "archive.js",
        "claims.js",
        "format.js",
        "listing.js",
        "movedialog.js",
        "sharedialog.js",
        "picked.js",
        "rowdrag.js",
        "uploadlist.js",
        "uploads.js",
    }
    for name in imported:
        assert httpx.get(f"{server.url}/static/js/{name}").status_code == 200
    assert "http" not in re.sub(r"//.*", "", script.text).replace("history", "")  # no CDN
    assert httpx.get(server.url + "/static/../pages.py").status_code == 404
    assert httpx.get(server.url + "/static/js/missing.js").status_code == 404
