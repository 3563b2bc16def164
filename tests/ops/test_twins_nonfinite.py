"""Every numba kernel agrees with its NumPy twin when the inputs hold NaN, +inf or -inf.

Each case runs one kernel pair, forward or backward, on inputs in which some entries are
replaced by non-finite values, through the numba kernel and through its NumPy twin, and
requires the same dtype and shape, NaN in exactly the same places, the same infinities in the
same places, and the same finite values. "The same" is bit for bit where the two compute the
same operations in the same order (max pooling, im2col, col2im, batch norm in evaluation
mode, Winograd's transforms); where a sum is accumulated in another order (batch-norm statistics and gradient sums,
the TT contraction's matrix products) the finite values agree to a few units of roundoff.

The semantics behind these cases are spelled out in ``ttnet.ops.pool`` (one argmax per window,
the gradient goes only there) and ``ttnet.ops.batchnorm`` (float64 sums, element-wise work in
the input dtype, NaN dx where x̂ is not finite).
"""

import numpy as np
import pytest

from ttnet.ops import _numba
from ttnet.ops.batchnorm import batchnorm_gradients, batchnorm_normalize
from ttnet.ops.contract import tt_step_backward_numpy, tt_step_forward_numpy
from ttnet.ops.contract_loops import tt_step_backward_numba, tt_step_forward_numba
from ttnet.ops.im2col import _im2col_kernel, _im2col_numpy, col2im, im2col
from ttnet.ops.pool import max_pool2d, max_pool2d_backward
from ttnet.ops.spatial_step import spatial_step_backward, spatial_step_forward
from ttnet.ops.winograd import (winograd_conv3x3_backward, winograd_conv3x3_forward,
                                winograd_stacks)

from .numba_switch import numba_path

pytestmark = pytest.mark.skipif(not _numba.numba_available(),
                                reason="compares numba kernels with their twins")

SPECIALS = {"nan": [np.nan], "+inf": [np.inf], "-inf": [-np.inf],
            "mixed": [np.nan, np.inf, -np.inf]}


def sprinkle(rng, arr, special, fraction):
    """A copy of ``arr`` with about ``fraction`` of its entries (at least one) set to specials."""
    out = arr.copy()
    flat = out.reshape(-1)
    n = max(1, int(round(fraction * flat.size)))
    where = rng.choice(flat.size, size=n, replace=False)
    flat[where] = rng.choice(SPECIALS[special], size=n)
    return out


def normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------- the cases
# Each case: (rng, dtype, special, fraction) -> (run, exact), where run(numba: bool) returns a
# tuple of arrays computed by the kernels (numba=True) or by the twins (numba=False).

def _switched(compute):
    def run(numba):
        with numba_path(numba):
            return compute()
    return run


def case_max_pool_forward(rng, dtype, special, fraction):
    x = sprinkle(rng, normal(rng, (2, 3, 7, 6), dtype), special, fraction)
    return _switched(lambda: max_pool2d(x, 3, 2, 1)), True


def case_max_pool_backward(rng, dtype, special, fraction):
    # overlapping 3x3 windows with stride 2, so one input can receive several gradients
    x = sprinkle(rng, normal(rng, (2, 3, 7, 6), dtype), special, fraction)
    _, argmax = max_pool2d(x, 3, 2, 1)
    dout = sprinkle(rng, normal(rng, argmax.shape, dtype), special, fraction)
    return _switched(lambda: (max_pool2d_backward(dout, argmax, x.shape, 3, 2, 1),)), True


def _bn_inputs(rng, dtype, special, fraction, shape=(4, 3, 5, 2)):
    C = shape[1]
    x = sprinkle(rng, 2 + normal(rng, shape, dtype), special, fraction)
    gamma = sprinkle(rng, normal(rng, C, dtype), special, 0.0) if special == "mixed" \
        else normal(rng, C, dtype)
    beta = normal(rng, C, dtype)
    mean = normal(rng, C, dtype)
    var = (rng.random(C) + 0.5).astype(dtype)
    if special in ("nan", "+inf", "mixed"):          # a variance may be NaN or +inf, not -inf
        var[rng.integers(C)] = np.nan if special == "nan" else np.inf
    return x, gamma, beta, mean, var


@pytest.fixture(params=[True, False], ids=["training", "evaluation"])
def training(request):
    return request.param


def case_batchnorm_forward(rng, dtype, special, fraction, training):
    x, gamma, beta, mean, var = _bn_inputs(rng, dtype, special, fraction)
    compute = lambda: batchnorm_normalize(x, gamma, beta, 1e-3, training, mean, var)  # noqa: E731
    # evaluation: the statistics are given, everything is element-wise -> bit for bit
    return _switched(compute), not training


