"""Benchmarks: run with ``make bench``. Each case runs in its own process so its peak
RSS is its own; results are printed as a table with ratios against the peers."""
