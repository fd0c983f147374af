"""The floor under lockr's upload speed: the least a Python server on lockr's stack
(uvicorn, starlette) must do to take an upload the way lockr promises to — receive
the body, compute MD5 and SHA-1, write it to a file and fsync it before answering —
with each of the three on a thread of its own, nothing else (no auth, no database,
no quota, no store). :mod:`benchmarks.rest` runs it as a peer of lockr's uploads, so
the table shows how much of the time is the work itself and how much is lockr's.

    python -m benchmarks.upfloor PORT FOLDER     # serves POST /upload into FOLDER
"""

from __future__ import annotations

import hashlib
import os
import queue
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

BLOCK = 1024 * 1024
DEPTH = 4


class Worker:
    """Runs ``consume`` on its own thread over the blocks it is given."""

    def __init__(self, consume: Callable[[bytes], object]) -> None:
        self.queue: queue.Queue[bytes | None] = queue.Queue(DEPTH)
        self.thread = threading.Thread(target=self._run, args=(consume,), daemon=True)
        self.thread.start()

    def _run(self, consume: Callable[[bytes], object]) -> None:
        while (block := self.queue.get()) is not None:
            consume(block)


def app_for(folder: Path) -> Starlette:
    async def upload(request: Request) -> JSONResponse:
        md5, sha1 = hashlib.md5(), hashlib.sha1()
        path = folder / uuid.uuid4().hex
        with path.open("wb") as file:
            workers = [Worker(md5.update), Worker(sha1.update), Worker(file.write)]
            buffer = bytearray()

            async def hand_over(block: bytes) -> None:
                for worker in workers:
                    await run_in_threadpool(worker.queue.put, block)

            async for chunk in request.stream():
                buffer += chunk
                if len(buffer) >= BLOCK:
                    block, buffer = bytes(buffer), bytearray()
                    await hand_over(block)
            if buffer:
                await hand_over(bytes(buffer))
            for worker in workers:
                worker.queue.put(None)
                await run_in_threadpool(worker.thread.join)
            file.flush()
            await run_in_threadpool(os.fsync, file.fileno())
        return JSONResponse({"md5": md5.hexdigest(), "sha1": sha1.hexdigest()})

    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/upload", upload, methods=["POST"]), Route("/healthz", health)])


if __name__ == "__main__":
    uvicorn.run(
        app_for(Path(sys.argv[2])), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning"
    )
