"""Direct and resumable uploads over real HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import User
from tests.conftest import LockrProcess

MiB = 1024 * 1024


def test_direct_upload_streams_and_lands_in_uploads(user: User) -> None:
    data = os.urandom(3 * MiB + 5)
    response = user.upload("report.pdf", data, **{"Content-Type": "application/pdf"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "report.pdf" and body["path"] == "uploads/report.pdf"
    assert body["size"] == len(data) and body["type"] == "application/pdf"
    assert body["md5"] == hashlib.md5(data).hexdigest()
    assert body["sha1"] == hashlib.sha1(data).hexdigest()
    assert body["region"] == "local" and body["id"].startswith("local_")
    assert body["keyProtected"] is False and "claimToken" not in body
    again = user.upload("report.pdf", b"second")
    assert again.json()["name"] == "report (1).pdf"  # never overwrites
    assert httpx.get(body["downloadUrl"]).content == data


def test_chunked_body_and_expect_continue(user: User) -> None:
    def chunks() -> Iterator[bytes]:
        for index in range(5):
            yield bytes([index]) * 300_000

    response = httpx.post(
        user.server.url + "/api/v1/upload",
        content=chunks(),
        headers={**user.headers, "x-file-name": "chunked.bin"},
    )
    assert response.status_code == 201 and response.json()["size"] == 1_500_000
    # Expect: 100-continue, spoken by hand so the interim response is seen.
    with socket.create_connection(("127.0.0.1", user.server.http_port)) as sock:
        sock.sendall(
            b"POST /api/v1/upload HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {user.token}\r\n".encode()
            + b"x-file-name: continued.txt\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100")
        sock.sendall(b"hello")
        assert b"201 Created" in sock.recv(4096)


def test_names_are_percent_decoded(user: User) -> None:
    response = user.upload("r%C3%A9sum%C3%A9%20%2350%25.txt", b"x")
    assert response.json()["name"] == "résumé #50%.txt"


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({"x-file-name": ""}, 400, "x-file-name is required"),
        ({"x-file-name": "a/b"}, 400, "cannot contain '/'"),
        ({"x-file-name": "x", "x-upload-region": "mars"}, 400, "valid regions: local"),
        ({"x-file-name": "x", "x-key-hash": "abc"}, 400, "64 hex digits"),
        ({"x-file-name": "bell%07.txt"}, 400, "control characters"),
        ({"x-file-name": "bad%FF.txt"}, 400, "must be UTF-8"),
        ({"x-file-name": "%C3%A9" * 128}, 400, "at most 255 bytes"),
    ],
)
def test_bad_upload_headers(user: User, headers: dict[str, str], status: int, message: str) -> None:
    response = httpx.post(
        user.server.url + "/api/v1/upload", content=b"data", headers={**user.headers, **headers}
    )
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def test_key_protection_on_upload(user: User) -> None:
    body = user.upload("secret.txt", b"top secret", **{"x-file-key": "open sesame"}).json()
    assert body["keyProtected"] is True
    url = body["downloadUrl"]
    assert httpx.get(url).status_code == 403
    key_hash = hashlib.sha256(b"open sesame").hexdigest()
    assert httpx.get(url, params={"keyHash": key_hash}).content == b"top secret"
    hashed = user.upload("s2.txt", b"two", **{"x-key-hash": key_hash}).json()
    assert httpx.get(hashed["downloadUrl"], headers={"X-Key-Hash": key_hash}).content == b"two"


def test_guests_upload_with_limits_and_a_claim(server: LockrProcess, user: User) -> None:
    response = httpx.post(
        server.url + "/api/v1/upload", content=b"guest data", headers={"x-file-name": "g.txt"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["claimToken"].startswith("gc_")
    assert "lockr_guest" in response.headers["set-cookie"]
    keyed = httpx.post(
        server.url + "/api/v1/upload",
        content=b"x",
        headers={"x-file-name": "k.txt", "x-file-key": "phrase"},
    )
    assert keyed.status_code == 403 and "guests cannot" in keyed.json()["error"]["message"]
    claimed = httpx.post(
        server.url + "/api/v1/files/register",
        json={"id": body["id"], "claimToken": body["claimToken"]},
        headers=user.headers,
    )
    assert claimed.status_code == 200 and claimed.json()["path"] == "uploads/g.txt"


def test_declared_size_over_the_guest_limit_is_refused_before_the_body(
    tmp_path: Path,
) -> None:
    server = LockrProcess(
        tmp_path / "data",
        env={"LOCKR_MAX_GUEST_OBJECT_SIZE": "1MiB", "LOCKR_MAX_OBJECT_SIZE": "2MiB"},
    ).start()
    try:
        with socket.create_connection(("127.0.0.1", server.http_port)) as sock:
            sock.sendall(
                b"POST /api/v1/upload HTTP/1.1\r\nHost: x\r\nx-file-name: big\r\n"
                b"Content-Length: 2000000\r\n\r\n"
            )
            answer = _read_answer(sock)  # answered without sending a byte of the body
        assert b"413" in answer.split(b"\r\n")[0] and b"too large" in answer
        # Undeclared (chunked): cut off the moment it crosses the limit.
        response = httpx.post(
            server.url + "/api/v1/upload",
            content=(b"z" * 65536 for _ in range(40)),
            headers={"x-file-name": "big"},
        )
        assert response.status_code == 413
        user = User(server, "limited")
        too_big = user.upload("big", b"a" * (2 * MiB + 1))
        assert too_big.status_code == 413
        assert user.upload("fits", b"a" * (2 * MiB)).status_code == 201
        session = httpx.post(
            server.url + "/api/v1/upload/session",
            json={"name": "s", "size": 3 * MiB},
            headers=user.headers,
        )
        assert session.status_code == 413
    finally:
        server.stop()


def _read_answer(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    answer = b""
    while not answer.endswith(b"}"):
        part = sock.recv(4096)
        if not part:
            break
        answer += part
    return answer


def test_quota_exceeded_is_403(tmp_path: Path) -> None:
    server = LockrProcess(tmp_path / "data", env={"LOCKR_DEFAULT_QUOTA": "1MiB"}).start()
    try:
        user = User(server, "small")
        assert user.upload("a", b"a" * 700_000).status_code == 201
        over = user.upload("b", b"b" * 700_000)
        assert over.status_code == 403 and over.json()["error"]["code"] == "quota_exceeded"
        files = httpx.get(server.url + "/api/v1/files", headers=user.headers).json()["files"]
        assert [f["name"] for f in files] == ["a"]
    finally:
        server.stop()


def test_too_many_entries_is_403(tmp_path: Path) -> None:
    """Past ``max_entries_per_account`` (the uploads folder counts) a new file is 403
    ``quota_exceeded``, a direct upload or a session alike; a delete makes room."""
    server = LockrProcess(tmp_path / "data", env={"LOCKR_MAX_ENTRIES_PER_ACCOUNT": "3"}).start()
    try:
        user = User(server, "many")
        first = user.upload("a", b"a")
        assert first.status_code == 201 and user.upload("b", b"b").status_code == 201
        over = user.upload("c", b"c")
        assert over.status_code == 403 and over.json()["error"]["code"] == "quota_exceeded"
        session = httpx.post(
            server.url + "/api/v1/upload/session",
            json={"name": "d", "size": 1},
            headers=user.headers,
        )
        assert session.status_code == 403 and session.json()["error"]["code"] == "quota_exceeded"
        files = httpx.get(server.url + "/api/v1/files", headers=user.headers).json()["files"]
        assert sorted(f["name"] for f in files) == ["a", "b"]
        gone = httpx.delete(f"{server.url}/api/v1/files/{first.json()['id']}", headers=user.headers)
        assert gone.status_code == 204
        assert user.upload("c", b"c").status_code == 201
    finally:
        server.stop()


@pytest.mark.parametrize(("public_url", "secure"), [("https://lockr.example", True), ("", False)])
def test_the_guest_cookie_is_secure_behind_https(
    tmp_path: Path, public_url: str, secure: bool
) -> None:
    server = LockrProcess(tmp_path / "data", env={"LOCKR_PUBLIC_URL": public_url}).start()
    try:
        response = httpx.post(
            server.url + "/api/v1/upload", content=b"guest", headers={"x-file-name": "g.txt"}
        )
        assert response.status_code == 201
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("lockr_guest=") and "HttpOnly" in cookie
        assert ("Secure" in cookie) is secure, cookie
    finally:
        server.stop()


# -- resumable sessions -----------------------------------------------------------------


def create_session(user: User, size: int, **extra: object) -> dict[str, str]:
    response = httpx.post(
        user.server.url + "/api/v1/upload/session",
        json={"name": "whitepaper.pdf", "size": size, "type": "application/pdf", **extra},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def status(url: str, size: int) -> httpx.Response:
    return httpx.put(url, headers={"Content-Range": f"bytes */{size}"})


def test_session_whole_body(user: User) -> None:
    data = os.urandom(MiB)
    session = create_session(user, len(data))
    assert set(session) >= {"id", "uploadUrl", "downloadUrl"}
    assert "uploadToken=" in session["uploadUrl"]
    assert status(session["uploadUrl"], len(data)).status_code == 308
    assert "range" not in status(session["uploadUrl"], len(data)).headers
    done = httpx.put(session["uploadUrl"], content=data)
    assert done.status_code == 201 and done.json()["id"] == session["id"]
    assert httpx.get(session["downloadUrl"]).content == data
    assert status(session["uploadUrl"], len(data)).status_code == 200


def test_a_session_given_up_frees_its_quota(user: User) -> None:
    me = user.server.url + "/api/v1/account"
    session = create_session(user, 2 * MiB)
    reserved = httpx.get(me, headers=user.headers).json()["account"]["reservedBytes"]
    assert reserved == 2 * MiB
    half = httpx.put(
        session["uploadUrl"],
        content=b"h" * MiB,
        headers={"Content-Range": f"bytes 0-{MiB - 1}/{2 * MiB}"},
    )
    assert half.status_code == 308
    assert httpx.delete(session["uploadUrl"].split("?")[0]).status_code == 404  # its secret
    assert httpx.delete(session["uploadUrl"]).status_code == 204
    account = httpx.get(me, headers=user.headers).json()["account"]
    assert account["reservedBytes"] == 0 and account["usedBytes"] == 0
    assert status(session["uploadUrl"], 2 * MiB).status_code == 404
    assert httpx.delete(session["uploadUrl"]).status_code == 404
    done = create_session(user, 3)
    assert httpx.put(done["uploadUrl"], content=b"abc").status_code == 201
    assert httpx.delete(done["uploadUrl"]).status_code == 409  # complete: delete the file
    assert httpx.get(done["downloadUrl"]).content == b"abc"


def test_an_owner_finds_and_goes_on_with_its_unfinished_sessions(
    user: User, other_user: User
) -> None:
    listing = user.server.url + "/api/v1/upload/sessions"
    data = os.urandom(300_000)
    session = create_session(user, len(data), path="")
    first = httpx.put(
        session["uploadUrl"],
        content=data[:100_000],
        headers={"Content-Range": "bytes 0-99999/300000"},
    )
    assert first.status_code == 308
    (found,) = httpx.get(listing, headers=user.headers).json()["sessions"]
    assert found["sessionId"] == session["sessionId"] and found["received"] == 100_000
    assert found["size"] == 300_000 and found["path"] == "" and found["id"] == session["id"]
    assert "uploadToken" not in json.dumps(found)  # never the secret
    url = found["sessionUrl"]
    assert httpx.get(listing, headers=other_user.headers).json()["sessions"] == []
    assert httpx.get(listing).status_code == 401
    assert status(url, len(data)).status_code == 404  # no secret, no credentials
    theirs = httpx.put(url, headers={**other_user.headers, "Content-Range": "bytes */300000"})
    assert theirs.status_code == 404
    assert httpx.delete(url, headers=other_user.headers).status_code == 404
    asked = httpx.put(url, headers={**user.headers, "Content-Range": "bytes */300000"})
    assert asked.status_code == 308 and asked.headers["range"] == "bytes=0-99999"
    rest = httpx.put(
        url,
        content=data[100_000:],
        headers={**user.headers, "Content-Range": "bytes 100000-299999/300000"},
    )
    assert rest.status_code == 201 and rest.json()["sha1"] == hashlib.sha1(data).hexdigest()
    assert httpx.get(listing, headers=user.headers).json()["sessions"] == []
    given_up = create_session(user, 10)
    owned_url = given_up["uploadUrl"].split("?")[0]
    assert httpx.delete(owned_url, headers=user.headers).status_code == 204
    assert httpx.get(listing, headers=user.headers).json()["sessions"] == []


def test_a_session_lands_in_the_folder_it_names_the_top_too(user: User) -> None:
    top = create_session(user, 1, path="")
    assert httpx.put(top["uploadUrl"], content=b"1").json()["path"] == "whitepaper.pdf"
    slash = create_session(user, 1, path="/")
    assert httpx.put(slash["uploadUrl"], content=b"1").json()["path"] == "whitepaper (1).pdf"
    default = create_session(user, 1)
    assert httpx.put(default["uploadUrl"], content=b"1").json()["path"] == "uploads/whitepaper.pdf"


def test_session_chunks_out_of_order_are_refused(user: User) -> None:
    data = os.urandom(300_000)
    session = create_session(user, len(data))
    url = session["uploadUrl"]
    first = httpx.put(
        url, content=data[:100_000], headers={"Content-Range": "bytes 0-99999/300000"}
    )
    assert first.status_code == 308 and first.headers["range"] == "bytes=0-99999"
    skipped = httpx.put(
        url, content=data[200_000:], headers={"Content-Range": "bytes 200000-299999/300000"}
    )
    assert skipped.status_code == 409
    assert "resume from byte 100000" in skipped.json()["error"]["message"]
    wrong_total = httpx.put(url, content=b"x", headers={"Content-Range": "bytes 100000-100000/5"})
    assert wrong_total.status_code == 400
    assert status(url, len(data)).headers["range"] == "bytes=0-99999"  # nothing lost
    rest = httpx.put(
        url, content=data[100_000:], headers={"Content-Range": "bytes 100000-299999/300000"}
    )
    assert rest.status_code == 201 and rest.json()["md5"] == hashlib.md5(data).hexdigest()


def test_session_secret_is_needed(user: User) -> None:
    session = create_session(user, 10)
    bare = session["uploadUrl"].split("?")[0]
    assert httpx.put(bare, content=b"0123456789").status_code == 404
    assert httpx.put(bare + "?uploadToken=us_wrong", content=b"0123456789").status_code == 404


BAD_SESSIONS = [
    ({"name": "x"}, "'size' is required"),
    ({"name": "x", "size": -1}, "size must be"),
    ({"name": "x", "size": "10"}, "size must be"),
    ({"name": "", "size": 1}, "not a usable file name"),
    ({"name": "x", "size": 1, "region": "mars"}, "valid regions"),
    ({"name": "x", "size": 1, "colour": "red"}, "unknown field 'colour'"),
    ({"name": "tab\tname", "size": 1}, "control characters"),
    ({"name": "x", "size": 1, "path": "/".join(["p"] * 64)}, "at most 64 components"),
    ({"name": "x", "size": 1, "path": "/".join(["p"] * 20_000)}, "at most 4096 bytes"),
    ({"name": "x", "size": 1, "path": "bad\udcff"}, "valid UTF-8"),
]


def test_content_range_with_absurd_numbers_is_400(user: User) -> None:
    created = httpx.post(
        user.server.url + "/api/v1/upload/session",
        json={"name": "cr.bin", "size": 10},
        headers=user.headers,
    ).json()
    for value in (f"bytes 0-9/{'9' * 5000}", "bytes ²-9/10", f"bytes 0-{'9' * 30}/10"):
        response = httpx.put(
            created["uploadUrl"], content=b"0123456789", headers={"Content-Range": value.encode()}
        )
        assert response.status_code == 400, value
        assert "Content-Range" in response.json()["error"]["message"]


def test_bad_session_requests(user: User) -> None:
    for body, message in BAD_SESSIONS:
        response = httpx.post(
            user.server.url + "/api/v1/upload/session",
            content=json.dumps(body),  # ASCII, so a lone surrogate travels as \udcff
            headers={**user.headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 400, body
        assert message in response.json()["error"]["message"], body


def test_three_chunks_resumed_after_a_server_restart(tmp_path: Path) -> None:
    """A 3-chunk upload: the connection drops mid-chunk, the server restarts, and the
    client asks for the offset and finishes."""
    data = os.urandom(24 * MiB + 123)
    server = LockrProcess(tmp_path / "data").start()
    user = User(server, "resumer")
    session = create_session(user, len(data))
    url = session["uploadUrl"]
    third = len(data) // 3
    first = httpx.put(
        url, content=data[:third], headers={"Content-Range": f"bytes 0-{third - 1}/{len(data)}"}
    )
    assert first.status_code == 308
    # The second chunk's connection dies after ~10 MiB of 8 MiB+ (the server keeps what
    # it made durable), then the server is restarted.
    with socket.create_connection(("127.0.0.1", server.http_port)) as sock:
        path = url.split(str(server.http_port), 1)[1]
        sock.sendall(
            f"PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {third}\r\n"
            f"Content-Range: bytes {third}-{2 * third - 1}/{len(data)}\r\n\r\n".encode()
        )
        sock.sendall(data[third : third + 5 * MiB])
    server.stop()
    server = LockrProcess(tmp_path / "data").start()
    try:
        url = url.replace(f":{user.server.http_port}/", f":{server.http_port}/")
        progress = status(url, len(data))
        assert progress.status_code == 308
        stored = int(progress.headers.get("range", "bytes=0--1").split("-")[1]) + 1
        assert third <= stored <= third + 5 * MiB
        resumed = httpx.put(
            url,
            content=data[stored : 2 * third],
            headers={"Content-Range": f"bytes {stored}-{2 * third - 1}/{len(data)}"},
        )
        assert resumed.status_code == 308
        last = httpx.put(
            url,
            content=data[2 * third :],
            headers={"Content-Range": f"bytes {2 * third}-{len(data) - 1}/{len(data)}"},
        )
        assert last.status_code == 201, last.text
        assert last.json()["md5"] == hashlib.md5(data).hexdigest()
        downloaded = httpx.get(
            session["downloadUrl"].replace(f":{user.server.http_port}/", f":{server.http_port}/")
        )
        assert hashlib.sha1(downloaded.content).hexdigest() == hashlib.sha1(data).hexdigest()
        account = httpx.get(server.url + "/api/v1/account", headers=user.headers).json()
        assert account["account"]["usedBytes"] == len(data)
    finally:
        server.stop()


def test_upload_region_header_and_session_region(tmp_path: Path) -> None:
    config = tmp_path / "lockr.toml"
    config.write_text('default_region = "us-central1"\n[regions.us-central1]\n[regions.eu-west1]\n')
    server = LockrProcess(tmp_path / "data", env={"LOCKR_CONFIG": str(config)}).start()
    try:
        user = User(server, "regional")
        default = user.upload("a.txt", b"a").json()
        eu = user.upload("b.txt", b"b", **{"x-upload-region": "eu-west1"}).json()
        assert default["region"] == "us-central1" and default["id"].startswith("us-central1_")
        assert eu["region"] == "eu-west1" and eu["id"].startswith("eu-west1_")
        assert (tmp_path / "data" / "blobs" / "eu-west1").is_dir()
        assert httpx.get(eu["downloadUrl"]).content == b"b"
        bad = user.upload("c.txt", b"c", **{"x-upload-region": "mars"})
        assert bad.status_code == 400
        assert "valid regions: eu-west1, us-central1" in bad.json()["error"]["message"]
        session = create_session(user, 1, region="eu-west1")
        assert session["id"].startswith("eu-west1_")
        assert httpx.put(session["uploadUrl"], content=b"z").json()["region"] == "eu-west1"
    finally:
        server.stop()


def test_guests_are_capped_per_address(server: LockrProcess) -> None:
    """Guests share one account: one address may hold at most 10 open uploads (size 0
    counts), cannot choose a folder, and its idle sessions expire within an hour;
    another address is not locked out."""
    url = server.url + "/api/v1/upload/session"
    first = {"X-Forwarded-For": "203.0.113.77"}
    chosen = httpx.post(url, json={"name": "x", "size": 1, "path": "mine"}, headers=first)
    assert chosen.status_code == 400 and "sign in" in chosen.json()["error"]["message"]
    opened = [httpx.post(url, json={"name": f"g{n}", "size": 0}, headers=first) for n in range(10)]
    assert [answer.status_code for answer in opened] == [201] * 10
    expires = datetime.fromisoformat(opened[0].json()["expiresAt"].replace("Z", "+00:00"))
    assert expires.timestamp() <= time.time() + 3600
    refused = httpx.post(url, json={"name": "g10", "size": 0}, headers=first)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "at most 10 guest uploads" in refused.json()["error"]["message"]
    direct = httpx.post(
        server.url + "/api/v1/upload", content=b"d", headers={**first, "x-file-name": "d"}
    )
    assert direct.status_code == 429
    other = httpx.post(
        url, json={"name": "o", "size": 0}, headers={"X-Forwarded-For": "203.0.113.78"}
    )
    assert other.status_code == 201
