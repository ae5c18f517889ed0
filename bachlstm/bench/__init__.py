"""Benchmarks: scripts that measure and print figures (speed ratios measured side by side in one run)."""
