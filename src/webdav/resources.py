"""wsgidav resources over engine entries: the root, folders, files, and a file being
created by a PUT (which exists only once its upload commits)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from wsgidav.dav_error import HTTP_BAD_REQUEST, HTTP_FORBIDDEN, DAVError
from wsgidav.dav_provider import DAVCollection, DAVNonCollection, _DAVResource
from wsgidav.util import etree

from gateway.auth import Principal
from gateway.blobkeys import object_key
from gateway.numbers import whole_number_or_none
from gateway.objectfile import ObjectFile
from gateway.storage import Entry
from gateway.upload import Upload
from webdav import request as dav_request
from webdav.errors import call, translated
from webdav.names import OC, display_name

if TYPE_CHECKING:
    from webdav.provider import LockrProvider

USAGE = "lockr.usage"
CHECKSUMS = OC + "checksums"
PERMISSIONS = OC + "permissions"


def principal_of(environ: dict[str, Any]) -> Principal:
    principal: Principal = environ["lockr.principal"]
    return principal


def home_path(environ: dict[str, Any], path: str) -> str | None:
    """The path inside the caller's home of the WebDAV path ``path`` (see
    :func:`webdav.request.home_path`)."""
    return dav_request.home_path(principal_of(environ).username, path)


def parse_mtime(environ: dict[str, Any]) -> float | None:
    """``X-OC-Mtime`` (:func:`webdav.request.parse_mtime`); 400 when malformed."""
    return call(dav_request.parse_mtime, environ.get("HTTP_X_OC_MTIME"))


def parse_checksums(environ: dict[str, Any]) -> dict[str, str]:
    """``OC-Checksum`` (:func:`webdav.request.parse_checksums`)."""
    return dav_request.parse_checksums(environ.get("HTTP_OC_CHECKSUM"))


def usage(environ: dict[str, Any], provider: LockrProvider) -> tuple[int, int]:
    """The account's (used, quota), read once per request, by the first property that
    needs it; bytes of writes in progress count as used."""
    found: tuple[int, int] | None = environ.get(USAGE)
    if found is None:
        found = environ[USAGE] = provider.core.storage.usage(principal_of(environ).account_id)
    return found


class _Entry:
    """What folders and files share: the entry, the account path, quota, checksums."""

    entry: Entry
    inner: str
    provider: LockrProvider
    environ: dict[str, Any]
    path: str

    def get_creation_date(self) -> float:
        return self.entry.created_at

    def get_last_modified(self) -> float:
        return self.entry.mtime

    def get_display_name(self) -> str:
        return display_name(self.entry, principal_of(self.environ).username)

    def get_used_bytes(self) -> int:
        return usage(self.environ, self.provider)[0]

    def get_available_bytes(self) -> int:
        used, quota = usage(self.environ, self.provider)
        return max(0, quota - used)

    def set_last_modified(self, dest_path: str, time_stamp: Any, *, dry_run: bool) -> bool:
        try:
            mtime = float(time_stamp)
        except (TypeError, ValueError):
            raise DAVError(
                HTTP_BAD_REQUEST, context_info="lastmodified must be unix seconds"
            ) from None
        if not dry_run:
            self.entry = call(
                self.provider.core.storage.set_mtime,
                principal_of(self.environ).account_id,
                self.inner,
                mtime,
            )
        return True

    def _owncloud_value(self, name: str) -> Any:
        if name == CHECKSUMS and not self.entry.is_dir:
            element = etree.Element(CHECKSUMS)
            checksum = etree.SubElement(element, OC + "checksum")
            checksum.text = f"SHA1:{self.entry.sha1} MD5:{self.entry.md5}"
            return element
        if name == PERMISSIONS:
            return "RDNVCK" if self.entry.is_dir else "RDNVW"
        return None

    def _extra_names(self) -> list[str]:
        names = [PERMISSIONS]
        if not self.entry.is_dir:
            names.append(CHECKSUMS)
        return names

    def get_property_names(self, *, is_allprop: bool) -> list[str]:
        """wsgidav's names plus the ownCloud ones rclone asks for."""
        names: list[str] = super().get_property_names(is_allprop=is_allprop)  # type: ignore[misc]
        return names + self._extra_names()

    def get_property_value(self, name: str) -> Any:
        value = self._owncloud_value(name)
        if value is not None:
            return value
        return super().get_property_value(name)  # type: ignore[misc]

    def set_property_value(self, name: str, value: Any, *, dry_run: bool = False) -> Any:
        handled = self._set_property(name, value, dry_run=dry_run)
        if handled is not None:
            return handled
        return super().set_property_value(name, value, dry_run=dry_run)  # type: ignore[misc]

    def _delete_tree(self) -> bool:
        """DELETE done by the engine in one step, after checking that no lock the
        request does not hold covers this resource or anything below it."""
        lock_manager = self.provider.lock_manager
        if lock_manager is not None:
            lock_manager.check_write_permission(
                url=self.get_ref_url(),  # type: ignore[attr-defined]
                depth="infinity",
                token_list=self.environ.get("wsgidav.ifLockTokenList", []),
                principal=self.environ.get("wsgidav.auth.user_name", ""),
            )
        call(self.provider.core.storage.delete, principal_of(self.environ).account_id, self.inner)
        self.remove_all_properties(recursive=True)  # type: ignore[attr-defined]
        self.remove_all_locks(recursive=True)  # type: ignore[attr-defined]
        return True

    def _set_property(self, name: str, value: Any, *, dry_run: bool) -> Any:
        """PROPPATCH of {DAV:}lastmodified / getlastmodified (rclone sends unix seconds),
        and oc:checksums (accepted and ignored: lockr computes its own)."""
        if name in ("{DAV:}lastmodified", "{DAV:}getlastmodified"):
            text = (value.text or "").strip() if value is not None else ""
            return self.set_last_modified(self.path, text, dry_run=dry_run)
        if name == CHECKSUMS:
            return True
        return None


