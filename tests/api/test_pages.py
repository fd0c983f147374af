"""The /account page: served, escaped, with security headers; / leads to it."""

from __future__ import annotations

import httpx

from tests.conftest import LockrProcess


def test_account_page(server: LockrProcess) -> None:
    response = httpx.get(server.url + "/account")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    html = response.text
    assert 'id="signup"' in html and 'id="login"' in html
    assert "/api/v1/accounts" in html and "/api/v1/login" in html


def test_root_redirects_to_account(server: LockrProcess) -> None:
    response = httpx.get(server.url + "/")
    assert response.status_code == 303 and response.headers["location"] == "/account"


def test_healthz(server: LockrProcess) -> None:
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
