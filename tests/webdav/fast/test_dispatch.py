"""Which requests the fast path takes: credentials are checked alike on both paths;
an ``If`` header, a lock or a dead property anywhere in the home sends the request to
wsgidav, with any body the fast path read."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, statements
from tests.webdav.fast.conftest import Twins, running_twins

LOCK = (
    b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
    b"<D:locktype><D:write/></D:locktype><D:owner>me</D:owner></D:lockinfo>"
)
COLOR = (
    '<D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:x"><D:{0}><D:prop>'
    "<x:color>red</x:color></D:prop></D:{0}></D:propertyupdate>"
)
LIVE = (
    '<d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><d:displayname/>'
    "<d:getcontentlength/><d:resourcetype/><oc:checksums/><oc:permissions/><d:x-none/>"
    "</d:prop></d:propfind>"
)
"""What rclone lists, less the dates (the twins made their folders at other times)."""
LISTING = (
    '<d:propfind xmlns:d="DAV:"><d:prop><d:getcontentlength/><d:resourcetype/>'
    "<d:lockdiscovery/></d:prop></d:propfind>"
)


def test_credentials_are_checked_alike(twins: Twins) -> None:
    for method, path in (
        ("PUT", "/alice/x.txt"),
        ("PROPFIND", "/alice/"),
        ("GET", "/alice/big.bin"),
    ):
        for auth in (("alice", "wrong password"), ("nobody", PASSWORD)):
            ours, theirs = twins.both(method, path, auth=auth, headers={"Depth": "0"})
            assert ours.status_code == theirs.status_code == 401
            assert ours.headers["www-authenticate"] == theirs.headers["www-authenticate"]
        bare = httpx.request(method, str(twins.fast.base_url) + path, headers={"Depth": "0"})
        assert bare.status_code == 401 and bare.text == "sign in\n"
    cross = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
    ours, theirs = twins.both("PUT", "/alice/x.txt", content=b"x", headers=cross)
    assert ours.status_code == theirs.status_code == 403
    assert ours.text == theirs.text and "cross-site" in ours.text


def test_a_lock_in_the_home_sends_its_requests_to_wsgidav(twins: Twins) -> None:
    locked = []
    for client in (twins.fast, twins.slow):
        answer = client.request(
            "LOCK", "/alice/docs/a.txt", content=LOCK, headers={"Timeout": "Second-60"}
        )
        assert answer.status_code == 200
        locked.append(answer.headers["lock-token"])
    listing = {"content": LISTING, "headers": {"Depth": "1"}}
    ours, theirs = twins.both("PROPFIND", "/alice/docs/", fast_path=False, **listing)
    assert b"activelock" in ours.content and ours.status_code == theirs.status_code == 207
    # A listing that does not ask for lockdiscovery does not depend on locks.
    twins.same("PROPFIND", "/alice/docs/", content=LIVE, headers={"Depth": "1"})
    ours, theirs = twins.both("PUT", "/alice/docs/a.txt", content=b"no", fast_path=False)
    assert ours.status_code == theirs.status_code == 423
    twins.same("MKCOL", "/alice/docs/a.txt")  # a name in use is 405 whatever the locks
    ours, theirs = twins.both("MKCOL", "/alice/docs/new", fast_path=False)
    assert ours.status_code == theirs.status_code == 201
    # A body the fast path read before it found the lock reaches wsgidav whole.
    ours, theirs = twins.both("PUT", "/alice/elsewhere.txt", content=b"read twice", fast_path=False)
    assert ours.status_code == theirs.status_code == 201
    assert twins.fast.get("/alice/elsewhere.txt").content == b"read twice"
    assert twins.trees()[0] == twins.trees()[1]
    for client, token in zip((twins.fast, twins.slow), locked, strict=True):
        assert (
            client.request("UNLOCK", "/alice/docs/a.txt", headers={"Lock-Token": token}).status_code
            == 204
        )
    twins.same("PROPFIND", "/alice/docs/", **listing)


def test_a_dead_property_sends_the_homes_requests_to_wsgidav(twins: Twins) -> None:
    for client in (twins.fast, twins.slow):
        assert (
            client.request("PROPPATCH", "/alice/big.bin", content=COLOR.format("set")).status_code
            == 207
        )
    ours, theirs = twins.both("DELETE", "/alice/big.bin", fast_path=False)
    assert ours.status_code == theirs.status_code == 204
    twins.same("PUT", "/alice/big.bin", content=b"again")  # its property went with it
    for client in (twins.fast, twins.slow):
        assert (
            client.request("PROPPATCH", "/alice/docs/", content=COLOR.format("set")).status_code
            == 207
        )
    twins.same("PROPFIND", "/alice/docs/", content=LIVE, headers={"Depth": "1"})  # all live
    ours, theirs = twins.both(
        "MOVE", "/alice/docs/", fast_path=False, headers={"Destination": "/alice/moved/"}
    )
    assert ours.status_code == theirs.status_code == 201
    body = '<D:propfind xmlns:D="DAV:"><D:prop><x:color xmlns:x="urn:x"/></D:prop></D:propfind>'
    ours, theirs = twins.both(
        "PROPFIND", "/alice/moved/", fast_path=False, content=body, headers={"Depth": "0"}
    )
    assert b">red<" in ours.content and ours.content == theirs.content
    for client in (twins.fast, twins.slow):
        assert (
            client.request("PROPPATCH", "/alice/moved/", content=COLOR.format("remove")).status_code
            == 207
        )
    twins.same("MKCOL", "/alice/plain-again")


def test_an_if_header_sends_the_request_to_wsgidav(twins: Twins) -> None:
    ours, theirs = twins.both(
        "GET", "/alice/docs/a.txt", fast_path=False, headers={"If": '(["nope"])'}
    )
    assert ours.status_code == theirs.status_code == 412


def test_a_mounted_front_answers_alike(tmp_path: Path) -> None:
    with running_twins(tmp_path, dav_mount="/dav/") as twins:
        for method, path, extra in (
            ("GET", "/dav/alice/docs/a.txt", {}),
            ("PUT", "/dav/alice/new.txt", {"content": b"new"}),
            ("MKCOL", "/dav/alice/made", {}),
            ("PROPFIND", "/dav/alice/", {"content": LISTING, "headers": {"Depth": "1"}}),
            ("OPTIONS", "/dav/alice/made", {}),
            ("DELETE", "/dav/alice/docs/sub", {}),
            ("GET", "/dav/alice/nothing", {}),
        ):
            twins.same(method, path, **extra)
        for client in (twins.fast, twins.slow):
            target = f"http://{client.base_url.netloc.decode()}/dav/alice/made/moved.txt"
            moved = client.request("MOVE", "/dav/alice/new.txt", headers={"Destination": target})
            assert moved.status_code == 201
        outside = [client.get("/alice/docs/a.txt") for client in (twins.fast, twins.slow)]
        assert [answer.status_code for answer in outside] == [404, 404]
        assert twins.trees()[0] == twins.trees()[1]
        assert "made/moved.txt" in twins.trees()[0]


def test_what_rclone_asks_around_each_upload_is_one_statement(tmp_path: Path) -> None:
    """rclone MKCOLs the parent before every upload (it exists: 405) and reads the
    file back with PROPFIND Depth 0 after it: once the caller is known, each is one
    indexed read, and the check for locks and dead properties a write makes is one
    more."""
    with running_twins(tmp_path, account_cache_seconds=3600) as twins:
        fast, core = twins.fast, twins.cores[0]
        for _ in range(2):  # the credential checked, then the account read
            assert fast.request("OPTIONS", "/alice/").status_code == 200
        with statements(core) as seen:
            assert fast.request("MKCOL", "/alice/docs").status_code == 405
        assert len(seen) == 1, seen
        with statements(core) as seen:
            found = fast.request(
                "PROPFIND", "/alice/docs/a.txt", headers={"Depth": "0"}, content=LIVE
            )
            assert found.status_code == 207
        assert len(seen) == 1, seen
        with statements(core) as seen:
            assert core.dav_locks.home_is_plain("alice")
        assert len(seen) == 1, seen


def test_reads_of_a_remembered_caller_need_no_worker_thread(
    twins: Twins, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over SQLite, a PROPFIND or a MKCOL of a name in use by a caller whose password
    was checked lately is answered on the event loop; a caller not remembered (a
    password to check) and anything that writes take a worker thread, and wrong
    credentials are refused as before."""
    storage = twins.cores[0].storage
    seen: list[tuple[str, bool]] = []

    def watched(name: str) -> None:
        method = getattr(storage, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            seen.append((name, threading.current_thread().name.startswith("lockr-worker")))
            return method(*args, **kwargs)

        monkeypatch.setattr(storage, name, run)

    watched("stat")
    watched("mkdir")
    listing = {"content": LIVE, "headers": {"Depth": "1"}}
    assert twins.same("PROPFIND", "/alice/docs/", **listing).status_code == 207
    assert seen == [("stat", True)]  # the password checked in a worker thread
    seen.clear()
    assert twins.same("PROPFIND", "/alice/docs/", **listing).status_code == 207
    assert twins.same("MKCOL", "/alice/docs/").status_code == 405
    assert twins.same("MKCOL", "/alice/new/").status_code == 201
    assert seen == [("stat", False), ("stat", False), ("stat", False), ("mkdir", True)]
    ours, theirs = twins.both("PROPFIND", "/alice/docs/", **listing, auth=("alice", "guess"))
    assert ours.status_code == theirs.status_code == 401