class RootCollection(DAVCollection):  # type: ignore[misc]
    """``/``: lists only the caller's home folder."""

    def __init__(self, path: str, environ: dict[str, Any], provider: LockrProvider) -> None:
        super().__init__(path, environ)
        self.lockr = provider

    def get_member_names(self) -> list[str]:
        return [principal_of(self.environ).username]

    def get_member(self, name: str) -> _DAVResource | None:
        return self.lockr.get_resource_inst(self.path.rstrip("/") + "/" + name, self.environ)

    def get_used_bytes(self) -> int:
        return usage(self.environ, self.lockr)[0]

    def get_available_bytes(self) -> int:
        used, quota = usage(self.environ, self.lockr)
        return max(0, quota - used)

    def create_empty_resource(self, name: str) -> Any:
        raise DAVError(HTTP_FORBIDDEN, context_info="store files inside your home folder")

    def create_collection(self, name: str) -> None:
        raise DAVError(HTTP_FORBIDDEN, context_info="make folders inside your home folder")

    def support_recursive_delete(self) -> bool:
        return False

    def delete(self) -> None:
        raise DAVError(HTTP_FORBIDDEN)

    def get_last_modified(self) -> float | None:
        return None


class FolderResource(_Entry, DAVCollection):  # type: ignore[misc]
    def __init__(
        self, path: str, environ: dict[str, Any], provider: LockrProvider, entry: Entry, inner: str
    ) -> None:
        DAVCollection.__init__(self, path, environ)
        self.lockr = provider
        self.entry = entry
        self.inner = inner

    def _children(self) -> list[Entry]:
        return call(self.lockr.core.storage.children_of, self.entry)

    def get_member_names(self) -> list[str]:
        return [child.name for child in self._children()]

    def get_member_list(self) -> list[_DAVResource]:
        base = self.path.rstrip("/")
        prefix = self.inner + "/" if self.inner else ""
        return [
            self.lockr.resource_for(
                f"{base}/{child.name}", self.environ, child, prefix + child.name
            )
            for child in self._children()
        ]

    def get_member(self, name: str) -> _DAVResource | None:
        return self.lockr.get_resource_inst(self.path.rstrip("/") + "/" + name, self.environ)

    def create_empty_resource(self, name: str) -> FileResource:
        """For a PUT, a file that appears only when its upload commits; for a LOCK of
        an unmapped URL, an empty file made now (RFC 4918 7.3)."""
        path = self.path.rstrip("/") + "/" + name
        inner = (self.inner + "/" + name).lstrip("/")
        if self.environ.get("REQUEST_METHOD") != "LOCK":
            return PendingFile(path, self.environ, self.lockr, inner)
        principal = principal_of(self.environ)
        with translated():
            upload = self.lockr.core.storage.upload(
                principal.account_id,
                inner,
                max_size=principal.max_object_size,
                expected_size=0,
                on_conflict="fail",
            )
            entry = upload.commit()
        return FileResource(path, self.environ, self.lockr, entry, inner)

    def create_collection(self, name: str) -> None:
        call(
            self.lockr.core.storage.mkdir,
            principal_of(self.environ).account_id,
            (self.inner + "/" + name).lstrip("/"),
        )

    def support_recursive_delete(self) -> bool:
        return True

    def handle_delete(self) -> bool:
        return self._delete_tree()

    def delete(self) -> None:
        self._delete_tree()

    def support_etag(self) -> bool:
        return False

    def get_etag(self) -> None:
        return None


