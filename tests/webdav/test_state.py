"""Locks and dead properties live in the database: two server processes sharing one
database agree on them, and they survive a restart."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import PASSWORD, LockrProcess
from tests.webdav.conftest import DavUser

LOCK = (
    '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
    "</D:lockscope><D:locktype><D:write/></D:locktype><D:owner>first</D:owner></D:lockinfo>"
)
SET_PROP = (
    '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:lockr-test">'
    "<D:set><D:prop><Z:colour>teal</Z:colour></D:prop></D:set></D:propertyupdate>"
)
GET_PROP = (
    '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:lockr-test">'
    "<D:prop><Z:colour/></D:prop></D:propfind>"
)


def test_two_processes_share_locks_and_properties(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = LockrProcess(data).start()
    second = LockrProcess(data).start()
    try:
        user = DavUser(first, "twoprocs")
        home = f"/{user.name}"
        other = httpx.Client(auth=(user.name, PASSWORD))
        other_dav = f"http://127.0.0.1:{second.dav_port}"
        assert user.request("PUT", f"{home}/doc.txt", content=b"v1").status_code == 201
        locked = user.request("LOCK", f"{home}/doc.txt", content=LOCK)
        assert locked.status_code == 200
        token = locked.headers["lock-token"]
        refused = other.put(other_dav + f"{home}/doc.txt", content=b"v2")
        assert refused.status_code == 423
        allowed = other.put(
            other_dav + f"{home}/doc.txt", content=b"v2", headers={"If": f"({token})"}
        )
        assert allowed.status_code == 204
        assert user.request("PROPPATCH", f"{home}/doc.txt", content=SET_PROP).status_code == 423
        patched = user.request(
            "PROPPATCH", f"{home}/doc.txt", content=SET_PROP, headers={"If": f"({token})"}
        )
        assert patched.status_code == 207
        shown = other.request(
            "PROPFIND", other_dav + f"{home}/doc.txt", headers={"Depth": "0"}, content=GET_PROP
        )
        assert "teal" in shown.text
        first.stop()
        restarted = LockrProcess(data).start()
        try:
            again = httpx.Client(auth=(user.name, PASSWORD))
            url = f"http://127.0.0.1:{restarted.dav_port}{home}/doc.txt"
            assert again.put(url, content=b"v3").status_code == 423  # the lock survived
            assert (
                "teal"
                in again.request("PROPFIND", url, headers={"Depth": "0"}, content=GET_PROP).text
            )
            unlocked = again.request("UNLOCK", url, headers={"Lock-Token": token})
            assert unlocked.status_code == 204
            assert again.put(url, content=b"v3").status_code == 204
            again.close()
        finally:
            restarted.stop()
        other.close()
        user.client.close()
    finally:
        second.stop()
        if first.process and first.process.poll() is None:
            first.stop()
