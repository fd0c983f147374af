"""Configuration precedence (flags > LOCKR_* > TOML > defaults) and clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.config import ConfigError, GiB, Listen, S3Settings, load_config, parse_size


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.data == tmp_path / "lockr-data"
    assert config.http == Listen("127.0.0.1", 8080)
    assert config.dav == Listen("127.0.0.1", 8081)
    assert config.database_url == f"sqlite:///{tmp_path / 'lockr-data' / 'lockr.db'}"
    assert config.default_quota == 100 * GiB
    assert config.max_object_size == 100 * GiB
    assert config.max_guest_object_size == 5 * GiB
    assert config.public_url == "http://127.0.0.1:8080"
    assert config.s3 == Listen("127.0.0.1", 8082) and config.s3_domain is None
    assert list(config.regions) == ["local"]
    assert config.regions["local"].path == tmp_path / "lockr-data" / "blobs" / "local"


def test_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "lockr.toml"
    toml.write_text(
        'data = "from-file"\nhttp = "0.0.0.0:9000"\ndav = "0.0.0.0:9001"\n'
        'default_quota = "1GiB"\nlog_level = "debug"\n'
    )
    env = {"LOCKR_HTTP": "127.0.0.2:9100", "LOCKR_DEFAULT_QUOTA": "2GiB"}
    config = load_config(file=toml, env=env, flags={"http": "127.0.0.3:9200", "data": None})
    assert config.http == Listen("127.0.0.3", 9200)  # flag beats env and file
    assert config.default_quota == 2 * GiB  # env beats file
    assert config.dav == Listen("0.0.0.0", 9001)  # file beats default
    assert config.data.name == "from-file"  # a None flag does not override
    assert config.log_level == "debug"
    assert load_config(env={"LOCKR_CONFIG": str(toml)}).log_level == "debug"


def test_regions_from_file(tmp_path: Path) -> None:
    toml = tmp_path / "lockr.toml"
    toml.write_text(
        'data = "d"\ndefault_region = "us-central1"\n'
        '[regions.us-central1]\npath = "/srv/us"\n[regions.eu-west1]\nbackend = "local"\n'
    )
    config = load_config(file=toml, env={})
    assert sorted(config.regions) == ["eu-west1", "us-central1"]
    assert config.regions["us-central1"].path == Path("/srv/us")
    assert config.regions["eu-west1"].path == config.data / "blobs" / "eu-west1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nonsense = 1\n", "unknown setting 'nonsense'"),
        ('http = "nowhere"\n', "setting 'http'"),
        ('default_quota = "lots"\n', "setting 'default_quota'"),
        ('default_region = "mars"\n[regions.earth]\n', "default_region 'mars'"),
        ("[regions.Bad_Name]\n", "region name"),
        ('[regions.x]\nbackend = "ftp"\n', "not supported"),
        ('[regions.x]\npath = "p"\nbucket = "b"\n', "unknown key 'bucket'"),
        ("data = \n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_setting(tmp_path: Path, text: str, message: str) -> None:
    toml = tmp_path / "lockr.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(file=toml, env={})


def test_bad_env_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LOCKR_ARGON2_TIME_COST"):
        load_config(env={"LOCKR_ARGON2_TIME_COST": "0"})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(file=tmp_path / "missing.toml", env={})


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1024, 1024), ("1KiB", 1024), ("5 GB", 5 * 10**9), ("100GiB", 100 * GiB), ("0", 0)],
)
def test_parse_size(value: object, expected: int) -> None:
    assert parse_size(value) == expected


def test_listen_forms() -> None:
    assert str(load_config(env={}, flags={"http": "[::1]:8080"}).http) == "[::1]:8080"
    assert load_config(env={}, flags={"http": ":8080"}).http == Listen("127.0.0.1", 8080)
    with pytest.raises(ConfigError):
        load_config(env={}, flags={"http": "127.0.0.1:99999"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", None), ("s3.example.test", "s3.example.test"), ("S3.Example.TEST.", "s3.example.test")],
)
def test_s3_domain_forms(value: str, expected: str | None) -> None:
    assert load_config(env={"LOCKR_S3_DOMAIN": value}).s3_domain == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("https://s3.example.test", "bare domain"),
        ("s3.example.test:8082", "bare domain"),
        ("s3.example.test/x", "bare domain"),
        ("s3..example.test", "not a domain"),
        ("-s3.example.test", "not a domain"),
        ("s3_x.example.test", "not a domain"),
    ],
)
def test_a_bad_s3_domain_is_refused(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"LOCKR_S3_DOMAIN.*{message}"):
        load_config(env={"LOCKR_S3_DOMAIN": value})


S3_REGION = """
default_region = "eu-west1"
[regions.eu-west1]
backend = "s3"
endpoint = "https://minio.internal:9000/"
bucket = "lockr-blobs"
prefix = "/prod/blobs/"
region_name = "eu-west-1"
redirect_downloads = true
"""


def test_s3_region_with_keys_from_the_environment(tmp_path: Path) -> None:
    toml = tmp_path / "lockr.toml"
    toml.write_text(S3_REGION + 'access_key_id = "from-file"\n')
    env = {
        "LOCKR_REGION_EU_WEST1_ACCESS_KEY_ID": "AKID",  # the environment wins
        "LOCKR_REGION_EU_WEST1_SECRET_ACCESS_KEY": "s3cr3t",
    }
    region = load_config(file=toml, env=env).regions["eu-west1"]
    assert (region.backend, region.path, region.redirect_downloads) == ("s3", None, True)
    assert region.s3 == S3Settings(
        endpoint="https://minio.internal:9000",
        bucket="lockr-blobs",
        prefix="prod/blobs",
        access_key_id="AKID",
        secret_access_key="s3cr3t",
        region_name="eu-west-1",
    )
    assert "s3cr3t" not in repr(region)


def test_s3_region_defaults(tmp_path: Path) -> None:
    toml = tmp_path / "lockr.toml"
    toml.write_text(
        '[regions.local]\n[regions.s3]\nbackend = "s3"\nendpoint = "http://127.0.0.1:9000"\n'
        'bucket = "b1b"\naccess_key_id = "id"\nsecret_access_key = "secret"\n'
    )
    region = load_config(file=toml, env={}).regions["s3"]
    assert region.s3 is not None
    assert (region.s3.prefix, region.s3.region_name, region.redirect_downloads) == (
        "",
        "us-east-1",
        False,
    )


KEYS = {
    "LOCKR_REGION_EU_WEST1_ACCESS_KEY_ID": "AKID",
    "LOCKR_REGION_EU_WEST1_SECRET_ACCESS_KEY": "s3cr3t",
}


@pytest.mark.parametrize(
    ("change", "env", "message"),
    [
        (
            "",
            {},
            "needs access_key_id, secret_access_key (the keys may also come from "
            "LOCKR_REGION_EU_WEST1_ACCESS_KEY_ID and LOCKR_REGION_EU_WEST1_SECRET_ACCESS_KEY)",
        ),
        ('endpoint = ""\n', {"LOCKR_REGION_EU_WEST1_ACCESS_KEY_ID": "x"}, "needs endpoint, secret"),
        ('endpoint = "minio:9000"\n', KEYS, "is not an http"),
        ('bucket = "a/b"\n', KEYS, "is not a bucket name"),
        ('prefix = "a/../b"\n', KEYS, "prefix 'a/../b'"),
        ('region_name = "EU West"\n', KEYS, "region_name"),
        ('redirect_downloads = "maybe"\n', KEYS, "redirect_downloads"),
        ('path = "/srv"\n', KEYS, "unknown key 'path' (a s3 region takes backend, endpoint"),
    ],
)
def test_bad_s3_regions_name_what_is_wrong(
    tmp_path: Path, change: str, env: dict[str, str], message: str
) -> None:
    lines = [line for line in S3_REGION.splitlines() if line.split(" ")[0] not in change]
    toml = tmp_path / "lockr.toml"
    toml.write_text("\n".join(lines) + "\n" + change)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(file=toml, env=env)
