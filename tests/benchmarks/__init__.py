"""`make bench`: benchmarks measured side by side in one run (see docs/benchmarks.md)."""
