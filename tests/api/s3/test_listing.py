"""Listing a bucket over S3 with boto3: ListObjects (version 1), ListObjectsV2 and
ListObjectVersions, paged with and without a delimiter, and the bucket
sub-resources clients ask about first (location, versioning)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from api.s3.errors import InvalidArgument
from tests.api.s3.conftest import dav, dav_url, error_code, send_signed, status_of
from tests.conftest import LockrProcess

KEYS = sorted(
    ["a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "d e.txt", "pct%41+.txt", "z/9.txt", "ü.txt"]
)
"""``pct%41+.txt`` reads back right only if the answer is URL-encoded as asked
(boto3 asks for ``encoding-type=url`` on ListObjects and decodes the keys)."""
TOP = ["a.txt", "b/", "d e.txt", "pct%41+.txt", "z/", "ü.txt"]
"""The keys and common prefixes at the top, with ``/`` as the delimiter."""


@pytest.fixture(scope="module")
def bucket(s3: Any) -> str:
    s3.create_bucket(Bucket="listing")
    for key in KEYS:
        s3.put_object(Bucket="listing", Key=key, Body=key.encode())
    return "listing"


def walk(s3: Any, operation: str, page_size: int, **arguments: Any) -> list[dict[str, Any]]:
    paginator = s3.get_paginator(operation)
    config = {"PageSize": page_size}
    return list(paginator.paginate(PaginationConfig=config, **arguments))


def names(pages: list[dict[str, Any]], items: str = "Contents") -> list[str]:
    """Every key and then every common prefix of each page, page by page."""
    return [
        item.get("Key") or item["Prefix"]
        for page in pages
        for item in page.get(items, []) + page.get("CommonPrefixes", [])
    ]


def test_list_objects_v2_pages_and_delimiter(s3: Any, bucket: str) -> None:
    pages = walk(s3, "list_objects_v2", 2, Bucket=bucket)
    assert names(pages) == KEYS
    assert len(pages) == 4 and pages[0]["IsTruncated"] and not pages[-1]["IsTruncated"]
    first = pages[0]["Contents"][0]
    assert first["Size"] == len(b"a.txt") and first["StorageClass"] == "STANDARD"
    assert first["ETag"] == f'"{hashlib.md5(b"a.txt").hexdigest()}"'

    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [item["Key"] for item in top["Contents"]] == ["a.txt", "d e.txt", "pct%41+.txt", "ü.txt"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["b/", "z/"]
    assert top["KeyCount"] == 6

    under = s3.list_objects_v2(Bucket=bucket, Prefix="b/", Delimiter="/")
    assert [item["Key"] for item in under["Contents"]] == ["b/1.txt", "b/2.txt"]
    assert [p["Prefix"] for p in under["CommonPrefixes"]] == ["b/c/"]

    assert sorted(names(walk(s3, "list_objects_v2", 1, Bucket=bucket, Delimiter="/"))) == TOP

    assert "Owner" not in first  # only when asked for
    owned = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"]
    assert {item["Owner"]["DisplayName"] for item in owned} == {"alice"}
    assert len({item["Owner"]["ID"] for item in owned}) == 1

    after = s3.list_objects_v2(Bucket=bucket, StartAfter="b/2.txt")
    assert [item["Key"] for item in after["Contents"]] == KEYS[3:]
    none = s3.list_objects_v2(Bucket=bucket, MaxKeys=0)
    assert none["KeyCount"] == 0 and "Contents" not in none


@pytest.mark.parametrize("page_size", [1, 2, 3, 1000])
def test_list_objects_v1_walks_every_key_once(s3: Any, bucket: str, page_size: int) -> None:
    pages = walk(s3, "list_objects", page_size, Bucket=bucket)
    assert names(pages) == KEYS
    for page in pages:
        # Without a delimiter S3 sends no NextMarker: the next marker is the last key.
        assert "NextMarker" not in page
        assert page["Contents"][0]["Owner"]["DisplayName"] == "alice"
    assert [page["IsTruncated"] for page in pages][-1] is False
    assert all(page["IsTruncated"] for page in pages[:-1])

    delimited = walk(s3, "list_objects", page_size, Bucket=bucket, Delimiter="/")
    assert sorted(names(delimited)) == TOP
    for page in delimited[:-1]:
        assert page["IsTruncated"] and page["NextMarker"] == max(names([page]))

    nested = walk(s3, "list_objects", page_size, Bucket=bucket, Prefix="b/", Delimiter="/")
    assert names(nested) == ["b/1.txt", "b/2.txt", "b/c/"]


def test_list_objects_v1_markers_and_limits(s3: Any, bucket: str) -> None:
    after = s3.list_objects(Bucket=bucket, Marker="b/2.txt")
    assert [item["Key"] for item in after["Contents"]] == KEYS[3:]
    assert after["Marker"] == "b/2.txt"
    # A marker that is a common prefix skips everything under it.
    past = s3.list_objects(Bucket=bucket, Marker="b/", Delimiter="/")
    assert sorted(names([past])) == ["d e.txt", "pct%41+.txt", "z/", "ü.txt"]
    none = s3.list_objects(Bucket=bucket, MaxKeys=0)
    assert "Contents" not in none and none["MaxKeys"] == 0 and not none["IsTruncated"]
    with pytest.raises(ClientError) as bad:
        s3.list_objects(Bucket=bucket, MaxKeys=-1)
    assert error_code(bad) == "InvalidArgument"
    with pytest.raises(ClientError) as missing:
        s3.list_objects(Bucket="nosuchbucket")
    assert error_code(missing) == "NoSuchBucket"


def test_list_objects_v1_answers_url_encoded_keys_when_asked(
    server: LockrProcess, keys: dict[str, Any], bucket: str
) -> None:
    encoded = send_signed(server, keys, "GET", f"/{bucket}?prefix=pct&encoding-type=url").text
    assert "<Key>pct%2541%2B.txt</Key>" in encoded and "<EncodingType>url</EncodingType>" in encoded
    plain = send_signed(server, keys, "GET", f"/{bucket}").text
    assert "<Key>pct%41+.txt</Key>" in plain and "<Key>d e.txt</Key>" in plain
    assert "<Marker></Marker>" in plain and "EncodingType" not in plain


@pytest.mark.parametrize("page_size", [1, 3, 1000])
def test_list_object_versions_answers_as_unversioned(s3: Any, bucket: str, page_size: int) -> None:
    pages = walk(s3, "list_object_versions", page_size, Bucket=bucket)
    assert names(pages, "Versions") == KEYS
    for page in pages:
        assert "DeleteMarkers" not in page
        for version in page["Versions"]:
            assert version["VersionId"] == "null" and version["IsLatest"] is True
            assert version["ETag"] == f'"{hashlib.md5(version["Key"].encode()).hexdigest()}"'
            assert version["Owner"]["DisplayName"] == "alice"
        if page["IsTruncated"]:
            assert page["NextKeyMarker"] == page["Versions"][-1]["Key"]
            assert page["NextVersionIdMarker"] == "null"
    delimited = walk(s3, "list_object_versions", page_size, Bucket=bucket, Delimiter="/")
    assert sorted(names(delimited, "Versions")) == TOP
    under = s3.list_object_versions(Bucket=bucket, Prefix="b/", KeyMarker="b/1.txt")
    assert [version["Key"] for version in under["Versions"]] == ["b/2.txt", "b/c/3.txt"]


def test_list_object_versions_markers_are_checked(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as alone:
        s3.list_object_versions(Bucket=bucket, VersionIdMarker="null")
    assert error_code(alone) == "InvalidArgument"
    with pytest.raises(ClientError) as unknown:
        s3.list_object_versions(Bucket=bucket, KeyMarker="a.txt", VersionIdMarker="v1")
    assert error_code(unknown) == "InvalidArgument"
    resumed = s3.list_object_versions(Bucket=bucket, KeyMarker="a.txt", VersionIdMarker="null")
    assert resumed["Versions"][0]["Key"] == "b/1.txt"


def test_thousands_of_keys_are_paged_by_every_listing(
    server: LockrProcess, token: str, s3: Any
) -> None:
    s3.create_bucket(Bucket="many")
    first = [f"k/00/{number:02d}" for number in range(50)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket="many", Key=key, Body=b""), first))
    for folder in range(1, 50):  # a WebDAV COPY copies a folder's 50 keys at once
        target = {"Destination": dav_url(server, f"many/k/{folder:02d}")}
        assert dav(server, token, "COPY", "many/k/00", headers=target).status_code == 201
    keys = [f"k/{folder:02d}/{number:02d}" for folder in range(50) for number in range(50)]
    for operation, items in [
        ("list_objects", "Contents"),
        ("list_objects_v2", "Contents"),
        ("list_object_versions", "Versions"),
    ]:
        pages = walk(s3, operation, 1000, Bucket="many")
        assert names(pages, items) == keys, operation
        assert len(pages) == 3


def test_bucket_location_and_versioning(s3: Any, bucket: str) -> None:
    # The account's region: new accounts' default, "local" unless configured.
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "local"
    versioning = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in versioning and "MFADelete" not in versioning
    with pytest.raises(ClientError) as enable:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert status_of(enable) == 501 and error_code(enable) == "NotImplemented"
    for call in (s3.get_bucket_location, s3.get_bucket_versioning, s3.list_object_versions):
        with pytest.raises(ClientError) as missing:
            call(Bucket="nosuchbucket")
        assert error_code(missing) == "NoSuchBucket"
    # What is not supported answers so for a bucket that is there, and a missing
    # bucket is NoSuchBucket first, as for every call naming one.
    unsupported = {"VersioningConfiguration": {"Status": "Enabled"}}
    with pytest.raises(ClientError) as gone:
        s3.put_bucket_versioning(Bucket="nosuchbucket", **unsupported)
    assert status_of(gone) == 404 and error_code(gone) == "NoSuchBucket"
    with pytest.raises(ClientError) as tags:
        s3.get_bucket_tagging(Bucket="nosuchbucket")
    assert error_code(tags) == "NoSuchBucket"


DELIMITED = [
    "_under1/bar",
    "asdf",
    "b%ar",
    "bar",
    "baz",
    "bazar",
    "boo/bar",
    "boo/baz/xyzzy",
    "c%ab",
    "cab",
    "cquux/bla",
    "cquux/thud",
    "foo",
    "x y/z",
]
"""Keys of the conformance suites' delimiter tests (which lockr's tree can hold)."""


@pytest.fixture(scope="module")
def delimited(s3: Any) -> str:
    s3.create_bucket(Bucket="delimited")
    for key in DELIMITED:
        s3.put_object(Bucket="delimited", Key=key, Body=b"x")
    return "delimited"


def rolled_up(keys: list[str], prefix: str, delimiter: str) -> tuple[list[str], list[str]]:
    """S3's answer the slow way: the keys under ``prefix`` without ``delimiter`` after
    it, and the common prefixes (each key cut after its first delimiter past the prefix)."""
    contents: list[str] = []
    prefixes: list[str] = []
    for key in sorted(keys, key=str.encode):
        cut = key.find(delimiter, len(prefix)) if key.startswith(prefix) else -2
        if cut == -1:
            contents.append(key)
        elif cut >= 0 and key[: cut + len(delimiter)] not in prefixes:
            prefixes.append(key[: cut + len(delimiter)])
    return contents, prefixes


def test_any_delimiter_rolls_keys_up_as_s3_does(s3: Any, delimited: str) -> None:
    alt = s3.list_objects(Bucket=delimited, Delimiter="a")
    assert alt["Delimiter"] == "a"
    assert [item["Key"] for item in alt["Contents"]] == ["cquux/thud", "foo", "x y/z"]
    assert [p["Prefix"] for p in alt["CommonPrefixes"]] == [
        "_under1/ba",
        "a",
        "b%a",
        "ba",
        "boo/ba",
        "c%a",
        "ca",
        "cquux/bla",
    ]
    under = s3.list_objects_v2(Bucket=delimited, Prefix="ba", Delimiter="a")
    assert [item["Key"] for item in under["Contents"]] == ["bar", "baz"]
    assert [p["Prefix"] for p in under["CommonPrefixes"]] == ["baza"]
    percent = s3.list_objects_v2(Bucket=delimited, Delimiter="%")
    assert [p["Prefix"] for p in percent["CommonPrefixes"]] == ["b%", "c%"]
    unreadable = s3.list_objects(Bucket=delimited, Delimiter="\n")
    assert unreadable["Delimiter"] == "\n" and "CommonPrefixes" not in unreadable
    assert [item["Key"] for item in unreadable["Contents"]] == DELIMITED
    # A prefix that ends with the delimiter, and a delimiter longer than a character.
    boo = s3.list_objects_v2(Bucket=delimited, Prefix="boo/", Delimiter="/")
    assert [item["Key"] for item in boo["Contents"]] == ["boo/bar"]
    assert [p["Prefix"] for p in boo["CommonPrefixes"]] == ["boo/baz/"]
    long = s3.list_objects_v2(Bucket=delimited, Delimiter="o/b")
    assert [p["Prefix"] for p in long["CommonPrefixes"]] == ["boo/b"]
    empty = s3.list_objects(Bucket=delimited, Delimiter="")
    assert "Delimiter" not in empty and len(empty["Contents"]) == len(DELIMITED)


@pytest.mark.parametrize("delimiter", ["/", "a", "%", " ", "ba", "o/b"])
@pytest.mark.parametrize("page_size", [1, 2, 1000])
def test_delimited_pages_match_the_flat_listing_rolled_up(
    s3: Any, delimited: str, delimiter: str, page_size: int
) -> None:
    """Each listing, page after page, is what rolling the flat listing up gives."""
    flat = names(walk(s3, "list_objects_v2", 1000, Bucket=delimited))
    for prefix in ["", "b", "boo/"]:
        contents, prefixes = rolled_up(flat, prefix, delimiter)
        for operation in ("list_objects", "list_objects_v2"):
            arguments = {"Bucket": delimited, "Prefix": prefix, "Delimiter": delimiter}
            pages = walk(s3, operation, page_size, **arguments)
            got = [item["Key"] for page in pages for item in page.get("Contents", [])]
            common = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
            assert (got, common) == (contents, prefixes), (operation, prefix)
            assert not pages[-1]["IsTruncated"]
            for page in pages[:-1]:
                # A truncated page ends with its last key or common prefix, which
                # ListObjects names as NextMarker.
                assert page["IsTruncated"]
                if operation == "list_objects":
                    assert page["NextMarker"] == max(names([page]), key=str.encode)


def test_a_marker_naming_a_common_prefix_skips_its_keys(s3: Any, delimited: str) -> None:
    """ceph's s3-tests walk: one key or common prefix a page, from each NextMarker."""
    seen = []
    marker = ""
    while True:
        page = s3.list_objects(Bucket=delimited, Delimiter="/", MaxKeys=1, Marker=marker)
        seen += names([page])
        if not page["IsTruncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert seen == [
        "_under1/",
        "asdf",
        "b%ar",
        "bar",
        "baz",
        "bazar",
        "boo/",
        "c%ab",
        "cab",
        "cquux/",
        "foo",
        "x y/",
    ]
    past = s3.list_objects_v2(Bucket=delimited, Delimiter="a", StartAfter="ba")
    assert [item["Key"] for item in past["Contents"]] == ["cquux/thud", "foo", "x y/z"]
    assert [p["Prefix"] for p in past["CommonPrefixes"]] == ["boo/ba", "c%a", "ca", "cquux/bla"]


