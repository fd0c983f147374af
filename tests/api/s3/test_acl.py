"""ACLs with ACLs disabled (:mod:`api.s3.acl`, :mod:`api.s3.grants`) over a real
``lockr serve`` with boto3: the owner's full control answered for buckets and
objects, grants beyond it refused on every write that can carry them (nothing is
written), and the ownership controls."""

from __future__ import annotations

from typing import Any

from tests.api.s3.conftest import ensure_bucket, refused, send_signed
from tests.conftest import LockrProcess

NOT_SUPPORTED = (400, "AccessControlListNotSupported")


def owner_only(policy: dict[str, Any], owner: dict[str, Any]) -> bool:
    grants = policy["Grants"]
    return (
        policy["Owner"] == owner
        and len(grants) == 1
        and grants[0]["Permission"] == "FULL_CONTROL"
        and grants[0]["Grantee"]["ID"] == owner["ID"]
        and grants[0]["Grantee"]["Type"] == "CanonicalUser"
    )


def test_the_owner_has_full_control_and_nobody_else(s3: Any) -> None:
    ensure_bucket(s3, "acl")
    s3.put_object(Bucket="acl", Key="k", Body=b"x")
    owner = s3.list_buckets()["Owner"]
    assert owner_only(s3.get_bucket_acl(Bucket="acl"), owner)
    assert owner_only(s3.get_object_acl(Bucket="acl", Key="k"), owner)
    assert refused(s3.get_object_acl, Bucket="acl", Key="missing") == (404, "NoSuchKey")
    assert refused(s3.get_bucket_acl, Bucket="no-such-bucket") == (404, "NoSuchBucket")
    controls = s3.get_bucket_ownership_controls(Bucket="acl")["OwnershipControls"]
    assert controls == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_an_acl_that_changes_nothing_is_taken(s3: Any) -> None:
    ensure_bucket(s3, "acl")
    s3.put_object(Bucket="acl", Key="k", Body=b"x")
    owner = s3.list_buckets()["Owner"]
    s3.put_bucket_acl(Bucket="acl", ACL="private")
    s3.put_object_acl(Bucket="acl", Key="k", ACL="bucket-owner-full-control")
    full = {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"}
    s3.put_object_acl(Bucket="acl", Key="k", AccessControlPolicy={"Grants": [full], "Owner": owner})
    assert owner_only(s3.get_object_acl(Bucket="acl", Key="k"), owner)


def test_grants_beyond_the_owner_are_refused(
    server: LockrProcess, keys: dict[str, Any], s3: Any
) -> None:
    ensure_bucket(s3, "acl")
    s3.put_object(Bucket="acl", Key="k", Body=b"x")
    owner = s3.list_buckets()["Owner"]
    assert refused(s3.put_bucket_acl, Bucket="acl", ACL="public-read") == NOT_SUPPORTED
    assert refused(s3.put_object_acl, Bucket="acl", Key="k", ACL="public-read") == NOT_SUPPORTED
    everyone = {
        "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
        "Permission": "READ",
    }
    policy = {"Grants": [everyone], "Owner": owner}
    shared = refused(s3.put_object_acl, Bucket="acl", Key="k", AccessControlPolicy=policy)
    assert shared == NOT_SUPPORTED
    grant = refused(s3.put_object_acl, Bucket="acl", Key="k", GrantRead=f'id="{owner["ID"]}"')
    assert grant == NOT_SUPPORTED
    malformed = send_signed(server, keys, "PUT", "/acl/k?acl", b"<NotAPolicy/>")
    assert malformed.status_code == 400 and b"<Code>MalformedACLError</Code>" in malformed.content


def test_writes_asking_for_grants_write_nothing(s3: Any) -> None:
    ensure_bucket(s3, "acl")
    public = {"Bucket": "acl", "Key": "public", "ACL": "public-read"}
    assert refused(s3.put_object, **public, Body=b"x") == NOT_SUPPORTED
    assert refused(s3.head_object, Bucket="acl", Key="public") == (404, "404")
    assert refused(s3.create_multipart_upload, **public) == NOT_SUPPORTED
    assert "Uploads" not in s3.list_multipart_uploads(Bucket="acl")
    s3.put_object(Bucket="acl", Key="source", Body=b"x", ACL="private")
    copied = refused(s3.copy_object, **public, CopySource={"Bucket": "acl", "Key": "source"})
    assert copied == NOT_SUPPORTED
    bucket = refused(s3.create_bucket, Bucket="acl-public", ACL="public-read")
    assert bucket == (400, "InvalidBucketAclWithObjectOwnership")
    assert refused(s3.head_bucket, Bucket="acl-public") == (404, "404")


def test_ownership_controls_take_only_bucket_owner_enforced(s3: Any) -> None:
    ensure_bucket(s3, "acl")

    def controls(*settings: str) -> dict[str, Any]:
        return {"Rules": [{"ObjectOwnership": setting} for setting in settings]}

    put = s3.put_bucket_ownership_controls
    put(Bucket="acl", OwnershipControls=controls("BucketOwnerEnforced"))
    assert refused(put, Bucket="acl", OwnershipControls=controls("ObjectWriter")) == (
        501,
        "NotImplemented",
    )
    two = controls("BucketOwnerEnforced", "ObjectWriter")
    assert refused(put, Bucket="acl", OwnershipControls=two) == (400, "MalformedXML")
    unknown = controls("EveryoneOwns")
    assert refused(put, Bucket="acl", OwnershipControls=unknown) == (400, "MalformedXML")
    missing = controls("BucketOwnerEnforced")
    assert refused(put, Bucket="no-such-bucket", OwnershipControls=missing) == (
        404,
        "NoSuchBucket",
    )
    rules = s3.get_bucket_ownership_controls(Bucket="acl")["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
