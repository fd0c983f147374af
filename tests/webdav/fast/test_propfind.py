"""The fast PROPFIND answers exactly what wsgidav answers, for every request it takes,
and leaves every other request to wsgidav."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import httpx
import pytest
from sqlalchemy import update

from gateway.core import Core
from gateway.models import Node
from tests.conftest import PASSWORD, CoreFactory, serving
from tests.webdav.fast.conftest import canonical
from webdav.app import create_dav_app

RCLONE_LISTING = (
    '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">'
    "<d:prop><d:displayname/><d:getlastmodified/><d:getcontentlength/><d:resourcetype/>"
    "<d:getcontenttype/><oc:checksums/><oc:permissions/></d:prop></d:propfind>"
)
EVERY_LIVE = (
    '<D:propfind xmlns:D="DAV:" xmlns:o="http://owncloud.org/ns"><D:prop>'
    "<D:getetag/><D:creationdate/><D:displayname/><D:getlastmodified/>"
    "<D:getcontentlength/><D:getcontenttype/><D:resourcetype/><D:quota-used-bytes/>"
    "<D:quota-available-bytes/><D:lockdiscovery/><D:supportedlock/><D:no-such-thing/>"
    "<o:checksums/><o:permissions/></D:prop></D:propfind>"
)
MISSING_FIRST = '<propfind xmlns="DAV:"><prop><getcontentlength/><displayname/></prop></propfind>'
DEAD = '<D:propfind xmlns:D="DAV:"><D:prop><x:color xmlns:x="urn:x"/></D:prop></D:propfind>'
ALLPROP = '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
ODD = "odd #?% & <ü> 'q'"  # listed, not requested: the test transport sends UTF-8 paths


@pytest.fixture
def clients(core: Core) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    storage, account = core.storage, core.accounts.find("alice").id
    storage.mkdir(account, "docs")
    storage.mkdir(account, f"docs/{ODD} folder")
    storage.mkdir(account, "control")
    files = {
        "docs/a.txt": b"hi",
        "docs/empty": b"",
        f"docs/{ODD}": b"odd",
        "docs/x #?% & <y>": b"x",
        "control/c": b"c",
    }
    for name, body in files.items():
        upload = storage.upload(account, name, max_size=1 << 20, content_type="text/plain")
        with upload:
            upload.write(body)
            upload.commit()
    with core.db.write() as session:  # a name from before control characters were refused
        session.execute(update(Node).where(Node.name == "c").values(name="c\x01"))
    with (
        serving(create_dav_app(core)) as fast,
        serving(create_dav_app(core, fast=False)) as slow,
        httpx.Client(base_url=fast, auth=("alice", PASSWORD)) as fast_client,
        httpx.Client(base_url=slow, auth=("alice", PASSWORD)) as slow_client,
    ):
        yield fast_client, slow_client


def propfind(client: httpx.Client, path: str, body: str, depth: str) -> httpx.Response:
    return client.request("PROPFIND", path, content=body.encode(), headers={"Depth": depth})


FAST_CASES = [
    ("/alice/docs/", RCLONE_LISTING, "1"),
    ("/alice/docs", RCLONE_LISTING, "0"),
    ("/alice/", EVERY_LIVE, "1"),
    ("/alice/docs/", EVERY_LIVE, "1"),
    ("/alice/docs/a.txt", EVERY_LIVE, "0"),
    ("/alice/docs/empty", RCLONE_LISTING, "1"),
    ("/alice/docs/", MISSING_FIRST, "1"),
    ("/alice/docs/x%20%23%3F%25%20%26%20%3Cy%3E", EVERY_LIVE, "0"),
]


@pytest.mark.parametrize(("path", "body", "depth"), FAST_CASES)
def test_fast_answer_equals_wsgidavs(
    clients: tuple[httpx.Client, httpx.Client], path: str, body: str, depth: str
) -> None:
    fast, slow = clients
    ours, theirs = propfind(fast, path, body, depth), propfind(slow, path, body, depth)
    assert ours.status_code == theirs.status_code == 207
    assert b'xmlns:d="DAV:"' in ours.content  # answered by the fast path
    assert ours.headers["content-type"] == theirs.headers["content-type"]
    assert "date" in ours.headers
    assert canonical(ours.content) == canonical(theirs.content)


@pytest.mark.parametrize(
    ("path", "body", "depth", "headers"),
    [
        ("/alice/docs/", ALLPROP, "1", {}),  # allprop includes dead properties
        ("/alice/docs/", DEAD, "1", {}),  # other namespaces may be dead properties
        ("/alice/docs/", RCLONE_LISTING, "infinity", {}),
        ("/alice/docs/", "", "1", {}),  # an empty body means allprop
        ("/alice/docs/a.txt", RCLONE_LISTING, "0", {"If-None-Match": "*"}),
        ("/", RCLONE_LISTING, "1", {}),  # the root belongs to wsgidav
        ("/bob/", RCLONE_LISTING, "1", {}),  # so do other accounts (404)
    ],
)
def test_other_requests_are_left_to_wsgidav(
    clients: tuple[httpx.Client, httpx.Client],
    path: str,
    body: str,
    depth: str,
    headers: dict[str, str],
) -> None:
    fast, slow = clients
    request = {"content": body.encode(), "headers": {"Depth": depth, **headers}}
    ours = fast.request("PROPFIND", path, **request)  # type: ignore[arg-type]
    theirs = slow.request("PROPFIND", path, **request)  # type: ignore[arg-type]
    assert ours.status_code == theirs.status_code
    assert b'xmlns:d="DAV:"' not in ours.content
    if ours.status_code == 207:
        assert canonical(ours.content) == canonical(theirs.content)


def test_usage_is_as_it_is_now(clients: tuple[httpx.Client, httpx.Client]) -> None:
    """The quota properties show what the account uses when asked, not what it used
    when its caller was last read (both paths alike)."""
    body = '<d:propfind xmlns:d="DAV:"><d:prop><d:quota-used-bytes/></d:prop></d:propfind>'

    def used(client: httpx.Client) -> int:
        answer = ElementTree.fromstring(propfind(client, "/alice/", body, "0").content)
        return int(answer.findtext(".//{DAV:}quota-used-bytes") or -1)

    for client in clients:
        before = used(client)
        assert client.put("/alice/more.bin", content=b"m" * 1000).status_code == 201
        assert used(client) == before + 1000
        assert client.delete("/alice/more.bin").status_code == 204


def test_a_missing_path_is_the_same_404(clients: tuple[httpx.Client, httpx.Client]) -> None:
    fast, slow = clients
    for path in ("/alice/nothing", "/alice/docs/nothing/"):
        ours, theirs = (
            propfind(fast, path, RCLONE_LISTING, "1"),
            propfind(slow, path, RCLONE_LISTING, "1"),
        )
        assert ours.status_code == theirs.status_code == 404
        assert ours.text == theirs.text == f"404 Not Found: {path}\n"


def test_names_xml_cannot_carry_list_as_well_formed_xml(
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    """An old name with a control character: the href carries it percent-encoded,
    the displayname with U+FFFD, in both answers."""
    fast, slow = clients
    ours = propfind(fast, "/alice/control/", RCLONE_LISTING, "1")
    assert ours.status_code == 207 and b'xmlns:d="DAV:"' in ours.content
    theirs = propfind(slow, "/alice/control/", RCLONE_LISTING, "1")
    assert canonical(ours.content) == canonical(theirs.content)
    assert "/alice/control/c%01" in ours.text and "c\ufffd" in ours.text
    for body in (ALLPROP, EVERY_LIVE):
        ElementTree.fromstring(propfind(fast, "/alice/control/", body, "1").content)


def test_a_held_lock_sends_listings_to_wsgidav(
    clients: tuple[httpx.Client, httpx.Client],
) -> None:
    fast, slow = clients
    lock = fast.request(
        "LOCK",
        "/alice/docs/a.txt",
        content=(
            b'<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
            b"<D:locktype><D:write/></D:locktype><D:owner>me</D:owner></D:lockinfo>"
        ),
        headers={"Timeout": "Second-60"},
    )
    assert lock.status_code == 200
    ours = propfind(fast, "/alice/docs/a.txt", EVERY_LIVE, "0")
    assert b'xmlns:d="DAV:"' not in ours.content and b"activelock" in ours.content
    assert canonical(ours.content) == canonical(
        propfind(slow, "/alice/docs/a.txt", EVERY_LIVE, "0").content
    )


def test_a_mounted_front_answers_under_its_mount(make_core: CoreFactory) -> None:
    core = make_core(dav_mount="/dav/")
    core.accounts.create("alice", "alice@example.com", PASSWORD)
    core.storage.mkdir(core.accounts.find("alice").id, "docs")
    answers = []
    for fast in (True, False):
        with (
            serving(create_dav_app(core, fast=fast)) as url,
            httpx.Client(base_url=url, auth=("alice", PASSWORD)) as client,
        ):
            assert propfind(client, "/alice/", RCLONE_LISTING, "1").status_code == 404
            answer = propfind(client, "/dav/alice/", RCLONE_LISTING, "1")
            assert answer.status_code == 207
            answers.append(canonical(answer.content))
    assert answers[0] == answers[1]
    assert [href for href, _ in answers[0]] == ["/dav/alice/", "/dav/alice/docs/"]
