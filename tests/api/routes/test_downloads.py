"""Downloads over real HTTP: ranges, conditional requests, keys and their throttle."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import httpx

from gateway.files import WRONG_KEY_WINDOW
from tests.api.conftest import User
from tests.conftest import (
    PASSWORD,
    LockrProcess,
    S3Server,
    in_parallel,
    s3_region_toml,
    within_one_window,
)

DATA = os.urandom(2 * 1024 * 1024 + 77)


def test_full_download_headers(user: User) -> None:
    file = user.upload(
        "na%C3%AFve%20file.bin", DATA, **{"Content-Type": "application/x-test"}
    ).json()
    response = httpx.get(file["downloadUrl"])
    assert response.status_code == 200 and response.content == DATA
    assert response.headers["content-type"] == "application/x-test"
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["etag"] == f'"{hashlib.md5(DATA).hexdigest()}"'
    assert response.headers["accept-ranges"] == "bytes"
    assert "filename*=UTF-8''na%C3%AFve%20file.bin" in response.headers["content-disposition"]
    assert "last-modified" in response.headers
    head = httpx.head(file["downloadUrl"])
    assert head.status_code == 200 and head.headers["content-length"] == str(len(DATA))
    assert httpx.get(user.server.url + "/api/v1/download/local_nope").status_code == 404
    assert httpx.get(user.server.url + "/api/v1/download/garbage").status_code == 404


def test_ranges(user: User) -> None:
    url = user.upload("r.bin", DATA).json()["downloadUrl"]
    part = httpx.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == DATA[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(DATA)}"
    suffix = httpx.get(url, headers={"Range": "bytes=-10"})
    assert suffix.status_code == 206 and suffix.content == DATA[-10:]
    open_end = httpx.get(url, headers={"Range": f"bytes={len(DATA) - 5}-"})
    assert open_end.content == DATA[-5:]
    beyond = httpx.get(url, headers={"Range": f"bytes={len(DATA)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(DATA)}"
    several = httpx.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and len(several.content) == len(DATA)


def test_conditional_requests(user: User) -> None:
    url = user.upload("c.bin", DATA).json()["downloadUrl"]
    first = httpx.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert httpx.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert httpx.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert httpx.get(url, headers={"If-Match": '"other"'}).status_code == 412
    ranged = httpx.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert ranged.status_code == 206
    stale = httpx.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200 and len(stale.content) == len(DATA)


def test_wrong_keys_are_throttled(user: User) -> None:
    within_one_window(WRONG_KEY_WINDOW)
    url = user.upload("k.bin", b"guarded", **{"x-file-key": "right"}).json()["downloadUrl"]
    missing = httpx.get(url)
    assert missing.status_code == 403 and "keyHash" in missing.json()["error"]["message"]
    for _ in range(10):
        assert httpx.get(url, params={"keyHash": "0" * 64}).status_code == 403
    throttled = httpx.get(url, params={"keyHash": hashlib.sha256(b"right").hexdigest()})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
    assert httpx.get(url, headers=user.headers).status_code == 200  # the owner still can


def test_a_signature_of_any_text_is_refused(user: User) -> None:
    """A signed URL's signature that is not ASCII is a wrong one (403), not a 500."""
    url = user.upload("sig.bin", b"signed").json()["downloadUrl"]
    expires = str(int(time.time()) + 3600)
    for signature in ("\u00a3", "\u00e9" * 64, "\u2603"):
        response = httpx.get(url, params={"expires": expires, "signature": signature})
        assert response.status_code == 403, response.text


def test_ranges_with_absurd_numbers(user: User) -> None:
    """Positions of thousands of digits are past the end of any file, not a 500."""
    url = user.upload("absurd.bin", DATA).json()["downloadUrl"]
    huge = "9" * 5000
    assert httpx.get(url, headers={"Range": f"bytes={huge}-"}).status_code == 416
    whole = httpx.get(url, headers={"Range": f"bytes=0-{huge}"})
    assert whole.status_code == 206 and whole.content == DATA
    suffix = httpx.get(url, headers={"Range": f"bytes=-{huge}"})
    assert suffix.status_code == 206 and suffix.content == DATA
    other_digits = httpx.get(url, headers={"Range": "bytes=²-5".encode()})
    assert other_digits.status_code == 200 and other_digits.content == DATA


