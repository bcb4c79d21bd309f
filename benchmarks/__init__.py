"""Speed and memory measurements of tinygrad_mnist against hand-written NumPy and PyTorch eager.

Run ``python benchmarks/run.py`` (``--quick`` for a short version); see docs/performance.md.
"""
