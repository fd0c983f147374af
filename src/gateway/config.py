"""Configuration: defaults < TOML file < ``LOCKR_*`` environment < command-line flags.

Every setting is declared once in :data:`SETTINGS` with its parser, default and a
one-line description; the docs list the same names (a test checks that). The TOML
file uses the setting names as top-level keys, plus ``[regions.NAME]`` tables::

    data = "/var/lib/lockr"
    http = "0.0.0.0:8080"
    default_quota = "100GiB"

    [regions.us-central1]
    backend = "local"
    path = "/srv/blobs/us-central1"

    [regions.eu-west1]
    backend = "s3"
    endpoint = "https://minio.internal:9000"
    bucket = "lockr"
    # access_key_id and secret_access_key here, or in LOCKR_REGION_EU_WEST1_ACCESS_KEY_ID
    # and LOCKR_REGION_EU_WEST1_SECRET_ACCESS_KEY
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.errors import BadRequest
from gateway.objectstore import check_segments

GiB = 1024**3

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}
REGION_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
BUCKET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,254}")
SIGNING_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
LOCAL_KEYS = ("backend", "path")
S3_KEYS = (
    "backend",
    "endpoint",
    "bucket",
    "prefix",
    "access_key_id",
    "secret_access_key",
    "region_name",
    "redirect_downloads",
)
S3_SECRETS = ("access_key_id", "secret_access_key")


class ConfigError(BadRequest):
    """A setting has a value lockr cannot use; the message names the setting."""

    code = "config"


@dataclass(frozen=True)
class Listen:
    """A host and port to listen on."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class S3Settings:
    """How an ``s3`` region reaches its bucket of an S3-compatible store."""

    endpoint: str
    bucket: str
    prefix: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region_name: str


@dataclass(frozen=True)
class Region:
    """A named place for blobs: ``backend`` ``local`` keeps them in the directory
    ``path``, ``s3`` in a bucket of an S3-compatible store (``s3``); an ``s3`` region
    may answer downloads with a redirect to a presigned URL of the store."""

    name: str
    backend: str
    path: Path | None = None
    s3: S3Settings | None = None
    redirect_downloads: bool = False


def parse_size(value: object) -> int:
    """``1048576``, ``"100GiB"``, ``"5 GB"`` -> bytes."""
    if isinstance(value, bool):
        raise ValueError("expected a size")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(value))
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f"{value!r} is not a size such as 1048576, 512MiB or 100GiB")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def parse_listen(value: object) -> Listen:
    """``"127.0.0.1:8080"``, ``"[::1]:8080"`` or ``":8080"`` -> :class:`Listen`."""
    text = str(value).strip()
    match = re.fullmatch(r"(?:\[([^\]]+)\]|([^:\[\]]*)):(\d{1,5})", text)
    if not match:
        raise ValueError(f"{text!r} is not HOST:PORT")
    port = int(match.group(3))
    if port > 65535:
        raise ValueError(f"port {port} is out of range")
    return Listen(match.group(1) or match.group(2) or "127.0.0.1", port)


def parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{value!r} is not true or false")


def _whole_number(value: object, *, least: int) -> int:
    number = int(str(value)) if not isinstance(value, int) else value
    if isinstance(value, bool) or number < least:
        raise ValueError(f"{value!r} is not a whole number of {least} or more")
    return number


def parse_positive_int(value: object) -> int:
    return _whole_number(value, least=1)


def parse_non_negative_int(value: object) -> int:
    return _whole_number(value, least=0)


def parse_str(value: object) -> str:
    return str(value)


def parse_optional_str(value: object) -> str | None:
    text = str(value).strip()
    return text or None


_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def parse_domain(value: object) -> str | None:
    """A DNS name such as ``s3.example.com`` (any case, a final dot ignored), lowercased;
    empty means none. No scheme, port or path: the port is the listener's."""
    text = str(value).strip().lower().removesuffix(".")
    if not text:
        return None
    if "://" in text or "/" in text or ":" in text:
        raise ValueError(
            f"{text!r} must be a bare domain such as s3.example.com (no scheme, port or path)"
        )
    if len(text) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in text.split(".")):
        raise ValueError(f"{text!r} is not a domain name (labels of a-z, 0-9 and '-')")
    return text


