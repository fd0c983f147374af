"""The ``lockr`` command's account, token and S3 key subcommands, run as real processes."""

from __future__ import annotations

import configparser
from pathlib import Path

import httpx

from gateway.core import build_core
from tests.conftest import CLI_ENV, PASSWORD, LockrProcess, make_config, run_cli

ENV = CLI_ENV
lockr = run_cli


def test_user_and_token_commands_work_with_a_running_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = lockr(
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
    assert "created account alice" in added.stdout and PASSWORD not in added.stdout

    upgraded = lockr("user", "set-plan", "alice", "pro", "--data", str(data))
    assert upgraded.returncode == 0 and "pro plan" in upgraded.stdout

    token = lockr("token", "create", "alice@example.com", "--data", str(data))
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    assert secret.startswith("lk_")

    listing = lockr("user", "list", "--data", str(data))
    assert "alice\talice@example.com\tpro" in listing.stdout

    server = LockrProcess(data).start()
    try:
        response = httpx.get(
            server.url + "/api/v1/account", headers={"Authorization": f"Bearer {secret}"}
        )
        assert response.status_code == 200
        assert response.json()["account"]["plan"] == "pro"
    finally:
        server.stop()


def test_errors_are_clear_and_exit_nonzero(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    bad = lockr(
        "user",
        "add",
        "Bad Name",
        "--email",
        "x@example.com",
        "--password-stdin",
        "--data",
        data,
        stdin=PASSWORD + "\n",
    )
    assert bad.returncode == 2 and "username must be" in bad.stderr
    short = lockr(
        "user",
        "add",
        "carol",
        "--email",
        "c@example.com",
        "--password-stdin",
        "--data",
        data,
        stdin="short\n",
    )
    assert short.returncode == 2 and "at least 8" in short.stderr
    missing = lockr("token", "create", "nobody", "--data", data)
    assert missing.returncode == 2 and "no account" in missing.stderr
    config = tmp_path / "lockr.toml"
    config.write_text('http = "nowhere"\n')
    broken = lockr("user", "list", "--config", str(config), "--data", data)
    assert broken.returncode == 2 and "setting 'http'" in broken.stderr


def test_config_file_and_env_apply_to_subcommands(tmp_path: Path) -> None:
    config = tmp_path / "lockr.toml"
    config.write_text(f'data = "{tmp_path / "from-file"}"\ndefault_quota = "3GiB"\n')
    added = lockr(
        "user",
        "add",
        "dave",
        "--email",
        "d@example.com",
        "--password-stdin",
        "--config",
        str(config),
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert (tmp_path / "from-file" / "lockr.db").exists()
    listed = lockr("user", "list", env={**ENV, "LOCKR_CONFIG": str(config)})
    assert "dave" in listed.stdout and f"/{3 * 1024**3} bytes" in listed.stdout


def test_quota_region_and_migrate_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = tmp_path / "lockr.toml"
    config.write_text(
        f'data = "{data}"\n[regions.local]\nbackend = "local"\n'
        '[regions.eu-west1]\nbackend = "local"\n'
    )
    assert lockr("migrate", "--config", str(config)).stdout.startswith(
        "the database schema is at revision "
    )
    lockr(
        "user", "add", "bob", "--email", "b@example.com", "--password-stdin",
        "--config", str(config), stdin=PASSWORD + "\n",
    )  # fmt: skip
    quota = lockr("user", "set-quota", "bob", "2GiB", "--config", str(config))
    assert quota.returncode == 0 and "2147483648 bytes" in quota.stdout
    bad = lockr("user", "set-quota", "bob", "lots", "--config", str(config))
    assert bad.returncode == 2 and "not a size" in bad.stderr
    moved = lockr("user", "set-region", "bob", "eu-west1", "--config", str(config))
    assert moved.returncode == 0 and "go to eu-west1" in moved.stdout
    unknown = lockr("user", "set-region", "bob", "mars", "--config", str(config))
    assert unknown.returncode == 2 and "valid regions: eu-west1, local" in unknown.stderr
    server = LockrProcess(data, env={"LOCKR_CONFIG": str(config)}).start()
    try:
        token = signup_token(server, "bob")
        account = httpx.get(
            server.url + "/api/v1/account", headers={"Authorization": f"Bearer {token}"}
        ).json()["account"]
        assert account["quotaBytes"] == 2 * 1024**3 and account["defaultRegion"] == "eu-west1"
    finally:
        server.stop()


def signup_token(server: LockrProcess, name: str) -> str:
    response = httpx.post(
        server.url + "/api/v1/login", json={"identifier": name, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def add_user(data: Path, name: str, email: str) -> None:
    added = lockr(
        "user", "add", name, "--email", email, "--password-stdin",
        "--data", str(data), stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr


def test_s3_key_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_user(data, "erin", "e@example.com")
    created = lockr("s3-key", "create", "erin", "--name", "backup box", "--data", str(data))
    assert created.returncode == 0, created.stderr
    printed = dict(line.split(" = ", 1) for line in created.stdout.splitlines())
    access_key_id, secret = printed["access_key_id"], printed["secret_access_key"]
    assert len(access_key_id) == 20 and len(secret) == 40 and "shown only now" in created.stderr

    listed = lockr("s3-key", "list", "e@example.com", "--data", str(data))
    assert listed.returncode == 0, listed.stderr
    key_id, shown_id, name, _created, used = listed.stdout.strip().split("\t")
    assert (shown_id, name, used) == (access_key_id, "backup box", "never used")
    assert secret not in listed.stdout

    core = build_core(make_config(data))
    try:
        found = core.s3_keys.secret_for(access_key_id)
        assert found is not None and found.secret_access_key == secret
    finally:
        core.close()

    wrong = lockr("s3-key", "revoke", "nobody", key_id, "--data", str(data))
    assert wrong.returncode == 2 and "no account" in wrong.stderr
    revoked = lockr("s3-key", "revoke", "erin", key_id, "--data", str(data))
    assert revoked.returncode == 0 and f"revoked S3 access key {key_id}" in revoked.stdout
    again = lockr("s3-key", "revoke", "erin", key_id, "--data", str(data))
    assert again.returncode == 2 and "no such S3 access key" in again.stderr
    assert lockr("s3-key", "list", "erin", "--data", str(data)).stdout == ""


def test_rclone_config_s3_prints_a_remote_for_the_s3_listener(tmp_path: Path) -> None:
    """The remote's shape and endpoint; tests/api/s3/clients/test_rclone.py runs rclone with it."""
    data = tmp_path / "data"
    add_user(data, "fay", "f@example.com")

    def remote(*args: str, **env: str) -> configparser.SectionProxy:
        printed = lockr("rclone-config", "fay", "--s3", *args, "--data", str(data), env=ENV | env)
        assert printed.returncode == 0, printed.stderr
        assert "shown only now" in printed.stderr
        parsed = configparser.ConfigParser()
        parsed.read_string(printed.stdout)
        return parsed[parsed.sections()[0]]

    path_style = remote("--remote", "mine", LOCKR_S3="127.0.0.1:9082")
    assert path_style.name == "mine"
    assert dict(path_style) | {"access_key_id": "", "secret_access_key": ""} == {
        "type": "s3",
        "provider": "Other",
        "endpoint": "http://127.0.0.1:9082",
        "access_key_id": "",
        "secret_access_key": "",
        "region": "local",
        "force_path_style": "true",
        "list_version": "2",
        "list_url_encode": "true",
    }
    core = build_core(make_config(data))
    try:
        key = core.s3_keys.secret_for(path_style["access_key_id"])
        assert key is not None and key.secret_access_key == path_style["secret_access_key"]
    finally:
        core.close()

    virtual = remote(LOCKR_S3_DOMAIN="s3.example.test", LOCKR_S3="0.0.0.0:8082")
    assert virtual.name == "lockr"
    assert (virtual["endpoint"], virtual["force_path_style"]) == (
        "http://s3.example.test:8082",
        "false",
    )
    behind_a_proxy = remote("--url", "https://s3.example.test/", LOCKR_S3_DOMAIN="s3.example.test")
    assert (behind_a_proxy["endpoint"], behind_a_proxy["force_path_style"]) == (
        "https://s3.example.test",
        "false",
    )
    by_address = remote("--url", "http://10.0.0.5:8082", LOCKR_S3_DOMAIN="s3.example.test")
    assert by_address["force_path_style"] == "true"  # no bucket.10.0.0.5 names
