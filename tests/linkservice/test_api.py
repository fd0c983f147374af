"""The links JSON API over real HTTP: keys, every kind of refusal, quotas and rate
limits with a controllable clock, and exactness under concurrency."""

from __future__ import annotations

import base64
import concurrent.futures
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import update

from gateway.models import Link
from tests.linkservice.conftest import LinkServer, unique

LINK = {
    "type": "url",
    "targetUrl": "https://example.com/private",
    "password": "share-this-separately",
    "memo": "Client contract",
}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def create(server: LinkServer, key: str, **fields: object) -> httpx.Response:
    return httpx.post(server.url + "/api/v1/links", headers=bearer(key), json={**LINK, **fields})


def test_key_management_is_for_the_signed_in_pro_owner(links_server: LinkServer) -> None:
    url = links_server.url + "/api/v1/api-key"
    free = links_server.signup(unique("free"), plan="free")
    refused = httpx.post(url, headers=bearer(free))
    assert refused.status_code == 403 and "pro plan" in refused.json()["error"]["message"]
    assert httpx.post(url).status_code == 401
    name = unique("pro")
    token = links_server.signup(name)
    empty = httpx.get(url, headers=bearer(token)).json()
    assert empty["apiKey"] is None and empty["quota"]["limit"] == 1000
    made = httpx.post(url, auth=(name, "correct horse battery"))  # Basic works too
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    key = made.json()["key"]
    assert httpx.post(url, headers=bearer(token)).status_code == 409
    shown = httpx.get(url, headers=bearer(token))
    assert key not in shown.text and shown.json()["apiKey"]["prefix"] == key[:12]
    assert httpx.post(url, headers=bearer(key)).status_code == 403  # a key cannot manage keys
    assert create(links_server, key).status_code == 201
    assert shown.json()["apiKey"]["lastUsedAt"] is None
    assert httpx.get(url, headers=bearer(token)).json()["apiKey"]["lastUsedAt"] is not None


def test_rotation_disables_the_old_key_at_once(links_server: LinkServer) -> None:
    token = links_server.signup(unique("rot"))
    old = links_server.new_key(token)
    assert create(links_server, old).status_code == 201
    rotated = httpx.post(links_server.url + "/api/v1/api-key/rotate", headers=bearer(token))
    assert rotated.status_code == 200
    new = rotated.json()["key"]
    assert new != old
    stale = create(links_server, old)
    assert stale.status_code == 401 and "revoked" in stale.json()["error"]["message"]
    assert create(links_server, new).status_code == 201
    gone = httpx.delete(links_server.url + "/api/v1/api-key", headers=bearer(token))
    assert gone.status_code == 204
    assert create(links_server, new).status_code == 401


def test_the_key_only_in_the_authorization_header(links_server: LinkServer) -> None:
    key = links_server.new_key(links_server.signup(unique("hdr")))
    url = links_server.url + "/api/v1/links"
    for query in ({"api_key": key}, {"key": key}, {"anything": key}):
        refused = httpx.get(url, params=query)
        assert refused.status_code == 400
        assert "query string" in refused.json()["error"]["message"]
        assert key not in refused.text
    assert httpx.get(url).status_code == 401
    login = links_server.signup(unique("tok"))
    wrong = httpx.get(url, headers=bearer(login))
    assert wrong.status_code == 401 and "API key" in wrong.json()["error"]["message"]
    broken = httpx.get(url, headers=bearer(key[:-1] + ("x" if key[-1] != "x" else "y")))
    assert broken.status_code == 401 and "malformed" in broken.json()["error"]["message"]


def test_validation_errors_name_the_field_and_count_nothing(links_server: LinkServer) -> None:
    key = links_server.new_key(links_server.signup(unique("val")))
    cases = [
        ({"type": "file"}, "type"),
        ({"secretMemo": "x"}, "secretMemo"),
        ({"colour": "red"}, "colour"),
        ({"redirectLimit": "3"}, "redirectLimit"),
        ({"customSlug": "Bad Slug"}, "customSlug"),
        ({"expireTime": "2001-01-01T00:00:00Z"}, "expireTime"),
    ]
    for fields, name in cases:
        response = create(links_server, key, **fields)
        assert response.status_code == 400, fields
        assert response.json()["error"]["message"].startswith(name)
    bad_json = httpx.post(
        links_server.url + "/api/v1/links", headers=bearer(key), content=b"{not json"
    )
    assert bad_json.status_code == 400
    slug = unique("slug-")
    first = create(links_server, key, customSlug=slug)
    assert first.status_code == 201 and first.json()["slug"] == slug
    taken = create(links_server, key, customSlug=slug)
    assert taken.status_code == 409
    assert int(first.headers["x-api-quota-remaining"]) == 999
    after = create(links_server, key)
    assert after.headers["x-api-quota-remaining"] == "998"  # only the two creations counted


