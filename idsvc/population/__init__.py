"""Synthetic population: realistic, deterministic Vietnamese citizens for demos, tests and benchmarks."""
