"""Benchmarks: run with ``make bench`` or ``python -m bench [NAME ...]``.

Each benchmark reports ratios against a reference measured in the same run,
because the machines are shared and noisy. Benchmarks are never tests.
"""