def test_parallel_wrong_keys_stop_at_the_limit(user: User) -> None:
    """Fifty wrong keys at once: ten are compared (403), forty refused (429); right
    keys before them did not use the budget."""
    url = user.upload("p.bin", b"guarded", **{"x-file-key": "right"}).json()["downloadUrl"]
    right = hashlib.sha256(b"right").hexdigest()
    for _ in range(15):
        assert httpx.get(url, params={"keyHash": right}).status_code == 200
    statuses = in_parallel(
        lambda index: httpx.get(url, params={"keyHash": f"{index:064x}"}).status_code,
        range(50),
    )
    assert statuses.count(403) == 10 and statuses.count(429) == 40


def test_an_s3_region_serves_downloads_itself_or_through_lockr(
    s3_server: S3Server, tmp_path: Path
) -> None:
    """With ``redirect_downloads`` a download is a 302 to a presigned URL of the store
    (after lockr has checked the key); a region without it, and WebDAV, stream."""
    data_folder = tmp_path / "data"
    toml = s3_region_toml(s3_server, data_folder, redirect=True)
    server = LockrProcess(data_folder, env={"LOCKR_CONFIG": str(toml)}).start()
    try:
        user = User(server, "carol")
        file = user.upload("s3.bin", DATA).json()
        assert file["region"] == "s3"
        redirect = httpx.get(file["downloadUrl"])
        assert redirect.status_code == 302
        assert redirect.headers["location"].startswith(s3_server.endpoint + "/lockr-test/")
        assert redirect.headers["cache-control"] == "no-store"
        followed = httpx.get(redirect.headers["location"])
        assert followed.status_code == 200 and followed.content == DATA
        assert "s3.bin" in followed.headers["content-disposition"]
        head = httpx.head(file["downloadUrl"])  # answered here: a page checks keys so
        assert head.status_code == 200 and head.headers["content-length"] == str(len(DATA))

        keyed = user.upload("keyed.bin", b"secret bytes", **{"x-file-key": "open sesame"}).json()
        assert httpx.get(keyed["downloadUrl"]).status_code == 403  # checked before any redirect

        local = user.upload("local.bin", DATA, **{"x-upload-region": "local"}).json()
        streamed = httpx.get(local["downloadUrl"])
        assert streamed.status_code == 200 and streamed.content == DATA

        dav = f"http://127.0.0.1:{server.dav_port}/carol/uploads/s3.bin"
        auth = ("carol", PASSWORD)
        whole = httpx.get(dav, auth=auth)
        assert whole.status_code == 200 and whole.content == DATA
        ranged = httpx.get(dav, auth=auth, headers={"Range": "bytes=1048570-1048600"})
        assert ranged.status_code == 206 and ranged.content == DATA[1048570:1048601]
    finally:
        server.stop()


def test_inline_is_only_for_types_that_cannot_run_script(user: User) -> None:
    shown = {"application/pdf", "image/png", "video/mp4", "audio/ogg"}
    kept = {"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "text/plain"}
    for media_type in sorted(shown | kept):
        file = user.upload("f", b"<svg onload=alert(1)>", **{"Content-Type": media_type}).json()
        answer = httpx.get(file["downloadUrl"], params={"inline": "1"})
        assert answer.status_code == 200
        assert answer.headers["x-content-type-options"] == "nosniff"
        disposition = answer.headers["content-disposition"]
        if media_type in shown:
            assert disposition.startswith("inline;"), media_type
            policy = answer.headers["content-security-policy"]
            assert "sandbox" in policy and "default-src 'none'" in policy
            assert "frame-ancestors 'self'" in policy
        else:
            assert disposition.startswith("attachment;"), media_type
        plain = httpx.get(file["downloadUrl"])
        assert plain.headers["content-disposition"].startswith("attachment;")
        assert "content-security-policy" not in plain.headers
