"""Run a block of test code with the TTNET_NUMBA switch set one way."""

import contextlib
import os


@contextlib.contextmanager
def numba_path(enabled: bool):
    """Temporarily set ``TTNET_NUMBA`` to "1" (numba kernels) or "0" (NumPy twins)."""
    old = os.environ.get("TTNET_NUMBA")
    os.environ["TTNET_NUMBA"] = "1" if enabled else "0"
    try:
        yield
    finally:
        if old is None:
            del os.environ["TTNET_NUMBA"]
        else:
            os.environ["TTNET_NUMBA"] = old
