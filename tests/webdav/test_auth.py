"""Credentials on the WebDAV front, the same whichever path answers: Basic and Bearer,
401 with a Basic challenge, 429 with Retry-After once the sign-in budget is spent."""

from __future__ import annotations

import httpx

from tests.conftest import PASSWORD, CoreFactory, serving, within_one_window
from webdav.app import create_dav_app

LOCK = (
    b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
    b"<D:locktype><D:write/></D:locktype></D:lockinfo>"
)


def test_basic_bearer_and_refusals(make_core: CoreFactory) -> None:
    core = make_core(login_max_failures=2)
    within_one_window(core.config.login_window_seconds)
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    _, token = core.accounts.create_token(core.accounts.find("alice").id)
    with serving(create_dav_app(core)) as url:
        fast = ("PROPFIND", "/alice/", {"Depth": "0"})
        slow = ("LOCK", "/alice/x", {})
        for method, path, headers in (fast, slow):
            answer = httpx.request(method, url + path, headers=headers, content=LOCK)
            assert answer.status_code == 401
            assert answer.headers["www-authenticate"] == 'Basic realm="lockr", charset="UTF-8"'
            digest = {"Authorization": 'Digest username="alice"', **headers}
            assert httpx.request(method, url + path, headers=digest).status_code == 401
        wrong = [
            httpx.request(method, url + path, headers=headers, auth=("alice", "wrong")).status_code
            for method, path, headers in (fast, slow, fast)
        ]
        assert wrong == [401, 401, 429]
        for method, path, headers in (fast, slow):
            limited = httpx.request(method, url + path, headers=headers, auth=("alice", PASSWORD))
            assert limited.status_code == 429, method
            assert int(limited.headers["retry-after"]) > 0
            bearer = {"Authorization": f"Bearer {token}", **headers}
            body = LOCK if method == "LOCK" else None
            answer = httpx.request(method, url + path, headers=bearer, content=body)
            assert answer.status_code in (201, 207), method  # a lock on a new name makes it
