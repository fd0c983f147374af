"""``python -m benchmarks``: every benchmark, one table each."""

from __future__ import annotations

from benchmarks import davfloor, engine, rest, webdav


def main() -> None:
    engine.main()
    rest.main()
    webdav.main()
    davfloor.main()


if __name__ == "__main__":
    main()