class FileResource(_Entry, DAVNonCollection):  # type: ignore[misc]
    def __init__(
        self, path: str, environ: dict[str, Any], provider: LockrProvider, entry: Entry, inner: str
    ) -> None:
        DAVNonCollection.__init__(self, path, environ)
        self.lockr = provider
        self.entry = entry
        self.inner = inner
        self._upload: Upload | None = None

    def get_content_length(self) -> int:
        return self.entry.size

    def get_content_type(self) -> str:
        return self.entry.content_type or "application/octet-stream"

    def get_etag(self) -> str:
        return self.entry.md5 or ""

    def support_etag(self) -> bool:
        return True

    def support_ranges(self) -> bool:
        return True

    def get_content(self) -> ObjectFile:
        entry = self.entry
        store = self.lockr.core.storage.store_for(entry.region or "")
        return ObjectFile(store, object_key(entry.blob_key or ""), entry.size)

    def begin_write(self, *, content_type: str | None = None) -> UploadWriter:
        principal = principal_of(self.environ)
        length = self.environ.get("CONTENT_LENGTH")
        with translated():
            self._upload = self.lockr.core.storage.upload(
                principal.account_id,
                self.inner,
                max_size=principal.max_object_size,
                expected_size=None
                if "chunked" in self.environ.get("HTTP_TRANSFER_ENCODING", "").lower()
                else whole_number_or_none(length),
                content_type=content_type or "",
                mtime=parse_mtime(self.environ),
            )
        return UploadWriter(self._upload)

    def end_write(self, *, with_errors: bool) -> None:
        upload, self._upload = self._upload, None
        if upload is None:
            return
        if with_errors:
            upload.abort()
            return
        with translated():
            self.entry = upload.commit(checksums=parse_checksums(self.environ))

    def handle_delete(self) -> bool:
        return self._delete_tree()

    def delete(self) -> None:
        self._delete_tree()


class PendingFile(FileResource):
    """A file a PUT is creating: nothing exists until its upload commits."""

    def __init__(
        self, path: str, environ: dict[str, Any], provider: LockrProvider, inner: str
    ) -> None:
        now = time.time()
        placeholder = Entry(
            id=0,
            uid="",
            account_id=principal_of(environ).account_id,
            parent_id=None,
            name=inner.rsplit("/", 1)[-1],
            is_dir=False,
            size=0,
            content_type="",
            mtime=now,
            created_at=now,
        )
        super().__init__(path, environ, provider, placeholder, inner)


class UploadWriter:
    """The file object wsgidav writes a PUT body into."""

    def __init__(self, upload: Upload) -> None:
        self._upload = upload

    def write(self, data: bytes) -> None:
        with translated():
            self._upload.write(data)

    def writelines(self, blocks: Any) -> None:
        for block in blocks:
            self.write(block)

    def close(self) -> None:
        pass
