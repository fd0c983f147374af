"""The /account page: served, escaped, with security headers; / leads to it; used in a
real browser."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from tests.conftest import PASSWORD, LockrProcess


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


def test_download_page_escapes_and_hides_the_owner(server: LockrProcess) -> None:
    from tests.api.conftest import User

    owner = User(server, "pageowner")
    name = "%3Cscript%3Ealert(1)%3Cb%3E.txt"
    file = owner.upload(name, b"hello", **{"Content-Type": "text/plain"}).json()
    page = httpx.get(file["pageUrl"])
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;b&gt;.txt" in page.text
    assert "5 bytes" in page.text and "text/plain" in page.text
    assert f"/api/v1/download/{file['id']}" in page.text
    assert "pageowner" not in page.text and 'id="key"' not in page.text
    keyed = owner.upload("k.txt", b"k", **{"x-file-key": "phrase"}).json()
    keyed_page = httpx.get(keyed["pageUrl"]).text
    assert 'id="key"' in keyed_page and "crypto.subtle" in keyed_page
    missing = httpx.get(server.url + "/download/local_aaaaaaaaaaaaaaaaaaaa")
    assert missing.status_code == 404 and "not here" in missing.text


def test_the_account_page_changes_the_password(browser: Browser, server: LockrProcess) -> None:
    from tests.api.conftest import User

    user = User(server, "pagepassword")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url + "/account")
        page.fill("#li-identifier", user.name)
        page.fill("#li-password", PASSWORD)
        page.click("#login button[type=submit]")
        expect(page.locator("#who")).to_have_text(user.name)
        page.fill("#pw-current", "not-the-password")
        page.fill("#pw-new", "a new passphrase")
        page.click("#password button[type=submit]")
        expect(page.locator("#password-error")).to_contain_text("current password")
        page.fill("#pw-current", PASSWORD)
        page.fill("#pw-new", "a new passphrase")
        page.check("#pw-revoke")
        page.click("#password button[type=submit]")
        expect(page.locator("#password-done")).to_contain_text("Password changed")
        expect(page.locator("#tokens tr")).to_have_count(1)  # this browser's token only
        expect(page.locator("#pw-current")).to_have_value("")
    finally:
        context.close()
    me = server.url + "/api/v1/account"
    assert httpx.get(me, auth=(user.name, PASSWORD)).status_code == 401
    assert httpx.get(me, auth=(user.name, "a new passphrase")).status_code == 200
    assert httpx.get(me, headers=user.headers).status_code == 401  # the sign-up token