def case_batchnorm_backward(rng, dtype, special, fraction, training):
    x, gamma, beta, mean, var = _bn_inputs(rng, dtype, special, fraction)
    with numba_path(False):
        _, x_hat, _, _, inv_std = batchnorm_normalize(x, gamma, beta, 1e-3, training, mean, var)
    dout = sprinkle(rng, normal(rng, x.shape, dtype), special, fraction)

    def run(numba):
        with numba_path(numba):
            dx, dgamma, dbeta = batchnorm_gradients(dout, x_hat, gamma, inv_std, training)
        # dx in evaluation mode uses no sums: bit for bit; the sums are compared with a tolerance
        return (dx,) if not training else (dx, dgamma, dbeta)
    return run, not training


def case_batchnorm_backward_sums(rng, dtype, special, fraction, training):
    x, gamma, beta, mean, var = _bn_inputs(rng, dtype, special, fraction)
    with numba_path(False):
        _, x_hat, _, _, inv_std = batchnorm_normalize(x, gamma, beta, 1e-3, training, mean, var)
    dout = sprinkle(rng, normal(rng, x.shape, dtype), special, fraction)

    def run(numba):
        with numba_path(numba):
            return batchnorm_gradients(dout, x_hat, gamma, inv_std, training)[1:]
    return run, False


def case_im2col(rng, dtype, special, fraction):
    x = sprinkle(rng, normal(rng, (2, 3, 6, 7), dtype), special, fraction)
    shape = im2col(x, 3, 2, 1).shape

    def run(numba):      # im2col only dispatches to its kernel for wide rows: call both directly
        cols = np.empty(shape, dtype)
        (_im2col_kernel if numba else _im2col_numpy)(x, 3, 3, 2, 2, 1, 1, cols)
        return (cols,)
    return run, True


def case_col2im(rng, dtype, special, fraction):
    x_shape = (2, 3, 6, 7)
    cols_shape = im2col(np.zeros(x_shape, dtype), 3, 1, 1).shape
    cols = sprinkle(rng, normal(rng, cols_shape, dtype), special, fraction)
    return _switched(lambda: (col2im(cols, x_shape, 3, 1, 1),)), True


def _quiet(function):
    """Run a NumPy twin of ttnet.ops.contract without floating-point warnings.

    The contraction pairs are not dispatched by :func:`ttnet.ops._numba.choose` (the layers
    always take the BLAS path), so nothing silences NumPy's warnings for them.
    """
    def run(*args):
        with np.errstate(all="ignore"):
            return function(*args)
    return run


def case_tt_step_forward(rng, dtype, special, fraction):
    T = sprinkle(rng, normal(rng, (5, 2, 3, 4), dtype), special, fraction)
    G = sprinkle(rng, normal(rng, (2, 3, 3, 2), dtype), special, fraction / 2)
    forward = {True: tt_step_forward_numba, False: _quiet(tt_step_forward_numpy)}
    return (lambda numba: (forward[numba](T, G),)), False


def case_tt_step_backward(rng, dtype, special, fraction):
    T = sprinkle(rng, normal(rng, (5, 2, 3, 4), dtype), special, fraction)
    G = sprinkle(rng, normal(rng, (2, 3, 3, 2), dtype), special, fraction / 2)
    dout = sprinkle(rng, normal(rng, (5, 3, 2, 4), dtype), special, fraction)
    backward = {True: tt_step_backward_numba, False: _quiet(tt_step_backward_numpy)}
    return (lambda numba: backward[numba](dout, T, G)), False


def spatial_step_case(rng, dtype, special, fraction, stride, *, forward, special_g0=True,
                      special_data=True):
    """The spatial step (3x3, padding 1) forward or backward, specials in g0 and/or the data."""
    def data(arr):
        return sprinkle(rng, arr, special, fraction) if special_data else arr
    x = data(normal(rng, (2, 3, 6, 7), dtype))
    g0 = normal(rng, (3, 3, 2), dtype)
    g0 = sprinkle(rng, g0, special, fraction / 2) if special_g0 else g0
    if forward:
        return _switched(lambda: (spatial_step_forward(x, g0, stride, 1),)), False
    dz0 = data(normal(rng, (2, 3, 2) + ((3, 4) if stride == 2 else (6, 7)), dtype))
    return _switched(lambda: spatial_step_backward(dz0, x, g0, stride, 1)), False


def case_spatial_step_forward(rng, dtype, special, fraction):
    return spatial_step_case(rng, dtype, special, fraction, 2, forward=True)


def case_spatial_step_backward(rng, dtype, special, fraction):
    return spatial_step_case(rng, dtype, special, fraction, 2, forward=False)


