"""The WebDAV WSGI application and its cheroot server.

Requests pass, in order: the access log, the XML body limit, authentication through
the shared layer (Basic or Bearer, never Digest; Basic refused on writes a browser
marks as cross-site, see :mod:`gateway.auth`), ownCloud headers (``X-OC-Mtime:
accepted``), then wsgidav with the lockr provider. The listener itself caps request
heads (:mod:`gateway.listeners`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import Any

from cheroot import wsgi
from wsgidav.request_resolver import RequestResolver
from wsgidav.wsgidav_app import WsgiDAVApp

from gateway.auth import RequestSource, client_address
from gateway.core import Core
from gateway.errors import Busy, Forbidden, RateLimited, Unauthorized
from gateway.listeners import MAX_HEAD_BYTES, BoundedCherootConnection
from gateway.logsafe import loggable
from webdav.errors import ErrorPages
from webdav.provider import LockrProvider
from webdav.state import DbLockStorage, DbPropertyManager

log = logging.getLogger("lockr.access")

BLOCK = 1024 * 1024
MAX_XML_BODY = 1024 * 1024
XML_METHODS = ("PROPFIND", "PROPPATCH", "LOCK")
CHALLENGE = ("WWW-Authenticate", 'Basic realm="lockr", charset="UTF-8"')
WSGIApp = Any


def _plain(
    start_response: Any, status: str, text: str, headers: list[tuple[str, str]]
) -> list[bytes]:
    body = text.encode()
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *headers,
        ],
    )
    return [body]


class Authenticate:
    """Resolve the caller with the core's authenticator; 401 (with a Basic challenge)
    without valid credentials, 403 for Basic on a cross-site write (this listener's
    own origin counts as lockr's, beside ``public_url``), 429 while the sign-in budgets
    are used up, 503 while too many passwords are being checked."""

    def __init__(self, app: WSGIApp, core: Core, locks: DbLockStorage) -> None:
        self.app = app
        self.core = core
        self.locks = locks

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        try:
            address = client_address(
                environ.get("REMOTE_ADDR", ""),
                environ.get("HTTP_X_FORWARDED_FOR"),
                trust_proxy=self.core.config.trust_proxy_headers,
            )
            source = RequestSource(
                environ.get("REQUEST_METHOD", ""),
                fetch_site=environ.get("HTTP_SEC_FETCH_SITE"),
                origin=environ.get("HTTP_ORIGIN"),
                listener_origin=f"{environ.get('wsgi.url_scheme', 'http')}://"
                + environ.get("HTTP_HOST", ""),
            )
            principal = self.core.auth.resolve(
                environ.get("HTTP_AUTHORIZATION"), address=address, source=source
            )
        except Unauthorized as error:
            return _plain(start_response, "401 Unauthorized", error.message + "\n", [CHALLENGE])
        except Forbidden as error:
            return _plain(start_response, "403 Forbidden", error.message + "\n", [])
        except (RateLimited, Busy) as error:
            return _plain(
                start_response,
                f"{error.status} {HTTPStatus(error.status).phrase}",
                error.message + "\n",
                [("Retry-After", str(error.retry_after or 1))],
            )
        if principal is None:
            return _plain(start_response, "401 Unauthorized", "sign in\n", [CHALLENGE])
        environ["lockr.principal"] = principal
        environ["wsgidav.auth.user_name"] = principal.username
        environ["wsgidav.auth.realm"] = "lockr"
        environ["wsgidav.auth.roles"] = ["editor"]
        self.locks.begin_request(principal.username)
        return self.app(environ, start_response)


class XmlBodyLimit:
    """413 for a PROPFIND, PROPPATCH or LOCK body over :data:`MAX_XML_BODY`, before any
    of it is read (wsgidav reads such bodies whole to parse them)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] in XML_METHODS:
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                return _plain(start_response, "400 Bad Request", "bad Content-Length\n", [])
            if length > MAX_XML_BODY:
                message = f"a {environ['REQUEST_METHOD']} body is at most {MAX_XML_BODY} bytes\n"
                return _plain(
                    start_response, "413 Content Too Large", message, [("Connection", "close")]
                )
        return self.app(environ, start_response)


class OwnCloudHeaders:
    """Answer ``X-OC-Mtime: accepted`` when a PUT, COPY or MOVE applied it."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if "HTTP_X_OC_MTIME" not in environ or environ["REQUEST_METHOD"] not in (
            "PUT",
            "COPY",
            "MOVE",
        ):
            return self.app(environ, start_response)

        def starting(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            if status.startswith("2"):
                headers = [*headers, ("X-OC-Mtime", "accepted")]
            return start_response(status, headers, *args)

        return self.app(environ, starting)


class AccessLog:
    """One line per request, when its response has been sent: method, path, status,
    duration, client. Never credentials or query strings."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        status = ["-"]

        def starting(code: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, *args)

        def done() -> None:
            log.info(
                "dav %s %s %s %.1fms %s",
                environ.get("REQUEST_METHOD"),
                loggable(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")),
                status[0],
                (time.perf_counter() - started) * 1000,
                environ.get("REMOTE_ADDR", "-"),
            )

        return _Closing(self.app(environ, starting), done)


class _Closing:
    """Wraps a WSGI response iterable to run ``on_close`` when the server closes it."""

    def __init__(self, iterable: Iterable[bytes], on_close: Any) -> None:
        self._iterable = iterable
        self._on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._iterable)

    def close(self) -> None:
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close()


def create_dav_app(core: Core, *, fast_propfind: bool = True) -> WSGIApp:
    """The WebDAV WSGI app over ``core``. ``fast_propfind=False`` leaves every PROPFIND
    to wsgidav (tests compare the two answers)."""
    mount = core.config.dav_mount.rstrip("/")
    locks = DbLockStorage(core.dav_locks)
    provider = LockrProvider(core, locks)
    if not fast_propfind:
        provider.fast_propfind = None
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
    app = AccessLog(XmlBodyLimit(Authenticate(OwnCloudHeaders(dav), core, locks)))
    # wsgidav finds its mount in SCRIPT_NAME: the dispatcher moves it there.
    return wsgi.PathInfoDispatcher({mount: app}) if mount else app  # type: ignore[no-untyped-call]


class DavServer:
    """cheroot serving the WebDAV app on its own listener, in a background thread."""

    def __init__(self, core: Core, *, threads: int = 32) -> None:
        listen = core.config.dav
        self.server = wsgi.Server(
            (listen.host, listen.port),
            create_dav_app(core),
            numthreads=threads,
            server_name="lockr",
        )
        self.server.max_request_header_size = MAX_HEAD_BYTES
        self.server.ConnectionClass = BoundedCherootConnection
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.server.prepare()
        self._thread = threading.Thread(target=self.server.serve, name="lockr-dav", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.stop()
        if self._thread is not None:
            self._thread.join(timeout=35)
