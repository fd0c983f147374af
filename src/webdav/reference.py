"""wsgidav, the reference implementation of the whole protocol, behind the ASGI front.

Every request the fast path does not take (LOCK, UNLOCK, PROPPATCH, ``If`` headers,
resources under locks or with dead properties, anything unusual) is answered here:
wsgidav with the lockr provider, run in worker threads through a2wsgi, which streams
request and response bodies both ways (a bounded queue each; no body is held whole).
The front has authenticated the caller already and hands it over in the ASGI scope.
"""

from __future__ import annotations

from typing import Any

from a2wsgi import WSGIMiddleware
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from gateway.auth import Principal
from gateway.core import Core
from webdav.errors import ErrorPages
from webdav.provider import LockrProvider
from webdav.state import DbLockStorage, DbPropertyManager

BLOCK = 1024 * 1024
WORKERS = 32
PRINCIPAL = "lockr.principal"
"""The scope key under which the front hands the authenticated caller over."""
OC_MTIME_METHODS = ("PUT", "COPY", "MOVE")
WSGIApp = Any


class _Handover:
    """Between a2wsgi and wsgidav: the caller the front authenticated becomes
    wsgidav's user; wsgidav's ``Date`` header is dropped (uvicorn sends one); a PUT,
    COPY or MOVE that applied ``X-OC-Mtime`` answers ``X-OC-Mtime: accepted``."""

    def __init__(self, app: WSGIApp, locks: DbLockStorage) -> None:
        self.app = app
        self.locks = locks

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        principal: Principal = environ["asgi.scope"][PRINCIPAL]
        environ[PRINCIPAL] = principal
        environ["wsgidav.auth.user_name"] = principal.username
        environ["wsgidav.auth.realm"] = "lockr"
        environ["wsgidav.auth.roles"] = ["editor"]
        self.locks.begin_request(principal.username)
        accepted = "HTTP_X_OC_MTIME" in environ and environ["REQUEST_METHOD"] in OC_MTIME_METHODS

        def starting(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            headers = [(name, value) for name, value in headers if name.lower() != "date"]
            if accepted and status.startswith("2"):
                headers.append(("X-OC-Mtime", "accepted"))
            return start_response(status, headers, *args)

        return self.app(environ, starting)


def wsgidav_app(core: Core) -> WSGIMiddleware:
    """wsgidav over ``core``, as an ASGI app. It expects the caller in the scope under
    :data:`PRINCIPAL` and the mount in ``root_path``."""
    mount = core.config.dav_mount.rstrip("/")
    locks = DbLockStorage(core.dav_locks)
    provider = LockrProvider(core)
    dav = WsgiDAVApp(
        {
            "provider_mapping": {"/": provider},
            "mount_path": mount or None,
            "middleware_stack": [ErrorPages, RequestResolver],
            "http_authenticator": {
                "domain_controller": None,
                "accept_basic": False,
                "accept_digest": False,
                "default_to_digest": False,
            },
            "lock_storage": locks,
            "property_manager": DbPropertyManager(core.dav_properties),
            "block_size": BLOCK,
            "verbose": 1,
            "logging": {"enable": False, "enable_loggers": []},
            "dir_browser": {"enable": False},
            "add_header_MS_Author_Via": True,
            "hotfixes": {"re_encode_path_info": True, "unquote_path_info": False},
        }
    )
    handover: Any = _Handover(dav, locks)  # a2wsgi types environ as a TypedDict
    return WSGIMiddleware(handover, workers=WORKERS)
