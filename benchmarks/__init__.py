"""Measured figures: ``python -m benchmarks [--quick]`` (see benchmarks/common.py for the row format)."""
