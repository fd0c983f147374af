"""The WebDAV app's request pipeline over real HTTP: credentials a browser remembers
(Basic) cannot change anything from another site; tools, tokens and lockr's own
origins are unaffected."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LockrProcess
from tests.webdav.conftest import DavUser

CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
]


@pytest.mark.parametrize("browser", CROSS_SITE)
def test_cross_site_basic_writes_are_refused(dav_user: DavUser, browser: dict[str, str]) -> None:
    home = f"/{dav_user.name}"
    assert dav_user.request("PUT", f"{home}/keep.txt", content=b"keep").status_code == 201
    for method, path, headers in [
        ("PUT", f"{home}/new.txt", {}),
        ("PUT", f"{home}/keep.txt", {}),
        ("DELETE", f"{home}/keep.txt", {}),
        ("MKCOL", f"{home}/folder", {}),
        ("MOVE", f"{home}/keep.txt", {"Destination": f"{dav_user.dav}{home}/moved.txt"}),
        ("POST", f"{home}/keep.txt", {}),
    ]:
        refused = dav_user.request(method, path, content=b"x", headers={**headers, **browser})
        assert refused.status_code == 403, (method, refused.text)
        assert "cross-site" in refused.text and "Bearer" in refused.text
    assert dav_user.request("GET", f"{home}/keep.txt").content == b"keep"
    for gone in ("new.txt", "folder", "moved.txt"):
        assert dav_user.request("GET", f"{home}/{gone}").status_code == 404


def test_reads_tools_tokens_and_own_origins_are_not_refused(
    dav_user: DavUser, server: LockrProcess
) -> None:
    home = f"/{dav_user.name}"
    evil = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
    assert dav_user.request("PUT", f"{home}/a.txt", content=b"a").status_code == 201
    assert dav_user.request("GET", f"{home}/a.txt", headers=evil).content == b"a"
    listing = dav_user.request("PROPFIND", f"{home}/", headers={"Depth": "1", **evil})
    assert listing.status_code == 207
    token = {"Authorization": f"Bearer {dav_user.token}"}
    by_token = httpx.put(f"{dav_user.dav}{home}/b.txt", content=b"b", headers={**token, **evil})
    assert by_token.status_code == 201
    for origin in (dav_user.dav, server.url):  # the WebDAV listener's origin, public_url's
        own = {"Origin": origin}
        assert dav_user.request("PUT", f"{home}/a.txt", content=b"v2", headers=own).is_success
    same = {"Sec-Fetch-Site": "same-origin", "Origin": dav_user.dav}
    assert dav_user.request("DELETE", f"{home}/b.txt", headers=same).status_code == 204
