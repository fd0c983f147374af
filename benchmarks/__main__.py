"""``python -m benchmarks``: every benchmark, one table each."""

from __future__ import annotations

from benchmarks import engine, rest


def main() -> None:
    engine.main()
    rest.main()


if __name__ == "__main__":
    main()
