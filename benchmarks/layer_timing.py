"""Timing helpers shared by the benchmark scripts.

The scripts run as ``python benchmarks/NAME.py``, which puts this directory on the
import path, so they import these as ``from layer_timing import ...``.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import numpy as np


def median_ms(step: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``step()`` in ms, after one warm-up call."""
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def ttnet_layer_step(layer, x: np.ndarray) -> Callable[[], object]:
    """Forward + backward of a ttnet layer with an all-ones output gradient."""
    grad = np.ones_like(layer.forward(x))

    def step():
        layer.forward(x)
        return layer.backward(grad)
    return step
