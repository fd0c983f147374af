"""``python -m benchmarks``: every benchmark, one table each."""

from __future__ import annotations

from benchmarks import engine


def main() -> None:
    engine.main()


if __name__ == "__main__":
    main()
