"""Benchmarks: ``python -m fedvideo.bench <name>`` prints one JSON line per result.

Performance targets live here, never in timed unit tests.
"""
