"""Batch-norm passes: the numba kernels equal their NumPy twins, in both modes and dtypes."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ttnet.ops.batchnorm import batchnorm_gradients, batchnorm_normalize

from .numba_switch import numba_path


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(shape=st.sampled_from([(4, 3, 5, 6), (2, 1, 3, 3), (8, 5), (3, 2, 1, 7)]),
       training=st.booleans(), seed=st.integers(0, 1000))
def test_kernels_equal_numpy_twins(dtype, shape, training, seed):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x = (3 + 2 * rng.standard_normal(shape)).astype(dtype)
    gamma, beta = rng.standard_normal(C).astype(dtype), rng.standard_normal(C).astype(dtype)
    mean, var = rng.standard_normal(C).astype(dtype), rng.random(C).astype(dtype) + 0.5
    dout = rng.standard_normal(shape).astype(dtype)
    results = {}
    for numba in (True, False):
        with numba_path(numba):
            forward = batchnorm_normalize(x, gamma, beta, 1e-3, training, mean, var)
            backward = batchnorm_gradients(dout, forward[1], gamma, forward[4], training)
        results[numba] = forward + backward
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for fast, slow in zip(results[True], results[False]):
        assert fast.dtype == slow.dtype == dtype and fast.shape == slow.shape
        np.testing.assert_allclose(fast, slow, rtol=tol, atol=tol)


def test_float32_statistics_are_accurate_for_large_channels():
    # 2e5 values per channel with a large offset: a float32 running sum would drift
    rng = np.random.default_rng(0)
    x = (1000 + rng.standard_normal((200, 2, 32, 32))).astype(np.float32)
    with numba_path(True):
        _, _, mean, var, _ = batchnorm_normalize(x, np.ones(2, np.float32),
                                                 np.zeros(2, np.float32), 1e-5, True)
    exact = x.astype(np.float64)
    np.testing.assert_allclose(mean, exact.mean(axis=(0, 2, 3)), rtol=1e-6)
    np.testing.assert_allclose(var, exact.var(axis=(0, 2, 3)), rtol=1e-4)


def test_nan_propagates():
    x = np.ones((2, 2, 2, 2))
    x[0, 1, 0, 0] = np.nan
    with numba_path(True):
        out = batchnorm_normalize(x, np.ones(2), np.zeros(2), 1e-5, True)[0]
    assert np.isnan(out[:, 1]).all() and np.isfinite(out[:, 0]).all()


@pytest.mark.parametrize("shape", [(4, 3, 2, 5), (6, 3), (4, 3, 10)])   # NCHW, (B, C), kernels'
@pytest.mark.parametrize("training", [True, False])
def test_numpy_twins_are_the_textbook_formulas(training, shape):
    """batchnorm_normalize_numpy / batchnorm_gradients_numpy against the formula in float64,
    for every layout they are given: NCHW, BatchNorm1d's (B, C) and the kernels' (B, C, L)."""
    from ttnet.ops.batchnorm import batchnorm_gradients_numpy, batchnorm_normalize_numpy
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape) * 2 + 1
    axes, c = (0,) + tuple(range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    mean_in, var_in = rng.standard_normal(3), rng.random(3) + 0.5
    out, x_hat, mean, var, inv_std = batchnorm_normalize_numpy(x, gamma, beta, 1e-5, training,
                                                               mean_in, var_in)
    mu = x.mean(axis=axes) if training else mean_in
    sigma2 = x.var(axis=axes) if training else var_in
    ref_hat = (x - mu.reshape(c)) / np.sqrt(sigma2.reshape(c) + 1e-5)
    np.testing.assert_allclose(x_hat, ref_hat, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, gamma.reshape(c) * ref_hat + beta.reshape(c), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(var, sigma2, rtol=1e-12)
    dy = rng.standard_normal(x.shape)
    dx, dgamma, dbeta = batchnorm_gradients_numpy(dy, x_hat, gamma, inv_std, training)
    np.testing.assert_allclose(dbeta, dy.sum(axis=axes), rtol=1e-12)
    np.testing.assert_allclose(dgamma, (dy * ref_hat).sum(axis=axes), rtol=1e-12)
    m = x.size // 3
    s = (gamma / np.sqrt(sigma2 + 1e-5)).reshape(c)
    ref_dx = s * (dy - dbeta.reshape(c) / m - ref_hat * dgamma.reshape(c) / m) if training \
        else s * dy
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-10, atol=1e-12)
