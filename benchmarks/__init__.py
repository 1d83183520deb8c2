"""Benchmarks: figures printed, nothing asserted; kept apart from the product package."""
