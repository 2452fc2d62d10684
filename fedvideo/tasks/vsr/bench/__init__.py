"""Benchmarks of the vsr task (vsr-step|models|multigrid)."""
