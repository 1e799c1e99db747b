"""Benchmarks (``make bench`` / ``techmatch bench ...``); never part of the test suite."""
