"""Configuration precedence (flags > LOCKR_* > TOML > defaults) and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, GiB, Listen, load_config, parse_size


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
