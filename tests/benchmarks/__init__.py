"""Tests of the benchmark suite (benchmarks/): equal outputs, counts, reports."""
