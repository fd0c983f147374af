"""rclone remotes for an account, as ``rclone.conf`` sections: over WebDAV (a login
token) or over the S3-compatible front (an S3 access key), and the storage seed's
one-switch migration command. The command line (``lockr rclone-config``) and the JSON
API (``POST /api/v1/rclone-config``, for the web app's Settings) write the same text.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from gateway.config import Config

SYNC_FLAGS = "--transfers=16 --checkers=8"


def webdav_url(config: Config) -> str:
    """Where rclone reaches WebDAV: the listener and its mount (a proxy in front may
    serve it elsewhere; ``--url`` or the page's own copy say so)."""
    return f"http://{config.dav}{config.dav_mount}".rstrip("/")


def s3_endpoint(config: Config) -> str:
    if config.s3_domain:
        return f"http://{config.s3_domain}:{config.s3.port}"
    return f"http://{config.s3}"


def webdav_remote(remote: str, url: str, token: str, username: str) -> str:
    return (
        f"[{remote}]\n"
        "type = webdav\n"
        f"url = {url}\n"
        "vendor = owncloud\n"
        f"bearer_token = {token}\n"
        f"# rclone sync SOURCE {remote}:{username}/ {SYNC_FLAGS}"
    )


def s3_remote(
    remote: str, config: Config, endpoint: str, access_key_id: str, secret: str, region: str
) -> str:
    """A ``type = s3`` remote: virtual-host style when the endpoint's host is
    ``s3_domain``, else path-style; listings with ListObjectsV2, URL-encoded; the
    account's region in the signature's scope (lockr accepts any, and answers
    GetBucketLocation with it)."""
    virtual_host = config.s3_domain is not None and urlsplit(endpoint).hostname == config.s3_domain
    return (
        f"[{remote}]\n"
        "type = s3\n"
        "provider = Other\n"
        f"endpoint = {endpoint}\n"
        f"access_key_id = {access_key_id}\n"
        f"secret_access_key = {secret}\n"
        f"region = {region}\n"
        f"force_path_style = {'false' if virtual_host else 'true'}\n"
        "list_version = 2\n"
        "list_url_encode = true\n"
        f"# rclone sync SOURCE {remote}:BUCKET/ {SYNC_FLAGS}"
    )


def migration_command(remote: str, username: str) -> str:
    """The storage seed's one-switch command, for this account (``gcs:`` in place of
    ``s3:`` for Google Cloud Storage)."""
    return (
        f"rclone sync s3:your-source-bucket {remote}:{username} \\\n"
        f"  --progress \\\n  --transfers=16 \\\n  --checkers=8"
    )