def parse_mount(value: object) -> str:
    text = "/" + str(value).strip().strip("/")
    return text if text == "/" else text + "/"


@dataclass(frozen=True)
class Setting:
    parse: Callable[[object], Any]
    default: Any
    help: str


SETTINGS: dict[str, Setting] = {
    "data": Setting(parse_str, "lockr-data", "Folder for the database, blobs and server secret."),
    "http": Setting(parse_listen, "127.0.0.1:8080", "Where the HTTP (JSON API, pages) listens."),
    "dav": Setting(parse_listen, "127.0.0.1:8081", "Where the WebDAV listener listens."),
    "s3": Setting(parse_listen, "127.0.0.1:8082", "Where the S3-compatible listener listens."),
    "s3_domain": Setting(
        parse_domain,
        None,
        "Domain for virtual-host style S3 (BUCKET.DOMAIN); empty: path-style only.",
    ),
    "dav_mount": Setting(parse_mount, "/", "URL path under which WebDAV is served."),
    "workers": Setting(
        parse_positive_int, 1, "Server processes sharing the listeners (one per core uses all)."
    ),
    "database_url": Setting(
        parse_optional_str, None, "SQLAlchemy URL; empty means SQLite in the data folder."
    ),
    "public_url": Setting(
        parse_optional_str, None, "Base URL clients reach lockr at (for links it generates)."
    ),
    "default_region": Setting(parse_str, "local", "Region new accounts store their blobs in."),
    "default_quota": Setting(parse_size, 100 * GiB, "Storage quota of a new account."),
    "max_object_size": Setting(parse_size, 100 * GiB, "Largest object an account may store."),
    "max_guest_object_size": Setting(parse_size, 5 * GiB, "Largest object a guest may store."),
    "guest_quota": Setting(parse_size, 1024 * GiB, "Storage all guest uploads share."),
    "guest_uploads_per_address": Setting(
        parse_positive_int, 10, "Guest uploads (sessions included) one address may have open."
    ),
    "guest_bytes_per_address": Setting(
        parse_size, 10 * GiB, "Bytes the open guest uploads of one address may hold."
    ),
    "max_entries_per_account": Setting(
        parse_positive_int, 1_000_000, "Files and folders an account may hold (then 403/507)."
    ),
    "max_guest_entries": Setting(
        parse_positive_int, 1_000_000, "Files and folders all guest uploads share."
    ),
    "upload_session_hours": Setting(
        parse_positive_int, 24, "How long a resumable upload session stays open."
    ),
    "multipart_upload_days": Setting(
        parse_positive_int,
        7,
        "How long an unfinished S3 multipart upload is kept before it is aborted.",
    ),
    "instance_lease_seconds": Setting(
        parse_positive_int,
        60,
        "How long a server process that stops beating (killed, hung, its node gone) "
        "keeps its writes' quota before another reclaims it; processes beat every "
        "quarter of this.",
    ),
    "rate_limit_window": Setting(
        parse_positive_int, 10, "Seconds over which API request bursts are counted."
    ),
    "rate_limit_per_account": Setting(
        parse_positive_int, 300, "API requests an account may make per window (then 429)."
    ),
    "rate_limit_per_address": Setting(
        parse_positive_int, 300, "API requests a client address may make per window."
    ),
    "s3_rate_limit_per_account": Setting(
        parse_positive_int,
        5000,
        "S3 requests an account may make per window (then SlowDown): S3 clients send many at once.",
    ),
    "s3_rate_limit_per_address": Setting(
        parse_positive_int, 5000, "S3 requests a client address may make per window."
    ),
    "argon2_time_cost": Setting(parse_positive_int, 3, "argon2id iterations for passwords."),
    "argon2_memory_cost": Setting(parse_positive_int, 65536, "argon2id memory in KiB."),
    "argon2_parallelism": Setting(parse_positive_int, 4, "argon2id lanes."),
    "argon2_max_concurrent": Setting(
        parse_positive_int,
        None,
        "argon2 computations at once per process (default: the cores, at least 2).",
    ),
    "argon2_queue": Setting(
        parse_non_negative_int, 32, "argon2 computations that may wait for a slot (then 503)."
    ),
    "argon2_wait_seconds": Setting(
        parse_positive_int, 5, "How long an argon2 computation may wait for a slot (then 503)."
    ),
    "basic_cache_seconds": Setting(
        parse_positive_int, 60, "How long a verified Basic credential is remembered."
    ),
    "account_cache_seconds": Setting(
        parse_non_negative_int,
        2,
        "How long a process keeps a caller's account and login token between reads "
        "(0: read on every request).",
    ),
    "login_window_seconds": Setting(
        parse_positive_int, 900, "Window in which failed logins are counted."
    ),
    "login_max_failures": Setting(
        parse_positive_int, 10, "Failed logins per account (name or email) per window before 429."
    ),
    "login_max_failures_per_address": Setting(
        parse_positive_int, 50, "Failed logins per client address per window before 429."
    ),
    "trust_proxy_headers": Setting(
        parse_bool,
        False,
        "Take the client address from the last X-Forwarded-For hop (behind a proxy).",
    ),
    "links_monthly_quota": Setting(
        parse_positive_int, 1000, "Links an account may create with its API key per month."
    ),
    "links_per_minute": Setting(
        parse_positive_int, 60, "Links API requests an API key may make per minute."
    ),
    "links_per_10s": Setting(
        parse_positive_int, 20, "Links API requests an API key may make per 10 seconds."
    ),
    "link_guesses": Setting(
        parse_positive_int, 5, "Wrong passwords per link and client address per window."
    ),
    "link_guesses_per_link": Setting(
        parse_positive_int, 50, "Wrong passwords per link, from anywhere, per window."
    ),
    "link_guess_window": Setting(
        parse_positive_int, 900, "Seconds over which wrong link passwords are counted."
    ),
    "log_level": Setting(parse_str, "info", "debug, info, warning or error."),
    "secret": Setting(
        parse_optional_str,
        None,
        "Server secret every node shares (32+ characters); unset: secret_file, else one "
        "generated in the data folder.",
    ),
    "secret_file": Setting(
        parse_optional_str, None, "File holding the server secret (32+ bytes), instead of secret."
    ),
}


