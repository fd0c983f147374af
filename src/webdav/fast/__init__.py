"""The fast path: the requests clients send all the time, answered straight from the
engine, in one worker-thread job each, with the path resolved once.

It takes OPTIONS, PROPFIND of Depth 0 or 1 naming live properties, GET and HEAD
(ranges and HTTP conditions included), PUT, MKCOL, DELETE, and COPY and MOVE, in the
shapes clients send. Anything else, and any request with an ``If`` header or inside a
home that holds a lock or a dead property, goes to wsgidav (:mod:`webdav.reference`),
the reference for the whole protocol; tests pin that both answer the same for what
the fast path takes."""

from __future__ import annotations

from gateway.core import Core
from webdav.fast.copymove import copy_move
from webdav.fast.dispatch import FastPath
from webdav.fast.download import download
from webdav.fast.namespace import delete, mkcol
from webdav.fast.options import options
from webdav.fast.propfind import propfind
from webdav.fast.upload import put


def fast_path(core: Core, mount: str) -> FastPath:
    """The fast path over ``core``, under ``mount``."""
    return FastPath(
        core,
        mount,
        {
            "OPTIONS": options,
            "PROPFIND": propfind,
            "GET": download,
            "HEAD": download,
            "PUT": put,
            "MKCOL": mkcol,
            "DELETE": delete,
            "COPY": copy_move,
            "MOVE": copy_move,
        },
    )
