"""Small helpers shared by the tests."""

import numpy as np


def rel_err(a, b):
    """‖a − b‖_F / ‖b‖_F in float64 (``b = 0`` gives the absolute error)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    nb = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / (nb if nb > 0 else 1.0))
