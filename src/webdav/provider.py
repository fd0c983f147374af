"""The wsgidav provider: maps ``/<username>/<path>`` to the caller's tree.

The root lists only the caller's home; any other account's name is simply not
there (404), so nothing tells one account that another exists. No SQL here: every
lookup goes through :class:`gateway.storage.Storage`.
"""

from __future__ import annotations

from typing import Any

from wsgidav.dav_error import HTTP_FORBIDDEN, DAVError
from wsgidav.dav_provider import DAVProvider, _DAVResource

from gateway.core import Core
from gateway.errors import BadRequest, NotFound
from gateway.storage import Entry, split_path
from webdav.copymove import handle_copy_move
from webdav.errors import call
from webdav.resources import (
    FileResource,
    FolderResource,
    RootCollection,
    home_path,
    principal_of,
)

HOME_ONLY = ("LOCK", "UNLOCK", "PROPPATCH")


class LockrProvider(DAVProvider):  # type: ignore[misc]
    def __init__(self, core: Core) -> None:
        super().__init__()
        self.core = core

    def is_readonly(self) -> bool:
        return False

    def resource_for(
        self, path: str, environ: dict[str, Any], entry: Entry, inner: str
    ) -> _DAVResource:
        if entry.is_dir:
            return FolderResource(path, environ, self, entry, inner)
        return FileResource(path, environ, self, entry, inner)

    def get_resource_inst(self, path: str, environ: dict[str, Any]) -> _DAVResource | None:
        self._count_get_resource_inst += 1
        if not path.strip("/"):
            return RootCollection("/", environ, self)
        inner = home_path(environ, path)
        if inner is None:
            return None
        try:
            entry = self.core.storage.stat(principal_of(environ).account_id, inner)
        except (NotFound, BadRequest):
            return None
        return self.resource_for(path, environ, entry, inner)

    def custom_request_handler(
        self, environ: dict[str, Any], start_response: Any, default_handler: Any
    ) -> Any:
        method = environ["REQUEST_METHOD"]
        inner = home_path(environ, environ["PATH_INFO"])
        if inner:
            call(split_path, inner)  # a 400 naming the path limit, before any lookup
        if method == "DELETE" and not environ["PATH_INFO"].strip("/"):
            raise DAVError(HTTP_FORBIDDEN, context_info="the root cannot be deleted")
        if method in HOME_ONLY and inner is None:
            # The root and other homes belong to no caller: a lock or a property set
            # there would reach into every account.
            raise DAVError(HTTP_FORBIDDEN, context_info=f"{method} only inside your home folder")
        if method in ("COPY", "MOVE"):
            # default_handler is wsgidav's do_COPY/do_MOVE, bound to its request server.
            evaluate = default_handler.__self__._evaluate_if_headers
            return handle_copy_move(self, environ, start_response, evaluate)
        return default_handler(environ, start_response)
