"""Helper process for test_recovery: writes files forever, printing each acknowledged
one, until it is killed."""

from __future__ import annotations

import os
import sys

from gateway.config import load_config
from gateway.core import build_core


def main() -> None:
    data, mode = sys.argv[1], sys.argv[2]
    config = load_config(env={}, flags={"data": data, "default_quota": "1GiB"})
    core = build_core(config)
    core.start()
    account = core.accounts.find("alice").id
    block = os.urandom(256 * 1024)
    index = 0
    while True:
        index += 1
        name = f"file-{os.getpid()}-{index}"
        size = 5 * 1024 * 1024 if mode == "large" else (index % 7) * 100_000 + 1
        with core.storage.upload(account, name, max_size=1 << 40) as upload:
            written = 0
            while written < size:
                chunk = block[: min(len(block), size - written)]
                upload.write(chunk)
                written += len(chunk)
                if mode == "large" and written >= 3 * 1024 * 1024:
                    print(f"mid {name}", flush=True)
            entry = upload.commit()
        print(f"ack {name} {entry.size} {entry.md5}", flush=True)


if __name__ == "__main__":
    main()
