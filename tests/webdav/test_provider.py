"""The WebDAV front over real HTTP: what rclone's owncloud vendor and desktop clients
send, answered as rclone and those clients expect."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.conftest import LockrProcess
from tests.webdav.conftest import DavUser, rclone

OWNCLOUD_PROPFIND = (
    '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">'
    "<d:prop><d:displayname/><d:getlastmodified/><d:getcontentlength/><d:resourcetype/>"
    "<oc:checksums/><oc:permissions/></d:prop></d:propfind>"
)
NS = {"d": "DAV:", "oc": "http://owncloud.org/ns"}


def propfind(user: DavUser, path: str, depth: str = "1") -> ET.Element:
    response = user.request("PROPFIND", path, headers={"Depth": depth}, content=OWNCLOUD_PROPFIND)
    assert response.status_code == 207, response.text
    return ET.fromstring(response.content)


def hrefs(tree: ET.Element) -> list[str]:
    return [e.text or "" for e in tree.findall("d:response/d:href", NS)]


def test_auth_basic_bearer_and_no_digest(dav_user: DavUser) -> None:
    anonymous = httpx.request("PROPFIND", dav_user.dav + "/", headers={"Depth": "0"})
    assert anonymous.status_code == 401
    assert anonymous.headers.get_list("www-authenticate") == [
        'Basic realm="lockr", charset="UTF-8"'
    ]
    digest = httpx.request(
        "PROPFIND",
        dav_user.dav + "/",
        headers={"Depth": "0", "Authorization": f'Digest username="{dav_user.name}"'},
    )
    assert digest.status_code == 401
    wrong = httpx.request("PROPFIND", dav_user.dav + "/", auth=(dav_user.name, "nope-nope"))
    assert wrong.status_code == 401
    bearer = httpx.request(
        "PROPFIND",
        dav_user.dav + "/",
        headers={"Depth": "0", "Authorization": f"Bearer {dav_user.token}"},
    )
    assert bearer.status_code == 207


def test_root_lists_only_the_callers_home(dav_user: DavUser, server: object) -> None:
    other = DavUser(dav_user.server, dav_user.name + "x")
    other.client.close()
    tree = propfind(dav_user, "/")
    assert hrefs(tree) == ["/", f"/{dav_user.name}/"]
    assert (
        dav_user.request("PROPFIND", f"/{other.name}/", headers={"Depth": "0"}).status_code == 404
    )
    assert dav_user.request("PUT", f"/{other.name}/x", content=b"x").status_code in (404, 409)
    assert dav_user.request("DELETE", "/").status_code == 403
    assert hrefs(propfind(dav_user, "/")) == ["/", f"/{dav_user.name}/"]


def test_put_with_mtime_and_checksums_then_propfind(dav_user: DavUser) -> None:
    home = f"/{dav_user.name}"
    data = b"hello lockr" * 1000
    response = dav_user.request(
        "PUT",
        f"{home}/a.txt",
        content=data,
        headers={
            "X-OC-Mtime": "1234567890.75",
            "OC-Checksum": f"SHA1:{hashlib.sha1(data).hexdigest()}",
        },
    )
    assert response.status_code == 201
    assert response.headers["x-oc-mtime"] == "accepted"
    tree = propfind(dav_user, f"{home}/a.txt", depth="0")
    prop = tree.find("d:response/d:propstat/d:prop", NS)
    assert prop is not None
    assert prop.findtext("d:getlastmodified", namespaces=NS) == "Fri, 13 Feb 2009 23:31:30 GMT"
    assert prop.findtext("d:getcontentlength", namespaces=NS) == str(len(data))
    checksum = prop.findtext("oc:checksums/oc:checksum", namespaces=NS)
    assert checksum == f"SHA1:{hashlib.sha1(data).hexdigest()} MD5:{hashlib.md5(data).hexdigest()}"
    bad = dav_user.request(
        "PUT", f"{home}/b.txt", content=b"abc", headers={"OC-Checksum": "MD5:" + "0" * 32}
    )
    assert bad.status_code == 400
    assert dav_user.request("PROPFIND", f"{home}/b.txt", headers={"Depth": "0"}).status_code == 404
    assert dav_user.request("GET", f"{home}/a.txt").content == data
    ranged = dav_user.request("GET", f"{home}/a.txt", headers={"Range": "bytes=5-9"})
    assert ranged.status_code == 206 and ranged.content == data[5:10]
    assert ranged.headers["content-range"] == f"bytes 5-9/{len(data)}"


def test_chunked_and_empty_puts(dav_user: DavUser) -> None:
    home = f"/{dav_user.name}"
    chunked = dav_user.request("PUT", f"{home}/chunked", content=(b"x" * 1000 for _ in range(5)))
    assert chunked.status_code == 201
    empty = dav_user.request("PUT", f"{home}/empty", content=b"", headers={"Content-Length": "0"})
    assert empty.status_code == 201
    tree = propfind(dav_user, home + "/")
    sizes = {
        (r.findtext("d:href", namespaces=NS) or "").rsplit("/", 1)[-1]: r.findtext(
            "d:propstat/d:prop/d:getcontentlength", namespaces=NS
        )
        for r in tree.findall("d:response", NS)
    }
    assert sizes["chunked"] == "5000" and sizes["empty"] == "0"


def test_mkcol_delete_and_depth_one(dav_user: DavUser) -> None:
    home = f"/{dav_user.name}"
    assert dav_user.request("MKCOL", f"{home}/d").status_code == 201
    assert dav_user.request("MKCOL", f"{home}/d").status_code == 405
    assert dav_user.request("MKCOL", f"{home}/missing/child").status_code == 409
    assert dav_user.request("MKCOL", f"{home}/d/e").status_code == 201
    dav_user.request("PUT", f"{home}/d/e/deep.txt", content=b"deep")
    dav_user.request("PUT", f"{home}/d/top.txt", content=b"top")
    listing = hrefs(propfind(dav_user, f"{home}/d/"))
    assert listing == [f"{home}/d/", f"{home}/d/e/", f"{home}/d/top.txt"]  # no grandchildren
    assert dav_user.request("DELETE", f"{home}/d").status_code == 204
    assert (
        dav_user.request("PROPFIND", f"{home}/d/e/deep.txt", headers={"Depth": "0"}).status_code
        == 404
    )


def test_odd_names_round_trip(dav_user: DavUser) -> None:
    home = f"/{dav_user.name}"
    names = ["a#b", "q?.txt", "100%", " lead and trail ", "ünïcødé ☃", "semi;colon", "x:*\\y"]
    for name in names:
        response = dav_user.request("PUT", f"{home}/{quote(name)}", content=name.encode())
        assert response.status_code == 201, name
    tree = propfind(dav_user, home + "/")
    listed = sorted(
        __import__("urllib.parse").parse.unquote(h.rsplit("/", 1)[-1]) for h in hrefs(tree)[1:]
    )
    assert listed == sorted(names)
    for name in names:
        assert dav_user.request("GET", f"{home}/{quote(name)}").content == name.encode()


def test_copy_and_move_with_question_marks(dav_user: DavUser) -> None:
    home = f"/{dav_user.name}"
    dav_user.request("PUT", f"{home}/src%3F.txt", content=b"payload")
    copied = dav_user.request(
        "COPY",
        f"{home}/src%3F.txt",
        headers={"Destination": f"{dav_user.dav}{home}/dst%3Fcopy%23.txt", "X-OC-Mtime": "1000"},
    )
    assert copied.status_code == 201 and copied.headers["x-oc-mtime"] == "accepted"
    assert dav_user.request("GET", f"{home}/dst%3Fcopy%23.txt").content == b"payload"
    moved = dav_user.request(
        "MOVE",
        f"{home}/src%3F.txt",
        headers={"Destination": f"{dav_user.dav}{home}/moved%3F.txt", "Overwrite": "T"},
    )
    assert moved.status_code == 201
    assert dav_user.request("GET", f"{home}/src%3F.txt").status_code == 404
    refused = dav_user.request(
        "COPY",
        f"{home}/moved%3F.txt",
        headers={"Destination": f"{dav_user.dav}{home}/dst%3Fcopy%23.txt", "Overwrite": "F"},
    )
    assert refused.status_code == 412
    no_parent = dav_user.request(
        "MOVE", f"{home}/moved%3F.txt", headers={"Destination": f"{dav_user.dav}{home}/nowhere/x"}
    )
    assert no_parent.status_code == 409


def set_color(user: DavUser, path: str, color: str) -> None:
    body = (
        '<D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:x"><D:set><D:prop>'
        f"<x:color>{color}</x:color></D:prop></D:set></D:propertyupdate>"
    )
    assert user.request("PROPPATCH", path, content=body).status_code == 207


def color_of(user: DavUser, path: str) -> str | None:
    body = '<D:propfind xmlns:D="DAV:"><D:prop><x:color xmlns:x="urn:x"/></D:prop></D:propfind>'
    tree = ET.fromstring(
        user.request("PROPFIND", path, headers={"Depth": "0"}, content=body).content
    )
    found = tree.find(".//{urn:x}color")
    return found.text if found is not None else None


LOCK_BODY = (
    '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/>'
    "</D:lockscope><D:locktype><D:write/></D:locktype><D:owner>x</D:owner></D:lockinfo>"
)


def test_the_root_and_other_homes_take_no_locks_or_properties(dav_user: DavUser) -> None:
    """A lock or dead property outside the caller's home would reach into every
    account: LOCK, UNLOCK and PROPPATCH there are 403, and nothing is stored."""
    other = DavUser(dav_user.server, dav_user.name + "o")
    infinity = {"Depth": "infinity", "Timeout": "Second-2419200"}
    for path in ("/", f"/{other.name}", f"/{other.name}/x.txt", "/nobody-here/"):
        locked = dav_user.request("LOCK", path, headers=infinity, content=LOCK_BODY)
        assert locked.status_code == 403, (path, locked.text)
        unlocked = dav_user.request("UNLOCK", path, headers={"Lock-Token": "<opaquelocktoken:x>"})
        assert unlocked.status_code == 403, path
        body = (
            '<D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:x"><D:set><D:prop>'
            "<x:color>red</x:color></D:prop></D:set></D:propertyupdate>"
        )
        assert dav_user.request("PROPPATCH", path, content=body).status_code == 403, path
    assert color_of(dav_user, "/") is None
    # The other account writes as before, and may lock inside its own home.
    assert other.request("MKCOL", f"/{other.name}/fresh").status_code == 201
    assert other.request("PUT", f"/{other.name}/fresh/a.txt", content=b"a").status_code == 201
    own = other.request("LOCK", f"/{other.name}/fresh", headers=infinity, content=LOCK_BODY)
    assert own.status_code == 200
    assert dav_user.request("PUT", f"/{dav_user.name}/mine.txt", content=b"m").status_code == 201
    other.client.close()


def test_copy_and_move_honour_conditional_headers(dav_user: DavUser) -> None:
    home = f"/{dav_user.name}"
    dav_user.request("PUT", f"{home}/cond.txt", content=b"payload")
    destination = {"Destination": f"{dav_user.dav}{home}/cond-copy.txt"}
    for method in ("COPY", "MOVE"):
        for condition in (
            {"If-Match": '"not-the-etag"'},
            {"If-None-Match": "*"},
            {"If": "(<opaquelocktoken:not-held>)"},
        ):
            refused = dav_user.request(
                method, f"{home}/cond.txt", headers={**destination, **condition}
            )
            assert refused.status_code == 412, (method, condition)
    assert dav_user.request("GET", f"{home}/cond-copy.txt").status_code == 404
    etag = dav_user.request("HEAD", f"{home}/cond.txt").headers["etag"]
    copied = dav_user.request("COPY", f"{home}/cond.txt", headers={**destination, "If-Match": etag})
    assert copied.status_code == 201


def test_folder_copy_keeps_dead_properties_below_it(dav_user: DavUser) -> None:
    home = f"/{dav_user.name}"
    dav_user.request("MKCOL", f"{home}/painted")
    dav_user.request("PUT", f"{home}/painted/inner.txt", content=b"x")
    set_color(dav_user, f"{home}/painted/", "red")
    set_color(dav_user, f"{home}/painted/inner.txt", "blue")
    copied = dav_user.request(
        "COPY", f"{home}/painted/", headers={"Destination": f"{dav_user.dav}{home}/copied/"}
    )
    assert copied.status_code == 201
    assert color_of(dav_user, f"{home}/copied/") == "red"
    assert color_of(dav_user, f"{home}/copied/inner.txt") == "blue"
    assert color_of(dav_user, f"{home}/painted/inner.txt") == "blue"


def test_proppatch_lastmodified(dav_user: DavUser) -> None:
    home = f"/{dav_user.name}"
    dav_user.request("PUT", f"{home}/touch.txt", content=b"t")
    body = (
        '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop>'
        "<d:lastmodified>1500000000</d:lastmodified></d:prop></d:set></d:propertyupdate>"
    )
    response = dav_user.request("PROPPATCH", f"{home}/touch.txt", content=body)
    assert response.status_code == 207
    tree = ET.fromstring(response.content)
    assert len(tree.findall("d:response", NS)) == 1
    assert tree.findtext("d:response/d:propstat/d:status", namespaces=NS) == "HTTP/1.1 200 OK"
    prop = propfind(dav_user, f"{home}/touch.txt", depth="0")
    assert (
        prop.findtext("d:response/d:propstat/d:prop/d:getlastmodified", namespaces=NS)
        == "Fri, 14 Jul 2017 02:40:00 GMT"
    )


def test_quota_properties(dav_user: DavUser) -> None:
    body = (
        '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop>'
        "<d:quota-available-bytes/><d:quota-used-bytes/></d:prop></d:propfind>"
    )
    dav_user.request("PUT", f"/{dav_user.name}/q.bin", content=b"q" * 1234)
    response = dav_user.request("PROPFIND", "/", headers={"Depth": "0"}, content=body)
    tree = ET.fromstring(response.content)
    assert tree.findtext(".//d:quota-used-bytes", namespaces=NS) == "1234"
    available = int(tree.findtext(".//d:quota-available-bytes", namespaces=NS) or 0)
    assert available == dav_user.account()["quotaBytes"] - 1234


def test_the_home_folder_shows_the_account_name(dav_user: DavUser) -> None:
    """File managers show a folder by its displayname; the home has no name of its
    own, so it shows the account's (in the fast answer and in wsgidav's)."""
    home = f"/{dav_user.name}/"
    for body in (OWNCLOUD_PROPFIND, None):
        response = dav_user.request("PROPFIND", home, headers={"Depth": "0"}, content=body)
        tree = ET.fromstring(response.content)
        assert tree.findtext(".//d:displayname", namespaces=NS) == dav_user.name, body


def test_same_tree_as_the_rest_api(dav_user: DavUser) -> None:
    home = f"/{dav_user.name}"
    dav_user.request("PUT", f"{home}/shared.txt", content=b"both fronts")
    files = httpx.get(
        dav_user.server.url + "/api/v1/files", headers={"Authorization": f"Bearer {dav_user.token}"}
    ).json()["files"]
    assert [(f["path"], f["md5"]) for f in files] == [
        ("shared.txt", hashlib.md5(b"both fronts").hexdigest())
    ]
    uploaded = httpx.post(
        dav_user.server.url + "/api/v1/upload",
        content=b"from rest",
        headers={"Authorization": f"Bearer {dav_user.token}", "x-file-name": "rest.txt"},
    )
    assert uploaded.status_code == 201
    assert dav_user.request("GET", f"{home}/uploads/rest.txt").content == b"from rest"
    httpx.delete(
        dav_user.server.url + f"/api/v1/files/{uploaded.json()['id']}",
        headers={"Authorization": f"Bearer {dav_user.token}"},
    )
    assert dav_user.request("GET", f"{home}/uploads/rest.txt").status_code == 404


def test_xml_bodies_and_dead_properties_are_bounded(dav_user: DavUser) -> None:
    """PROPFIND, PROPPATCH and LOCK bodies over 1 MiB are 413 before they are read;
    a dead property value over 64 KiB, or a property past the 100th on a resource,
    is refused and not stored."""
    home = f"/{dav_user.name}"
    dav_user.request("PUT", f"{home}/props.txt", content=b"p")
    padding = "<!--" + "x" * (1024 * 1024) + "-->"
    for method in ("PROPFIND", "PROPPATCH", "LOCK"):
        answer = dav_user.request(method, f"{home}/props.txt", content=padding + LOCK_BODY)
        assert answer.status_code == 413, method
        assert "at most 1048576 bytes" in answer.text
    set_color(dav_user, f"{home}/props.txt", "a" * 60_000)  # within the limit
    too_big = (
        '<D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:x"><D:set><D:prop>'
        f"<x:color>{'b' * 70_000}</x:color></D:prop></D:set></D:propertyupdate>"
    )
    refused = dav_user.request("PROPPATCH", f"{home}/props.txt", content=too_big)
    assert refused.status_code == 207
    assert "HTTP/1.1 413" in refused.text
    assert color_of(dav_user, f"{home}/props.txt") == "a" * 60_000
    many = "".join(f"<x:p{n}>v</x:p{n}>" for n in range(99))
    body = (
        '<D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:x"><D:set><D:prop>'
        f"{many}</D:prop></D:set></D:propertyupdate>"
    )
    assert "HTTP/1.1 200" in dav_user.request("PROPPATCH", f"{home}/props.txt", content=body).text
    extra = (
        '<D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:x"><D:set><D:prop>'
        "<x:one-more>v</x:one-more></D:prop></D:set></D:propertyupdate>"
    )
    full = dav_user.request("PROPPATCH", f"{home}/props.txt", content=extra)
    assert "HTTP/1.1 507" in full.text
    set_color(dav_user, f"{home}/props.txt", "changed")  # an existing one may change


def test_paths_and_names_are_bounded(dav_user: DavUser) -> None:
    """Past 64 components or 4,096 bytes a request is 400 and says which limit; a new
    name with a control character is 400; 63 components work."""
    home = f"/{dav_user.name}"
    deep = "/".join(["d"] * 62)
    assert dav_user.request("MKCOL", f"{home}/d").status_code == 201
    for depth in range(2, 63):
        path = "/".join(["d"] * depth)
        assert dav_user.request("MKCOL", f"{home}/{path}").status_code == 201
    assert dav_user.request("PUT", f"{home}/{deep}/f.txt", content=b"deep").status_code == 201
    assert dav_user.request("GET", f"{home}/{deep}/f.txt").content == b"deep"
    too_deep = dav_user.request("PUT", f"{home}/{deep}/d/d/f.txt", content=b"x")
    assert too_deep.status_code == 400
    assert "at most 64 components" in too_deep.text
    assert "WsgiDAV" not in too_deep.text and "Traceback" not in too_deep.text
    too_long = dav_user.request("PUT", f"{home}/{'x' * 200}/" * 21, content=b"x")
    assert too_long.status_code == 400 and "at most 4096 bytes" in too_long.text
    for method, body in (("MKCOL", b""), ("PUT", b"x")):
        refused = dav_user.request(method, f"{home}/bell%07name", content=body)
        assert refused.status_code == 400, method
        assert "control characters" in refused.text


def test_an_old_name_with_a_control_character_lists_as_xml(dav_user: DavUser) -> None:
    """Entries made before control characters were refused: every listing stays
    well-formed XML (href percent-encoded, displayname with U+FFFD), and rclone
    lists the folder."""
    home = f"/{dav_user.name}"
    dav_user.request("MKCOL", f"{home}/legacy")
    dav_user.request("PUT", f"{home}/legacy/old.txt", content=b"old")
    dav_user.request("PUT", f"{home}/legacy/fine.txt", content=b"fine")
    database = sqlite3.connect(dav_user.server.data / "lockr.db")
    with database:
        database.execute(
            "UPDATE nodes SET name = 'old\x01.txt',"
            " key = replace(key, 'old.txt', 'old\x01.txt') WHERE name = 'old.txt'"
        )
    database.close()
    tree = propfind(dav_user, f"{home}/legacy/")
    assert f"{home}/legacy/old%01.txt" in hrefs(tree)
    assert "old\ufffd.txt" in [e.text for e in tree.findall(".//d:displayname", NS)]
    allprop = dav_user.request("PROPFIND", f"{home}/legacy/", headers={"Depth": "1"})
    assert allprop.status_code == 207
    ET.fromstring(allprop.content)
    listing = subprocess.run(
        [rclone(), "lsjson", dav_user.remote() + f"{dav_user.name}/legacy"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sorted(item["Name"] for item in json.loads(listing.stdout)) == [
        "fine.txt",
        "old\x01.txt",
    ]
    assert dav_user.request("DELETE", f"{home}/legacy/old%01.txt").status_code == 204


def test_a_full_account_answers_507(tmp_path: Path) -> None:
    """Past ``max_entries_per_account`` a MKCOL, a PUT of a new file or a COPY is 507
    and writes nothing; replacing a file still works, and a DELETE makes room."""
    server = LockrProcess(tmp_path / "data", env={"LOCKR_MAX_ENTRIES_PER_ACCOUNT": "20"}).start()
    try:
        user = DavUser(server, "full")
        home = f"/{user.name}"
        assert user.request("MKCOL", f"{home}/t").status_code == 201
        for index in range(9):
            assert user.request("PUT", f"{home}/t/f{index}", content=b"f").status_code == 201
        copy = {"Destination": f"{user.dav}{home}/t2"}
        assert user.request("COPY", f"{home}/t", headers=copy).status_code == 201  # 20 entries
        assert user.request("MKCOL", f"{home}/x").status_code == 507
        assert user.request("PUT", f"{home}/t/new", content=b"n").status_code == 507
        assert user.request("PUT", f"{home}/t/f0", content=b"again").status_code == 204
        over = {"Destination": f"{user.dav}{home}/t3"}
        assert user.request("COPY", f"{home}/t", headers=over).status_code == 507
        assert hrefs(propfind(user, f"{home}/")) == [f"{home}/", f"{home}/t/", f"{home}/t2/"]
        assert user.request("DELETE", f"{home}/t2").status_code == 204
        assert user.request("COPY", f"{home}/t", headers=over).status_code == 201
        user.client.close()
    finally:
        server.stop()
