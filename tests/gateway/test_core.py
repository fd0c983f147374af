"""The core as built by :func:`build_core`: what it leaves on disk."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.core import build_core
from gateway.sessions import SMALLEST_PART
from tests.conftest import PASSWORD, CoreFactory, S3Server, make_config, s3_region_toml


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    """The permission bits of ``root`` and of everything below it, by relative path."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for folder, names, files in os.walk(root):
        for name in names + files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_files_at_rest_are_private_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    data = tmp_path / "data"
    core = build_core(make_config(data))
    core.start()
    try:
        alice = core.accounts.create("alice", "alice@example.com", PASSWORD).id
        with core.storage.upload(alice, "kept.txt", max_size=1 << 20) as upload:
            upload.write(b"committed bytes")
            entry = upload.commit()
        info, _ = core.sessions.create(
            alice,
            name="pending.txt",
            size=SMALLEST_PART + 100,
            content_type="",
            max_size=1 << 30,
            region="local",
            folder="uploads",
        )
        chunk = core.sessions.begin(info, 0)
        chunk.write(b"p" * SMALLEST_PART)
        chunk.close()  # a part of an unfinished upload, under tmp/
        found = modes(data)
    finally:
        core.close()
    key = entry.blob_key
    assert key is not None
    expected = {
        "lockr.db",
        "lockr.db-wal",
        "lockr.db-shm",
        "secret.key",
        "blobs",
        "blobs/local",
        "blobs/local/tmp",
        "blobs/local/@layout",
        f"blobs/local/{key[:2]}",
        f"blobs/local/{key[:2]}/{key}",
    }
    assert expected <= set(found), sorted(found)
    assert any(name.startswith("blobs/local/tmp/") for name in found), sorted(found)
    loose = {
        name: oct(mode)
        for name, mode in found.items()
        if mode != (0o700 if (data / name).is_dir() else 0o600)
    }
    assert not loose, f"not private under umask {oct(umask)}: {loose}"


def test_a_looser_data_folder_is_tightened_on_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    build_core(make_config(data)).close()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_a_region_whose_store_cannot_be_used_stops_the_start(
    make_core: CoreFactory, s3_server: S3Server, tmp_path: Path
) -> None:
    toml = s3_region_toml(s3_server, tmp_path / "data")
    toml.write_text(toml.read_text().replace('bucket = "lockr-test"', 'bucket = "missing"'))
    core = make_core(config_file=toml, start=False)
    with pytest.raises(ConfigError, match=r"\[regions.s3\]: the bucket 'missing' does not exist"):
        core.start()


def test_the_server_secret_is_not_in_the_cores_repr(make_core: CoreFactory) -> None:
    core = make_core()
    assert core.secret.hex() not in repr(core) and repr(core.secret) not in repr(core)
