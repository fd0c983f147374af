"""``POST /api/v1/rclone-config`` over real HTTP: the WebDAV and the S3 remotes work
with a real rclone as given, their credentials are new, and bad input is refused."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.conftest import User
from tests.conftest import run_rclone


def remote(user: User, **body: object) -> httpx.Response:
    return httpx.post(user.server.url + "/api/v1/rclone-config", json=body, headers=user.headers)


def test_a_webdav_remote_works_with_rclone(user: User, tmp_path: Path) -> None:
    user.upload("hello.txt", b"hello over webdav")
    made = remote(user)
    assert made.status_code == 201 and made.headers["cache-control"] == "no-store"
    body = made.json()
    assert body["kind"] == "webdav" and body["remote"] == "lockr"
    assert body["config"].startswith("[lockr]\ntype = webdav\n")
    assert f"url = http://127.0.0.1:{user.server.dav_port}\n" in body["config"]
    assert body["command"].startswith(f"rclone sync s3:your-source-bucket lockr:{user.name} ")
    assert "--transfers=16" in body["command"] and "--checkers=8" in body["command"]
    config = tmp_path / "rclone.conf"
    config.write_text(body["config"] + "\n")
    listed = run_rclone("lsf", f"lockr:{user.name}/uploads", config=config)
    assert listed.stdout.split() == ["hello.txt"]
    tokens = httpx.get(user.server.url + "/api/v1/tokens", headers=user.headers).json()
    assert "rclone" in [token["name"] for token in tokens["tokens"]]


def test_an_s3_remote_works_with_rclone(user: User, tmp_path: Path) -> None:
    user.upload("object.txt", b"hello over s3")
    body = remote(user, kind="s3", remote="mine").json()
    assert body["config"].startswith("[mine]\ntype = s3\nprovider = Other\n")
    assert f"endpoint = http://127.0.0.1:{user.server.s3_port}\n" in body["config"]
    config = tmp_path / "rclone.conf"
    config.write_text(body["config"] + "\n")
    got = run_rclone("cat", "mine:uploads/object.txt", config=config)
    assert got.stdout == "hello over s3"
    keys = httpx.get(user.server.url + "/api/v1/s3-keys", headers=user.headers).json()
    assert [key["name"] for key in keys["s3Keys"]] == ["rclone"]


def test_bad_input(user: User) -> None:
    for body in ({"kind": "ftp"}, {"remote": "Bad Name"}, {"remote": ""}, {"colour": 1}):
        assert remote(user, **body).status_code == 400, body
    assert httpx.post(user.server.url + "/api/v1/rclone-config").status_code == 401