@dataclass(frozen=True)
class Config:
    """The resolved settings of one lockr process. Build it with :func:`load_config`."""

    data: Path
    http: Listen
    dav: Listen
    s3: Listen
    s3_domain: str | None
    dav_mount: str
    workers: int
    database_url: str
    public_url: str
    default_region: str
    default_quota: int
    max_object_size: int
    max_guest_object_size: int
    guest_quota: int
    guest_uploads_per_address: int
    guest_bytes_per_address: int
    max_entries_per_account: int
    max_guest_entries: int
    upload_session_hours: int
    multipart_upload_days: int
    instance_lease_seconds: int
    rate_limit_window: int
    rate_limit_per_account: int
    rate_limit_per_address: int
    s3_rate_limit_per_account: int
    s3_rate_limit_per_address: int
    argon2_time_cost: int
    argon2_memory_cost: int
    argon2_parallelism: int
    argon2_max_concurrent: int
    argon2_queue: int
    argon2_wait_seconds: int
    basic_cache_seconds: int
    account_cache_seconds: int
    login_window_seconds: int
    login_max_failures: int
    login_max_failures_per_address: int
    trust_proxy_headers: bool
    links_monthly_quota: int
    links_per_minute: int
    links_per_10s: int
    link_guesses: int
    link_guesses_per_link: int
    link_guess_window: int
    log_level: str
    secret: str | None = field(default=None, repr=False)
    secret_file: str | None = None
    regions: dict[str, Region] = field(default_factory=dict)

    @property
    def secret_path(self) -> Path:
        return self.data / "secret.key"

    @property
    def https(self) -> bool:
        """Whether clients reach lockr over https (cookies are then ``Secure``)."""
        return self.public_url.startswith("https://")


