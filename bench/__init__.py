"""Benchmarks: run each module as a script from the project root (see bench/README.md)."""