# A 3x3 filter at unit stride takes the kernels' fast path (nine-term sums); its backward pass
# takes it only for a finite g0 (a NaN tap times the zero border would be NaN where the twin's
# col2im adds nothing), so the backward pass is run with a finite g0 (the fast path) and with a
# sprinkled one (the general path).
def case_spatial_step_forward_3x3(rng, dtype, special, fraction):
    return spatial_step_case(rng, dtype, special, fraction, 1, forward=True)


def case_spatial_step_backward_3x3(rng, dtype, special, fraction):
    return spatial_step_case(rng, dtype, special, fraction, 1, forward=False, special_g0=False)


def case_spatial_step_backward_3x3_non_finite_g0(rng, dtype, special, fraction):
    return spatial_step_case(rng, dtype, special, fraction, 1, forward=False, special_data=False)


# The Winograd cases run the whole convolution: its matrix products (the same on both paths)
# warn about inf·0 and inf − inf as any NumPy product does, so they run with warnings off.
def case_winograd_forward(rng, dtype, special, fraction):
    x = sprinkle(rng, normal(rng, (2, 3, 7, 6), dtype), special, fraction)
    w = sprinkle(rng, normal(rng, (4, 3, 3, 3), dtype), special, fraction / 4)

    def compute():
        with np.errstate(invalid="ignore", over="ignore"):
            return (winograd_conv3x3_forward(x, w, 1),) + winograd_stacks(x, w, 1)
    return _switched(compute), True


def case_winograd_backward(rng, dtype, special, fraction):
    x = sprinkle(rng, normal(rng, (2, 3, 7, 6), dtype), special, fraction)
    w = sprinkle(rng, normal(rng, (4, 3, 3, 3), dtype), special, fraction / 4)
    dy = sprinkle(rng, normal(rng, (2, 4, 7, 6), dtype), special, fraction)

    def compute():
        with np.errstate(invalid="ignore", over="ignore"):
            return winograd_conv3x3_backward(dy, x, w, 1)
    return _switched(compute), True


CASES = [case_max_pool_forward, case_max_pool_backward, case_im2col, case_col2im,
         case_tt_step_forward, case_tt_step_backward, case_spatial_step_forward,
         case_spatial_step_backward, case_spatial_step_forward_3x3, case_spatial_step_backward_3x3,
         case_spatial_step_backward_3x3_non_finite_g0, case_winograd_forward, case_winograd_backward]
BN_CASES = [case_batchnorm_forward, case_batchnorm_backward, case_batchnorm_backward_sums]


def assert_same(fast, slow, exact, label):
    assert fast.dtype == slow.dtype and fast.shape == slow.shape, label
    nan = np.isnan(slow)
    np.testing.assert_array_equal(np.isnan(fast), nan, err_msg=f"{label}: NaN positions differ")
    for sign in (1, -1):
        np.testing.assert_array_equal(fast == sign * np.inf, slow == sign * np.inf,
                                      err_msg=f"{label}: {sign:+d}inf positions differ")
    finite = np.isfinite(slow)
    if exact:
        np.testing.assert_array_equal(fast[finite], slow[finite], err_msg=label)
    else:
        tol = 1e-4 if slow.dtype == np.float32 else 1e-11
        scale = np.abs(slow[finite]).max(initial=1.0)
        np.testing.assert_allclose(fast[finite], slow[finite], rtol=tol, atol=tol * scale,
                                   err_msg=label)


