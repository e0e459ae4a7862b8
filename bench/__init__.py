"""Benchmark scripts; each prints its figures. Run them all with ``make bench``."""
