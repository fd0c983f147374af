"""Each region's object store, built from its configuration (:class:`Region`)."""

from __future__ import annotations

from gateway.config import ConfigError, Region
from gateway.objectstore import ObjectStore
from gateway.objectstore_local import LocalObjectStore
from gateway.objectstore_s3 import S3ObjectStore


def open_object_store(region: Region) -> ObjectStore:
    """The :class:`ObjectStore` that keeps ``region``'s objects: a local directory, made
    if missing, or a bucket of an S3-compatible store, which MUST exist (nothing is
    created there). Close it with :meth:`ObjectStore.close` when done."""
    if region.backend == "local" and region.path is not None:
        return LocalObjectStore(region.path)
    if region.backend == "s3" and region.s3 is not None:
        s3 = region.s3
        return S3ObjectStore(
            endpoint=s3.endpoint,
            bucket=s3.bucket,
            prefix=s3.prefix,
            access_key_id=s3.access_key_id,
            secret_access_key=s3.secret_access_key,
            region_name=s3.region_name,
        )
    raise ConfigError(f"[regions.{region.name}]: backend {region.backend!r} is not configured")