def _parse(name: str, value: object, source: str) -> Any:
    try:
        return SETTINGS[name].parse(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{source}: setting {name!r}: {exc}") from None


def load_config(
    *,
    file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, object | None] | None = None,
) -> Config:
    """Resolve the configuration: defaults, then the TOML ``file``, then ``LOCKR_*``
    variables from ``env`` (default: the process environment), then ``flags``
    (``None`` values are ignored). Raises :class:`ConfigError` naming a bad setting."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {
        name: None if s.default is None else s.parse(s.default) for name, s in SETTINGS.items()
    }
    region_tables: dict[str, Any] = {}
    config_file = file if file is not None else env.get("LOCKR_CONFIG")
    if config_file:
        path = Path(config_file)
        try:
            with path.open("rb") as handle:
                document = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file {str(path)!r} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
        region_tables = document.pop("regions", {}) or {}
        for name, value in document.items():
            if name not in SETTINGS:
                raise ConfigError(f"{path}: unknown setting {name!r}")
            values[name] = _parse(name, value, str(path))
    for name in SETTINGS:
        variable = "LOCKR_" + name.upper()
        if variable in env:
            values[name] = _parse(name, env[variable], variable)
    for name, value in (flags or {}).items():
        if value is not None:
            values[name] = _parse(name, value, "--" + name.replace("_", "-"))

    data = Path(values["data"]).expanduser().absolute()
    regions = _regions(region_tables, data, env)
    if not REGION_NAME.match(values["default_region"]):
        raise ConfigError(
            f"default_region {values['default_region']!r} must be lowercase letters, digits, '-'"
        )
    if values["default_region"] not in regions:
        if region_tables:
            raise ConfigError(
                f"default_region {values['default_region']!r} is not one of the configured "
                f"regions: {', '.join(sorted(regions))}"
            )
        regions[values["default_region"]] = Region(
            values["default_region"], "local", data / "blobs" / values["default_region"]
        )
    database_url = values["database_url"] or f"sqlite:///{data / 'lockr.db'}"
    public_url = (values["public_url"] or f"http://{values['http']}").rstrip("/")
    return Config(
        data=data,
        http=values["http"],
        dav=values["dav"],
        s3=values["s3"],
        s3_domain=values["s3_domain"],
        dav_mount=values["dav_mount"],
        workers=values["workers"],
        database_url=database_url,
        public_url=public_url,
        default_region=values["default_region"],
        default_quota=values["default_quota"],
        max_object_size=values["max_object_size"],
        max_guest_object_size=values["max_guest_object_size"],
        guest_quota=values["guest_quota"],
        guest_uploads_per_address=values["guest_uploads_per_address"],
        guest_bytes_per_address=values["guest_bytes_per_address"],
        max_entries_per_account=values["max_entries_per_account"],
        max_guest_entries=values["max_guest_entries"],
        upload_session_hours=values["upload_session_hours"],
        multipart_upload_days=values["multipart_upload_days"],
        instance_lease_seconds=values["instance_lease_seconds"],
        rate_limit_window=values["rate_limit_window"],
        rate_limit_per_account=values["rate_limit_per_account"],
        rate_limit_per_address=values["rate_limit_per_address"],
        s3_rate_limit_per_account=values["s3_rate_limit_per_account"],
        s3_rate_limit_per_address=values["s3_rate_limit_per_address"],
        argon2_time_cost=values["argon2_time_cost"],
        argon2_memory_cost=values["argon2_memory_cost"],
        argon2_parallelism=values["argon2_parallelism"],
        argon2_max_concurrent=values["argon2_max_concurrent"] or max(2, os.cpu_count() or 2),
        argon2_queue=values["argon2_queue"],
        argon2_wait_seconds=values["argon2_wait_seconds"],
        basic_cache_seconds=values["basic_cache_seconds"],
        account_cache_seconds=values["account_cache_seconds"],
        login_window_seconds=values["login_window_seconds"],
        login_max_failures=values["login_max_failures"],
        login_max_failures_per_address=values["login_max_failures_per_address"],
        trust_proxy_headers=values["trust_proxy_headers"],
        links_monthly_quota=values["links_monthly_quota"],
        links_per_minute=values["links_per_minute"],
        links_per_10s=values["links_per_10s"],
        link_guesses=values["link_guesses"],
        link_guesses_per_link=values["link_guesses_per_link"],
        link_guess_window=values["link_guess_window"],
        log_level=values["log_level"],
        secret=values["secret"],
        secret_file=values["secret_file"],
        regions=regions,
    )


def _regions(tables: Mapping[str, Any], data: Path, env: Mapping[str, str]) -> dict[str, Region]:
    regions: dict[str, Region] = {}
    for name, table in tables.items():
        if not REGION_NAME.match(name):
            raise ConfigError(f"region name {name!r} must be lowercase letters, digits and '-'")
        if not isinstance(table, Mapping):
            raise ConfigError(f"[regions.{name}] must be a table")
        backend = str(table.get("backend", "local"))
        if backend == "local":
            _known_keys(name, table, LOCAL_KEYS)
            path = Path(str(table.get("path", data / "blobs" / name))).expanduser()
            regions[name] = Region(name, backend, path if path.is_absolute() else data / path)
        elif backend == "s3":
            regions[name] = _s3_region(name, table, env)
        else:
            raise ConfigError(
                f"[regions.{name}]: backend {backend!r} is not supported (local or s3)"
            )
    return regions


def region_variable(region: str, key: str) -> str:
    """The environment variable that may hold ``key`` of ``region``:
    ``LOCKR_REGION_EU_WEST1_ACCESS_KEY_ID`` for ``eu-west1``'s ``access_key_id``."""
    return f"LOCKR_REGION_{region.upper().replace('-', '_')}_{key.upper()}"


