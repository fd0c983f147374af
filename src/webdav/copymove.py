"""COPY and MOVE, done by the engine in one step (a copy shares blobs; a move keeps
ids). wsgidav's own handler decodes the Destination before parsing it, which breaks
names with ``?`` or ``#``; this one parses first, then decodes the path."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wsgidav import util
from wsgidav.dav_error import (
    HTTP_BAD_GATEWAY,
    HTTP_BAD_REQUEST,
    HTTP_CONFLICT,
    HTTP_FORBIDDEN,
    HTTP_NOT_FOUND,
    HTTP_PRECONDITION_FAILED,
    DAVError,
)

from webdav import request
from webdav.errors import translated
from webdav.resources import home_path, parse_mtime, principal_of

if TYPE_CHECKING:
    from webdav.provider import LockrProvider


def _account_path(environ: dict[str, Any], path: str) -> str:
    """``/<username>/a/b`` -> ``a/b`` for the caller; 403 for the root or another home."""
    inner = home_path(environ, path)
    if not inner:
        raise DAVError(HTTP_FORBIDDEN, context_info="copy and move within your home folder")
    return inner


def destination_path(provider: LockrProvider, environ: dict[str, Any]) -> str:
    raw = environ.get("HTTP_DESTINATION")
    if not raw:
        raise DAVError(HTTP_BAD_REQUEST, context_info="Missing required Destination header.")
    hosts = (environ.get("HTTP_HOST", ""), environ.get("HTTP_X_FORWARDED_HOST", ""))
    path = request.destination_path(raw, hosts=hosts, mount=provider.mount_path or "")
    if path is None:
        raise DAVError(HTTP_BAD_GATEWAY, context_info="Destination is on another host.")
    return util.normalize_path(path) if path else "/"


def handle_copy_move(
    provider: LockrProvider,
    environ: dict[str, Any],
    start_response: Any,
    evaluate_if_headers: Callable[[Any, dict[str, Any]], None],
) -> Any:
    """COPY or MOVE. ``evaluate_if_headers(resource, environ)`` is wsgidav's check of
    If, If-Match and the other conditional headers (412 when one fails), applied to
    the source and the destination as wsgidav's own handler does."""
    is_move = environ["REQUEST_METHOD"] == "MOVE"
    source_path = environ["PATH_INFO"]
    source = provider.get_resource_inst(source_path, environ)
    if source is None:
        raise DAVError(HTTP_NOT_FOUND, context_info=source_path)
    overwrite = environ.get("HTTP_OVERWRITE", "T").upper()
    if overwrite not in ("T", "F"):
        raise DAVError(HTTP_BAD_REQUEST, context_info="Invalid Overwrite header.")
    depth = environ.get("HTTP_DEPTH", "infinity")
    if depth not in ("0", "infinity"):
        raise DAVError(HTTP_BAD_REQUEST, context_info="Invalid Depth header.")
    if is_move and source.is_collection and depth != "infinity":
        raise DAVError(HTTP_BAD_REQUEST, context_info="MOVE of a folder needs Depth infinity")
    target_path = destination_path(provider, environ)
    src = _account_path(environ, source_path)
    dst = _account_path(environ, target_path)
    if src == dst:
        raise DAVError(HTTP_FORBIDDEN, context_info="source and destination are the same")
    if (dst + "/").startswith(src + "/"):
        raise DAVError(HTTP_BAD_REQUEST, context_info="cannot copy or move a folder into itself")
    lock_manager = provider.lock_manager
    if lock_manager is not None:
        _check_locks(provider, environ, source, target_path, is_move)
    target = provider.get_resource_inst(target_path, environ)
    evaluate_if_headers(source, environ)
    evaluate_if_headers(target, environ)
    existed = target is not None
    if existed and overwrite == "F":
        raise DAVError(HTTP_PRECONDITION_FAILED, context_info="destination exists")
    account_id = principal_of(environ).account_id
    storage = provider.core.storage
    mtime = parse_mtime(environ)
    try:
        with translated():
            if is_move:
                storage.move(account_id, src, dst, overwrite=True, mtime=mtime)
            elif source.is_collection and depth == "0":
                storage.mkdir(account_id, dst, exist_ok=existed)
            else:
                storage.copy(account_id, src, dst, overwrite=True, mtime=mtime)
    except DAVError as error:
        if error.value == 404:
            raise DAVError(HTTP_CONFLICT, context_info="destination folder missing") from None
        raise
    # Only once the engine has replaced the destination: its properties and locks go.
    if target is not None:
        target.remove_all_properties(recursive=True)
        target.remove_all_locks(recursive=True)
    if is_move:
        source.remove_all_locks(recursive=True)
        if provider.prop_manager is not None:
            provider.prop_manager.move_properties(
                source.get_ref_url(),
                _ref_url(provider, target_path),
                with_children=True,
                environ=environ,
            )
    elif provider.prop_manager is not None:
        provider.prop_manager.copy_properties(
            source.get_ref_url(),
            _ref_url(provider, target_path),
            environ,
            with_children=source.is_collection and depth == "infinity",
        )
    return util.send_status_response(environ, start_response, 204 if existed else 201)


def _ref_url(provider: LockrProvider, path: str) -> str:
    return str(util.quote(provider.share_path + path))


def _check_locks(
    provider: LockrProvider, environ: dict[str, Any], source: Any, target_path: str, is_move: bool
) -> None:
    """Refuse with 423 when a lock the request does not hold covers what changes."""
    lock_manager = provider.lock_manager
    principal = environ.get("wsgidav.auth.user_name", "")
    token_list = _tokens(environ)
    if is_move:
        lock_manager.check_write_permission(
            url=source.get_ref_url(), depth="infinity", token_list=token_list, principal=principal
        )
    lock_manager.check_write_permission(
        url=_ref_url(provider, target_path),
        depth="infinity",
        token_list=token_list,
        principal=principal,
    )


def _tokens(environ: dict[str, Any]) -> list[str]:
    util.parse_if_header_dict(environ)
    return list(environ.get("wsgidav.ifLockTokenList", []))