def test_a_folder_marker_is_an_object_and_a_folder_a_prefix_while_one_is_below(
    s3: Any,
) -> None:
    s3.create_bucket(Bucket="markers")
    put = s3.put_object(Bucket="markers", Key="asdf/", Body=b"", ContentType="x/dir")
    assert put["ETag"] == f'"{hashlib.md5(b"").hexdigest()}"'
    head = s3.head_object(Bucket="markers", Key="asdf/")
    assert head["ContentType"] == "x/dir" and head["ContentLength"] == 0
    flat = s3.list_objects_v2(Bucket="markers")["Contents"]
    assert [(item["Key"], item["Size"]) for item in flat] == [("asdf/", 0)]
    top = s3.list_objects_v2(Bucket="markers", Delimiter="/")
    assert "Contents" not in top and [p["Prefix"] for p in top["CommonPrefixes"]] == ["asdf/"]
    # ceph's test_bucket_list_delimiter_prefix_ends_with_delimiter:
    inside = s3.list_objects(Bucket="markers", Prefix="asdf/", Delimiter="/")
    assert [item["Key"] for item in inside["Contents"]] == ["asdf/"]
    assert "CommonPrefixes" not in inside
    with pytest.raises(ClientError) as full:
        s3.delete_bucket(Bucket="markers")
    assert error_code(full) == "BucketNotEmpty"  # the marker is an object

    # A key below the marker leaves it an object of its own, both ways.
    s3.put_object(Bucket="markers", Key="asdf/x", Body=b"x")
    assert names([s3.list_objects_v2(Bucket="markers")]) == ["asdf/", "asdf/x"]
    s3.delete_object(Bucket="markers", Key="asdf/x")
    assert names([s3.list_objects_v2(Bucket="markers")]) == ["asdf/"]
    s3.put_object(Bucket="markers", Key="asdf/y", Body=b"y")
    s3.delete_object(Bucket="markers", Key="asdf/")
    assert names([s3.list_objects_v2(Bucket="markers")]) == ["asdf/y"]
    with pytest.raises(ClientError) as unmarked:
        s3.head_object(Bucket="markers", Key="asdf/")
    assert status_of(unmarked) == 404
    s3.delete_object(Bucket="markers", Key="asdf/y")

    # Folders a key implied are no objects, and no prefixes once it is deleted.
    s3.put_object(Bucket="markers", Key="x/y/z", Body=b"z")
    assert [
        p["Prefix"] for p in s3.list_objects(Bucket="markers", Delimiter="/")["CommonPrefixes"]
    ] == ["x/"]
    with pytest.raises(ClientError) as implied:
        s3.head_object(Bucket="markers", Key="x/")
    assert status_of(implied) == 404
    s3.delete_object(Bucket="markers", Key="x/y/z")
    for listing in (
        s3.list_objects(Bucket="markers", Delimiter="/"),
        s3.list_objects_v2(Bucket="markers", Prefix="x/", Delimiter="/"),
        s3.list_objects_v2(Bucket="markers"),
    ):
        assert "Contents" not in listing and "CommonPrefixes" not in listing
    s3.delete_bucket(Bucket="markers")


@pytest.mark.parametrize("value", ["²", "-1", "1" * 30, "ten"])
def test_max_keys_that_are_not_a_number_are_invalid_argument(value: str) -> None:
    """Not a 500: "²" passes str.isdigit but not int()."""
    from api.s3.listing import _max_keys

    with pytest.raises(InvalidArgument):
        _max_keys(value)
