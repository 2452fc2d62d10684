"""Benchmarks of the ssl task (ssl-step|ctp-probe)."""
