"""Path-style and virtual-host style addressing: which bucket and key a request names."""

from __future__ import annotations

import pytest

from api.s3.addressing import address, bucket_from_host
from api.s3.errors import InvalidArgument

DOMAIN = "s3.example.test"


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("photos.s3.example.test", "photos"),
        ("photos.s3.example.test:8082", "photos"),
        ("Photos.S3.Example.Test:8082", "photos"),
        ("photos.s3.example.test.", "photos"),
        ("my.photos.s3.example.test", "my.photos"),
        ("s3.example.test", None),
        ("s3.example.test:8082", None),
        (".s3.example.test", None),
        ("photos.s3.example.testing", None),
        ("photoss3.example.test", None),
        ("127.0.0.1:8082", None),
        ("[::1]:8082", None),
        ("", None),
    ],
)
def test_the_bucket_of_a_host(host: str, bucket: str | None) -> None:
    assert bucket_from_host(host, DOMAIN) == bucket


def test_without_a_domain_every_host_is_path_style() -> None:
    assert bucket_from_host("photos.s3.example.test", None) is None
    assert address("/photos/a/b.txt", "photos.s3.example.test", None) == ("photos", "a/b.txt")


@pytest.mark.parametrize(
    ("raw_path", "host", "expected"),
    [
        ("/", "photos.s3.example.test", ("photos", "")),
        ("/2024/a%20b.jpg", "photos.s3.example.test:8082", ("photos", "2024/a b.jpg")),
        ("/%E6%97%A5.txt", "photos.s3.example.test", ("photos", "日.txt")),
        ("/other/key", "photos.s3.example.test", ("photos", "other/key")),
        ("/", "s3.example.test", ("", "")),
        ("/photos", "s3.example.test:8082", ("photos", "")),
        ("/photos/2024/a.jpg", "127.0.0.1:8082", ("photos", "2024/a.jpg")),
    ],
)
def test_address(raw_path: str, host: str, expected: tuple[str, str]) -> None:
    assert address(raw_path, host, DOMAIN) == expected


def test_a_virtual_host_key_keeps_a_leading_slash_of_its_own() -> None:
    """``//a`` under a bucket's host is the key ``/a`` (which the engine then refuses),
    not ``a``: the path is the key, as sent."""
    assert address("//a", "photos.s3.example.test", DOMAIN) == ("photos", "/a")


@pytest.mark.parametrize("host", ["photos.s3.example.test", "127.0.0.1"])
def test_a_path_that_is_not_utf8_is_invalid(host: str) -> None:
    with pytest.raises(InvalidArgument):
        address("/photos/%FF", host, DOMAIN)
