"""rclone-examples/ works as written: the config's remote shape, `lockr rclone-config`,
and the migration scripts, with local folders standing in for the S3 and GCS buckets
(rclone `alias` remotes named `s3` and `gcs`)."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, LockrProcess, run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "rclone-examples"
RCLONE = str(Path(sys.executable).with_name("rclone"))


def test_example_config_has_the_remotes() -> None:
    config = configparser.ConfigParser()
    config.read(EXAMPLES / "rclone.conf")
    assert config["lockr"]["type"] == "webdav" and config["lockr"]["vendor"] == "owncloud"
    assert config["lockr-token"]["bearer_token"].startswith("lk_")


@pytest.mark.parametrize("script", ["migrate-from-s3.sh", "migrate-from-gcs.sh"])
def test_migration_scripts(tmp_path: Path, script: str) -> None:
    data = tmp_path / "data"
    added = run_cli(
        "user",
        "add",
        "alice",
        "--email",
        "alice@example.com",
        "--password-stdin",
        "--data",
        str(data),
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    server = LockrProcess(data).start()
    try:
        printed = run_cli(
            "rclone-config",
            "alice",
            "--data",
            str(data),
            "--url",
            f"http://127.0.0.1:{server.dav_port}",
        )
        assert printed.returncode == 0, printed.stderr
        remote = printed.stdout
        assert remote.startswith("[lockr]\ntype = webdav\n") and "vendor = owncloud" in remote
        buckets = tmp_path / "buckets"
        bucket = buckets / "photos"
        (bucket / "2024" / "june").mkdir(parents=True)
        (bucket / "2024" / "june" / "beach.jpg").write_bytes(os.urandom(300_000))
        (bucket / "index.html").write_text("<h1>hi</h1>")
        config = tmp_path / "rclone.conf"
        config.write_text(
            remote
            + f"\n[s3]\ntype = alias\nremote = {buckets}\n"
            + f"\n[gcs]\ntype = alias\nremote = {buckets}\n"
        )
        run_env = {
            **os.environ,
            "RCLONE_CONFIG": str(config),
            "SOURCE_BUCKET": "photos",
            "LOCKR_ACCOUNT": "alice/photos",
            "PATH": f"{Path(RCLONE).parent}{os.pathsep}{os.environ['PATH']}",
        }
        subprocess.run(
            ["bash", str(EXAMPLES / script)], env=run_env, check=True, capture_output=True
        )
        listing = json.loads(
            subprocess.run(
                [RCLONE, "lsjson", "-R", "--hash", "lockr:alice/photos"],
                env=run_env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        assert sorted(i["Path"] for i in listing if not i["IsDir"]) == [
            "2024/june/beach.jpg",
            "index.html",
        ]
        again = subprocess.run(
            ["bash", str(EXAMPLES / script), "-v"],
            env=run_env,
            check=True,
            capture_output=True,
            text=True,
        )
        output = again.stdout + again.stderr
        assert "Copied" not in output and "0 B / 0 B" in output  # nothing transferred
    finally:
        server.stop()
