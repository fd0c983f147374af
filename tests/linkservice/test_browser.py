"""A real headless browser (Debian's Chromium driven by Playwright; nothing is
downloaded) uses the links page and the links API key in Settings, and unlocks a link
as a recipient."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from tests.conftest import PASSWORD
from tests.linkservice.conftest import LinkServer, unique


def test_owner_and_recipient(browser: Browser, links_server: LinkServer) -> None:
    url = links_server.url
    name = unique("browser")
    token = links_server.signup(name)
    old_key = links_server.new_key(token)
    api_link = httpx.post(
        url + "/api/v1/links",
        headers={"Authorization": f"Bearer {old_key}"},
        json={
            "type": "url",
            "targetUrl": url + "/healthz",
            "password": "pw-1234",
            "memo": "Made by a script",
        },
    )
    assert api_link.status_code == 201

    owner = browser.new_context()
    owner.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = owner.new_page()
    page.goto(url + "/dashboard")  # the old address
    expect(page).to_have_url(url + "/login?next=/links")
    page.fill("#identifier", name)
    page.fill("#password", PASSWORD)
    page.click("#login button[type=submit]")
    expect(page).to_have_url(url + "/links")
    row = page.locator("tr", has_text="Made by a script")
    expect(row.locator(".badge")).to_have_text("API")

    page.click("nav a[href='/settings']")
    expect(page.locator("#key-prefix")).to_contain_text(old_key[:12])
    page.click("#rotate-key")
    expect(page.locator("#new-key")).to_contain_text("ll_live_")
    new_key = page.locator("#new-key").inner_text().strip()
    assert new_key.startswith("ll_live_") and new_key != old_key
    page.click("#copy-key")
    expect(page.locator("#copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == new_key
    links_url = url + "/api/v1/links"
    assert httpx.get(links_url, headers={"Authorization": f"Bearer {old_key}"}).status_code == 401
    assert httpx.get(links_url, headers={"Authorization": f"Bearer {new_key}"}).status_code == 200
    page.goto(url + "/settings")  # the key is shown once only
    expect(page.locator("#key-prefix")).to_contain_text(new_key[:12])
    expect(page.locator("#new-key")).to_be_hidden()
    expect(page.locator("#new-key")).to_have_text("")
    expect(page.locator("#quota")).to_contain_text("1 of 1000")

    page.click("nav a[href='/links']")
    page.select_option("#type", "memo")
    page.fill("#secretMemo", "The vault code is 1234")
    page.fill("#password", "open-sesame")
    page.fill("#memo", "For the new hire")
    page.click("#new-link button[type=submit]")
    created = page.locator("#created a").inner_text().strip()
    assert created.startswith(url + "/")
    mine = page.locator("tr", has_text="For the new hire")
    expect(mine).to_have_count(1)
    expect(mine.locator(".badge")).to_have_count(0)
    owner.close()

    recipient = browser.new_context()
    visitor = recipient.new_page()
    visitor.goto(created)
    expect(visitor.locator("#memo")).to_have_text("For the new hire")
    visitor.fill("#password", "wrong-one")
    visitor.click("button[type=submit]")
    expect(visitor.locator("#notice")).to_contain_text("not right")
    visitor.fill("#password", "open-sesame")
    visitor.click("button[type=submit]")
    expect(visitor.locator("#secret")).to_have_text("The vault code is 1234")
    visitor.goto(api_link.json()["shortUrl"])
    visitor.fill("#password", "pw-1234")
    visitor.click("button[type=submit]")
    expect(visitor).to_have_url(url + "/healthz")
    recipient.close()