def check_case(make, dtype, special, *extra):
    for seed in range(4):
        for fraction in (0.0, 0.05, 0.3):        # 0.0 still places one special value
            rng = np.random.default_rng([seed, int(fraction * 100)])
            run, exact = make(rng, dtype, special, fraction, *extra)
            fast, slow = run(True), run(False)
            assert len(fast) == len(slow)
            for k, (a, b) in enumerate(zip(fast, slow)):
                assert_same(np.asarray(a), np.asarray(b), exact,
                            f"{make.__name__} output {k}, seed {seed}, fraction {fraction}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("special", list(SPECIALS))
@pytest.mark.parametrize("make", CASES, ids=lambda f: f.__name__[5:])
def test_kernel_equals_twin_with_non_finite_inputs(make, special, dtype):
    check_case(make, dtype, special)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("special", list(SPECIALS))
@pytest.mark.parametrize("make", BN_CASES, ids=lambda f: f.__name__[5:])
def test_batchnorm_kernel_equals_twin_with_non_finite_inputs(make, special, dtype, training):
    check_case(make, dtype, special, training)


# ---------------------------------------------------------------- the semantics, by hand
@pytest.mark.parametrize("numba", [True, False])
def test_max_pool_backward_sends_a_nan_gradient_to_the_argmax_only(numba):
    x = np.array([[[[1.0, 2.0, 0.0, 0.0],
                    [3.0, 0.5, 0.0, 9.0],
                    [0.0, 0.0, 0.0, 0.0],
                    [0.0, 0.0, 4.0, 0.0]]]])
    dout = np.array([[[[np.nan, 1.0], [np.inf, -2.0]]]])
    with numba_path(numba):
        out, argmax = max_pool2d(x, 2)
        dx = max_pool2d_backward(dout, argmax, x.shape, 2)
    expected = np.zeros_like(x)
    expected[0, 0, 1, 0] = np.nan               # window (0, 0): max 3.0 at (1, 0)
    expected[0, 0, 1, 3] = 1.0                  # window (0, 1): max 9.0 at (1, 3)
    expected[0, 0, 2, 0] = np.inf               # window (1, 0): all zero, first position
    expected[0, 0, 3, 2] = -2.0                 # window (1, 1): max 4.0 at (3, 2)
    np.testing.assert_array_equal(dx, expected)


@pytest.mark.parametrize("numba", [True, False])
def test_max_pool_backward_nan_where_overlapping_windows_meet(numba):
    # both 2x2 windows (stride 1) pick the 5.0 in the middle column; +inf and -inf meet there
    x = np.array([[[[0.0, 5.0, 0.0]]]]).repeat(2, axis=2)
    with numba_path(numba):
        out, argmax = max_pool2d(x, 2, stride=1)
        dx = max_pool2d_backward(np.array([[[[np.inf, -np.inf]]]]), argmax, x.shape, 2, 1)
    assert np.isnan(dx[0, 0, 0, 1]) and np.count_nonzero(dx) == 1


@pytest.mark.parametrize("numba", [True, False])
def test_batchnorm_evaluation_with_nan_input(numba):
    """Evaluation: a NaN or ±inf in x gives NaN/inf there in y and NaN in dx, nowhere else."""
    x = np.ones((2, 2, 2, 2))
    x[0, 1, 0, 0], x[1, 0, 1, 1] = np.nan, np.inf
    gamma, beta = np.array([2.0, 3.0]), np.array([0.5, -0.5])
    mean, var = np.array([0.25, 0.5]), np.array([4.0, 1.0])
    with numba_path(numba):
        out, x_hat, _, _, inv_std = batchnorm_normalize(x, gamma, beta, 1e-5, False, mean, var)
        dx, dgamma, dbeta = batchnorm_gradients(np.ones_like(x), x_hat, gamma, inv_std, False)
    bad = ~np.isfinite(x)
    assert np.isnan(out[0, 1, 0, 0]) and out[1, 0, 1, 1] == np.inf
    c = (slice(None), None, None)                 # (C,) -> (C, 1, 1), broadcast over (B, C, H, W)
    reference = gamma[c] * (x - mean[c]) / np.sqrt(var[c] + 1e-5) + beta[c]
    np.testing.assert_allclose(out[~bad], reference[~bad])
    assert np.isnan(dx[bad]).all()
    np.testing.assert_allclose(dx[~bad], np.broadcast_to(gamma[c] / np.sqrt(var[c] + 1e-5),
                                                         x.shape)[~bad])
    assert np.isnan(dgamma[1]) and dgamma[0] == np.inf        # Σ dy·x̂ sees the NaN / inf
    np.testing.assert_array_equal(dbeta, [8.0, 8.0])


@pytest.mark.parametrize("numba", [True, False])
def test_batchnorm_training_nan_poisons_only_its_channel(numba):
    x = np.random.default_rng(0).standard_normal((3, 2, 2, 2))
    x[1, 1, 0, 1] = np.nan
    with numba_path(numba):
        out, x_hat, mean, var, inv_std = batchnorm_normalize(x, np.ones(2), np.zeros(2), 1e-5,
                                                             True)
        dx, dgamma, dbeta = batchnorm_gradients(np.ones_like(x), x_hat, np.ones(2), inv_std,
                                                True)
    for arr in (out, dx):
        assert np.isnan(arr[:, 1]).all() and np.isfinite(arr[:, 0]).all()
    assert np.isnan([mean[1], var[1], dgamma[1]]).all()
    assert np.isfinite([mean[0], var[0], dgamma[0], dbeta[0]]).all()


def test_float32_statistics_do_not_overflow_in_either_path():
    # 1e37 fits in float32, a float32 sum of 40 of them does not: both paths sum in float64
    x = np.full((4, 1, 5, 2), 1e37, dtype=np.float32)
    x[0, 0, 0, 0] = 0
    results = []
    for numba in (True, False):
        with numba_path(numba):
            results.append(batchnorm_normalize(x, np.ones(1, np.float32),
                                               np.zeros(1, np.float32), 1e-5, True))
    for fast, slow in zip(*results):
        np.testing.assert_array_equal(fast, slow)
    mean = results[1][2]
    np.testing.assert_allclose(mean, [39e37 / 40], rtol=1e-6)
