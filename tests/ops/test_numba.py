"""The TTNET_NUMBA switch and the kernel decorator."""

import numpy as np
import pytest

from ttnet.ops import _numba
from ttnet.ops._numba import choose, numba_enabled, numba_kernel, prange

from .numba_switch import numba_path


def test_switch_is_read_at_call_time(monkeypatch):
    monkeypatch.delenv("TTNET_NUMBA", raising=False)
    assert numba_enabled() == _numba.numba_available()
    monkeypatch.setenv("TTNET_NUMBA", "0")
    assert not numba_enabled()
    monkeypatch.setenv("TTNET_NUMBA", "1")
    assert numba_enabled() == _numba.numba_available()


def _twin(x, out):
    out[...] = 2 * x


@numba_kernel
def _kernel(x, out):
    for k in prange(x.shape[0]):
        out[k] = x.dtype.type(2) * x[k]


@numba_kernel(parallel=False)
def _serial_kernel(x, out):
    for k in range(x.shape[0]):
        out[k] = x.dtype.type(2) * x[k]


@pytest.mark.parametrize("enabled", [True, False])
def test_choose_follows_switch(enabled):
    with numba_path(enabled):
        chosen = choose(_kernel, _twin)
    if enabled and _numba.numba_available():
        assert chosen is _kernel
    else:
        assert chosen.__wrapped__ is _twin


def _sum_with_reverse_twin(x, out):
    out[...] = x + x[::-1]


@numba_kernel
def _sum_with_reverse_kernel(x, out):
    n = x.shape[0]
    for k in prange(n):
        out[k] = x[k] + x[n - 1 - k]


@pytest.mark.parametrize("enabled", [True, False])
def test_neither_path_warns_about_nan_or_overflow(enabled):
    x = np.array([np.inf, 3e38, 3e38, -np.inf], dtype=np.float32)    # inf - inf, and overflow
    out = np.empty_like(x)
    with numba_path(enabled), np.errstate(all="raise"):
        choose(_sum_with_reverse_kernel, _sum_with_reverse_twin)(x, out)
    np.testing.assert_array_equal(out, [np.nan, np.inf, np.inf, np.nan])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel", [_kernel, _serial_kernel])
def test_kernel_matches_twin_and_keeps_dtype(kernel, dtype):
    x = np.arange(5, dtype=dtype)
    fast, slow = np.empty_like(x), np.empty_like(x)
    kernel(x, fast)
    _twin(x, slow)
    assert fast.dtype == dtype
    np.testing.assert_array_equal(fast, slow)