def test_list_get_delete(links_server: LinkServer) -> None:
    key = links_server.new_key(links_server.signup(unique("lst")))
    other = links_server.new_key(links_server.signup(unique("oth")))
    made = []
    for index in range(5):
        made.append(create(links_server, key, memo=f"n{index}").json())
        if index != 2:  # two links share a creation time: the cursor still separates them
            links_server.clock.advance(1)
    url = links_server.url + "/api/v1/links"
    seen: list[str] = []
    cursor = None
    while True:
        page = httpx.get(
            url, headers=bearer(key), params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200 and "x-api-quota-limit" in page.headers
        seen += [link["id"] for link in page.json()["links"]]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    ids = [link["id"] for link in made]
    assert len(seen) == 5 and sorted(seen) == sorted(ids)
    # Newest first; the two created in the same second follow each other.
    assert seen[0] == ids[4] and set(seen[1:3]) == {ids[2], ids[3]} and seen[3:] == [ids[1], ids[0]]
    one = httpx.get(f"{url}/{made[0]['id']}", headers=bearer(key))
    assert one.status_code == 200 and one.json() == {**made[0]}
    assert httpx.get(f"{url}/{made[0]['id']}", headers=bearer(other)).status_code == 404
    assert httpx.delete(f"{url}/{made[0]['id']}", headers=bearer(other)).status_code == 404
    assert httpx.delete(f"{url}/{made[0]['id']}", headers=bearer(key)).status_code == 204
    assert httpx.get(f"{url}/{made[0]['id']}", headers=bearer(key)).status_code == 404
    assert httpx.get(url, headers=bearer(key), params={"limit": 0}).status_code == 400


@pytest.fixture
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinkServer]:
    server = LinkServer(
        tmp_path_factory.mktemp("tight") / "data",
        links_monthly_quota=15,
        links_per_minute=1000,
        links_per_10s=1000,
    )
    yield server
    server.close()


def test_monthly_quota_resets_on_the_first_at_midnight_utc(tight: LinkServer) -> None:
    key = tight.new_key(tight.signup(unique("mon")))
    tight.clock.now = 1_801_439_000.0  # 2027-01-31T23:43:20Z
    for left in range(14, -1, -1):
        response = create(tight, key)
        assert response.status_code == 201
        assert response.headers["x-api-quota-remaining"] == str(left)
        assert response.headers["x-api-quota-reset"] == "1801440000"  # 2027-02-01T00:00Z
    spent = create(tight, key)
    assert spent.status_code == 403 and spent.json()["error"]["code"] == "quota_exceeded"
    assert spent.headers["x-api-quota-remaining"] == "0"
    tight.clock.now = 1_801_440_000.0
    renewed = create(tight, key)
    assert renewed.status_code == 201 and renewed.headers["x-api-quota-remaining"] == "14"


def test_fifty_parallel_creations_against_the_last_ten_units(tight: LinkServer) -> None:
    key = tight.new_key(tight.signup(unique("par")))
    for _ in range(5):
        assert create(tight, key).status_code == 201

    def attempt(index: int) -> int:
        return create(tight, key, memo=f"parallel {index}").status_code

    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        statuses = list(pool.map(attempt, range(50)))
    assert statuses.count(201) == 10 and statuses.count(403) == 40
    listed = httpx.get(tight.url + "/api/v1/links", headers=bearer(key), params={"limit": 100})
    assert len(listed.json()["links"]) == 15


def test_rate_limits_per_key(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = LinkServer(tmp_path_factory.mktemp("rate") / "data")
    try:
        key = server.new_key(server.signup(unique("rl")))
        url = server.url + "/api/v1/links"
        server.clock.now = 1_800_000_000.0  # the start of a 10 s and of a 60 s window
        for _ in range(20):
            assert httpx.get(url, headers=bearer(key)).status_code == 200
        burst = httpx.get(url, headers=bearer(key))
        assert burst.status_code == 429 and burst.headers["retry-after"] == "10"
        server.clock.advance(10)
        for _ in range(20):
            assert httpx.get(url, headers=bearer(key)).status_code == 200
        server.clock.advance(10)
        for _ in range(20):
            assert create(server, key).status_code == 201
        minute = create(server, key)  # 60 in this minute, and refusals did not count
        assert minute.status_code == 429 and minute.headers["retry-after"] == "40"
        assert "minute" in minute.json()["error"]["message"]
        server.clock.advance(40)
        created = create(server, key)
        assert created.status_code == 201
        assert created.headers["x-api-quota-remaining"] == "979"  # 429s took no quota
    finally:
        server.close()


def test_times_past_year_9999_in_utc_and_bad_cursors(links_server: LinkServer) -> None:
    """A time that cannot be shown once converted to UTC is refused at creation; one
    stored before does not break the owner's list or the recipient page."""
    key = links_server.new_key(links_server.signup(unique("late")))
    for field, value in (
        ("expireTime", "9999-12-31T23:00:00-05:00"),
        ("startTime", "0001-01-01T00:30:00+01:00"),
    ):
        refused = create(links_server, key, **{field: value})
        assert refused.status_code == 400, value
        assert field in refused.json()["error"]["message"]
    made = create(links_server, key, startTime="9999-12-31T00:00:00Z").json()
    with links_server.core.db.write() as session:
        session.execute(
            update(Link).where(Link.id == made["id"]).values(start_time=253402318800.0 + 9e9)
        )
    listed = httpx.get(links_server.url + "/api/v1/links", headers=bearer(key))
    assert listed.status_code == 200
    assert listed.json()["links"][0]["startTime"].startswith("9999-12-31")
    page = httpx.get(made["shortUrl"])
    assert page.status_code in (200, 403) and "9999-12-31" in page.text
    url = links_server.url + "/api/v1/links"
    for cursor in ("!!!", base64.urlsafe_b64encode(b"inf|x").decode(), "bmFu"):
        bad = httpx.get(url, headers=bearer(key), params={"cursor": cursor})
        assert bad.status_code == 400, cursor
    for limit in ("²", "9" * 5000):
        assert httpx.get(url, headers=bearer(key), params={"limit": limit}).status_code == 400