def _s3_region(name: str, table: Mapping[str, Any], env: Mapping[str, str]) -> Region:
    _known_keys(name, table, S3_KEYS)
    where = f"[regions.{name}]"
    values = {key: str(table[key]).strip() for key in S3_KEYS if key in table}
    for key in S3_SECRETS:
        values[key] = env.get(region_variable(name, key), values.get(key, "")).strip()
    missing = [key for key in ("endpoint", "bucket", *S3_SECRETS) if not values.get(key)]
    if missing:
        raise ConfigError(
            f"{where}: an s3 region needs {', '.join(missing)}"
            f" (the keys may also come from {region_variable(name, 'access_key_id')}"
            f" and {region_variable(name, 'secret_access_key')})"
        )
    endpoint = urlsplit(values["endpoint"])
    if endpoint.scheme not in {"http", "https"} or not endpoint.hostname:
        raise ConfigError(f"{where}: endpoint {values['endpoint']!r} is not an http(s) URL")
    if not BUCKET_NAME.fullmatch(values["bucket"]):
        raise ConfigError(f"{where}: bucket {values['bucket']!r} is not a bucket name")
    prefix = values.get("prefix", "").strip("/")
    if prefix:
        try:
            check_segments(prefix, what="prefix")
        except BadRequest as error:
            raise ConfigError(f"{where}: {error.message}") from None
    region_name = values.get("region_name", "us-east-1")
    if not SIGNING_REGION.fullmatch(region_name):
        raise ConfigError(f"{where}: region_name {region_name!r} is not a region name")
    try:
        redirect = parse_bool(table.get("redirect_downloads", False))
    except ValueError as error:
        raise ConfigError(f"{where}: redirect_downloads: {error}") from None
    settings = S3Settings(
        endpoint=values["endpoint"].rstrip("/"),
        bucket=values["bucket"],
        prefix=prefix,
        access_key_id=values["access_key_id"],
        secret_access_key=values["secret_access_key"],
        region_name=region_name,
    )
    return Region(name, "s3", s3=settings, redirect_downloads=redirect)


def _known_keys(name: str, table: Mapping[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(
            f"[regions.{name}]: unknown key {unknown[0]!r}"
            f" (a {table.get('backend', 'local')} region takes {', '.join(known)})"
        )
