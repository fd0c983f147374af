"""``python -m benchmarks``: every benchmark, one table each."""

from __future__ import annotations

from benchmarks import davfloor, engine, namespace, rest, s3, s3front, trees, webdav


def main() -> None:
    engine.main()
    trees.main()
    namespace.main()
    rest.main()
    s3.main()
    s3front.main()
    webdav.main()
    davfloor.main()


if __name__ == "__main__":
    main()
