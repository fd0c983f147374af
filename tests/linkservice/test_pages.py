"""Recipients over real HTTP: previews consume nothing, the right password opens (303 or
a no-store memo page) and counts atomically, wrong ones reveal and consume nothing and
are throttled, start and expiry hold, and the database keeps no plaintext secret."""

from __future__ import annotations

import concurrent.futures
import sqlite3

import httpx

from tests.linkservice.conftest import LinkServer, unique

PASSWORD = "share-this-separately"


def make(server: LinkServer, **fields: object) -> dict[str, object]:
    key = server.new_key(server.signup(unique("rcp")))
    body = {
        "type": "url",
        "targetUrl": "https://example.com/private",
        "password": PASSWORD,
        "memo": "Client contract",
        **fields,
    }
    body = {name: value for name, value in body.items() if value is not None}
    response = httpx.post(
        server.url + "/api/v1/links", headers={"Authorization": f"Bearer {key}"}, json=body
    )
    assert response.status_code == 201, response.text
    link: dict[str, object] = response.json()
    return link


def unlock(link: dict[str, object], password: str = PASSWORD, **kwargs: object) -> httpx.Response:
    return httpx.post(str(link["shortUrl"]), data={"password": password}, **kwargs)  # type: ignore[arg-type]


def accesses(server: LinkServer, link: dict[str, object]) -> int:
    return (
        server.core.db.engine.connect()
        .exec_driver_sql("SELECT access_count FROM links WHERE id = ?", (link["id"],))
        .scalar_one()
    )


def test_previews_consume_nothing_and_the_password_opens(links_server: LinkServer) -> None:
    link = make(links_server, redirectLimit=1, memo="<b>Client</b> contract")
    for _ in range(5):
        page = httpx.get(str(link["shortUrl"]))
        assert page.status_code == 200 and 'name="password"' in page.text
        assert "&lt;b&gt;Client&lt;/b&gt; contract" in page.text and "<b>Client" not in page.text
        assert "example.com/private" not in page.text
    assert accesses(links_server, link) == 0
    wrong = unlock(link, "not-it")
    assert wrong.status_code == 401 and "example.com/private" not in wrong.text
    assert accesses(links_server, link) == 0
    opened = unlock(link)
    assert opened.status_code == 303
    assert opened.headers["location"] == "https://example.com/private"
    assert opened.headers["cache-control"] == "no-store"
    assert accesses(links_server, link) == 1
    used_up = unlock(link)
    assert used_up.status_code == 410 and "example.com" not in used_up.text
    assert "opened as many times" in used_up.text
    assert httpx.get(str(link["shortUrl"])).status_code == 410


def test_recipient_pages_run_no_script_and_are_not_indexed(links_server: LinkServer) -> None:
    link = make(links_server)
    for page in (httpx.get(str(link["shortUrl"])), httpx.get(links_server.url + "/no-such")):
        policy = page.headers["content-security-policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'none'" and directives["style-src"] == "'unsafe-inline'"
        assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'self'"
        assert page.headers["x-robots-tag"] == "noindex"
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "same-origin"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"


def test_memo_page_is_not_stored(links_server: LinkServer) -> None:
    link = make(links_server, type="memo", targetUrl=None, secretMemo="door code 4711 <ok>")
    opened = unlock(link)
    assert opened.status_code == 200 and opened.headers["cache-control"] == "no-store"
    assert "door code 4711 &lt;ok&gt;" in opened.text


def test_the_limit_holds_under_concurrency(links_server: LinkServer) -> None:
    link = make(links_server, redirectLimit=3)

    def recipient(index: int) -> int:
        return unlock(link, headers={"X-Forwarded-For": f"198.51.100.{index}"}).status_code

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(recipient, range(12)))
    assert statuses.count(303) == 3 and statuses.count(410) == 9
    assert accesses(links_server, link) == 3


def test_start_and_expiry(links_server: LinkServer) -> None:
    clock = links_server.clock
    clock.now = 1_802_000_000.0
    link = make(links_server, startTime="2027-02-08T00:00:00Z", expireTime="2027-02-09T00:00:00Z")
    early = unlock(link)
    assert early.status_code == 403 and "not open yet" in early.text
    assert "example.com" not in early.text and httpx.get(str(link["shortUrl"])).status_code == 403
    clock.now = 1_802_044_800.0 + 60  # 2027-02-08T00:01Z
    assert unlock(link).status_code == 303
    clock.now = 1_802_131_200.0  # 2027-02-09T00:00Z
    late = unlock(link)
    assert late.status_code == 410 and "expired" in late.text
    assert accesses(links_server, link) == 1


def test_wrong_guesses_are_throttled(links_server: LinkServer) -> None:
    link = make(links_server)
    for _ in range(5):
        assert unlock(link, "guess").status_code == 401
    blocked = unlock(link)  # even the right password waits
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert accesses(links_server, link) == 0
    links_server.clock.advance(900)
    assert unlock(link).status_code == 303


def test_unknown_links_are_plain_404s(links_server: LinkServer) -> None:
    assert httpx.get(links_server.url + "/no-such-link").status_code == 404
    assert httpx.post(links_server.url + "/no-such-link", data={"password": "x"}).status_code == 404
    assert httpx.get(links_server.url + "/UPPER").status_code == 404


def test_the_database_holds_no_plaintext_secret(links_server: LinkServer) -> None:
    url = make(links_server, targetUrl="https://example.com/needle-url-7d3f")
    memo = make(links_server, type="memo", targetUrl=None, secretMemo="needle memo 9c1e")
    assert unlock(url).status_code == 303 and unlock(memo).status_code == 200
    database = links_server.core.config.data / "lockr.db"
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA wal_checkpoint(FULL)")
    rows = connection.execute(
        "SELECT password_hash, salt, nonce, ciphertext FROM links WHERE id IN (?, ?)",
        (url["id"], memo["id"]),
    ).fetchall()
    connection.close()
    assert len(rows) == 2
    for password_hash, salt, nonce, ciphertext in rows:
        assert password_hash.startswith("$argon2id$")
        assert len(salt) == 16 and len(nonce) == 12 and ciphertext
    everything = b"".join(path.read_bytes() for path in database.parent.glob("lockr.db*"))
    for needle in (b"needle-url-7d3f", b"needle memo 9c1e", PASSWORD.encode()):
        assert needle not in everything


def test_a_busy_server_answers_503_and_counts_no_guess(busy_server: LinkServer) -> None:
    link = make(busy_server)
    gate = busy_server.core.passwords.gate
    assert gate is not None
    with gate.slot():
        busy = [unlock(link) for _ in range(6)]  # more than the address's 5 guesses
    for response in busy:
        assert response.status_code == 503 and "busy" in response.text
        assert int(response.headers["retry-after"]) > 0
    assert unlock(link).status_code == 303
