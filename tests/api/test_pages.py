"""Pages without an account: the download page, served, escaped, with security
headers, hashing a download key in the browser, previewing (a PDF in a frame); and
the health check."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from tests.api.conftest import User
from tests.api.webapp.test_browser import one_page_pdf
from tests.conftest import LockrProcess


def test_healthz(server: LockrProcess) -> None:
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}


def test_download_page_escapes_and_hides_the_owner(server: LockrProcess) -> None:
    owner = User(server, "pageowner")
    name = "%3Cscript%3Ealert(1)%3Cb%3E.txt"
    file = owner.upload(name, b"hello", **{"Content-Type": "text/plain"}).json()
    page = httpx.get(file["pageUrl"])
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;b&gt;.txt" in page.text
    assert "5 bytes" in page.text and "text/plain" in page.text
    assert f"/api/v1/download/{file['id']}" in page.text
    assert "pageowner" not in page.text and 'id="key"' not in page.text
    assert "download.js" not in page.text  # no script where no key is asked for
    keyed = owner.upload("k.txt", b"k", **{"x-file-key": "phrase"}).json()
    keyed_page = httpx.get(keyed["pageUrl"]).text
    assert (
        'id="key"' in keyed_page
        and '<script type="module" src="/static/js/download.js">' in keyed_page
    )
    assert "crypto.subtle" in httpx.get(server.url + "/static/js/sha256.js").text
    missing = httpx.get(server.url + "/download/local_aaaaaaaaaaaaaaaaaaaa")
    assert missing.status_code == 404 and "not here" in missing.text


def test_the_download_page_hashes_the_key_in_the_browser(
    browser: Browser, server: LockrProcess
) -> None:
    owner = User(server, "pagekeyed")
    keyed = owner.upload("k.txt", b"the content", **{"x-file-key": "correct phrase"}).json()
    context = browser.new_context(accept_downloads=True)
    try:
        page = context.new_page()
        sent: list[str] = []
        page.on("request", lambda request: sent.append(request.url))
        page.goto(keyed["pageUrl"])
        page.fill("#key", "wrong phrase")
        page.click("#download")
        expect(page.locator("#key-error")).to_contain_text("not right")
        page.fill("#key", "correct phrase")
        with page.expect_download() as download:
            page.click("#download")
        path = download.value.path()
        assert path.read_bytes() == b"the content"
        assert not any("phrase" in url for url in sent)  # only its hash travels
    finally:
        context.close()


PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a3d1"
    "6a1b0000000049454e44ae426082"
)


def test_the_download_page_shows_hashes_and_previews(
    browser: Browser, server: LockrProcess
) -> None:
    owner = User(server, "previews")
    text = owner.upload("notes.txt", b"<b>line one</b>\nline two", **{"Content-Type": "text/plain"})
    page = httpx.get(text.json()["pageUrl"]).text
    assert f'<code id="md5">{text.json()["md5"]}</code>' in page
    assert f'<code id="sha1">{text.json()["sha1"]}</code>' in page
    assert "&lt;b&gt;line one&lt;/b&gt;\nline two</pre>" in page
    long = owner.upload("long.txt", b"x" * 70_000, **{"Content-Type": "text/plain"}).json()
    long_page = httpx.get(long["pageUrl"]).text
    assert "x" * 65_536 + "</pre>" in long_page and "The first 64 KiB" in long_page
    html = owner.upload("page.html", b"<script>1</script>", **{"Content-Type": "text/html"})
    assert 'id="preview"' not in httpx.get(html.json()["pageUrl"]).text  # never run
    keyed = owner.upload("k.png", PNG, **{"Content-Type": "image/png", "x-file-key": "p"})
    assert 'id="preview"' not in httpx.get(keyed.json()["pageUrl"]).text
    image = owner.upload("dot.png", PNG, **{"Content-Type": "image/png"}).json()
    context = browser.new_context()
    try:
        visitor = context.new_page()
        visitor.goto(image["pageUrl"])
        expect(visitor.locator("img#preview")).to_have_attribute("alt", "Preview of dot.png")
        visitor.wait_for_load_state("load")
        assert visitor.evaluate("document.getElementById('preview').naturalWidth") == 1
    finally:
        context.close()


def test_the_download_page_shows_a_pdf_in_a_frame(browser: Browser, server: LockrProcess) -> None:
    owner = User(server, "pdfs")
    pdf = owner.upload(
        "report.pdf", one_page_pdf("Hello PDF"), **{"Content-Type": "application/pdf"}
    )
    page_url = pdf.json()["pageUrl"]
    policy = httpx.get(page_url).headers["content-security-policy"]
    assert "frame-src 'self'" in policy and "object-src 'none'" in policy
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        visitor = context.new_page()
        with visitor.expect_response(lambda answer: "inline=1" in answer.url) as framed:
            visitor.goto(page_url)
        frame = visitor.locator("iframe#preview")
        expect(frame).to_have_attribute("title", "Preview of report.pdf")
        assert framed.value.status == 200 and framed.value.request.resource_type == "document"
        headers = framed.value.all_headers()  # as sent (.headers is the browser's view)
        assert headers["content-type"] == "application/pdf"
        assert headers["content-disposition"].startswith("inline;")
        assert "sandbox" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert frame.evaluate("element => element.src").endswith("?inline=1")
    finally:
        context.close()
