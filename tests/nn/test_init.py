"""He and Glorot initialisers: variances, fans, dtypes, reproducibility."""

import numpy as np
import pytest

from ttnet.nn import init


@pytest.mark.parametrize("shape, fans", [((30, 20), (20, 30)), ((8, 4, 3, 3), (36, 72))])
def test_fans(shape, fans):
    assert init.fan_in_and_fan_out(shape) == fans


@pytest.mark.parametrize("name, variance", [
    ("he_normal", lambda fi, fo: 2 / fi), ("he_uniform", lambda fi, fo: 2 / fi),
    ("glorot_normal", lambda fi, fo: 2 / (fi + fo)),
    ("glorot_uniform", lambda fi, fo: 2 / (fi + fo)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_variance_dtype_and_seed(name, variance, dtype):
    shape = (200, 50, 3, 3)
    w = getattr(init, name)(shape, rng=0, dtype=dtype)
    assert w.shape == shape and w.dtype == dtype
    fan_in, fan_out = init.fan_in_and_fan_out(shape)
    assert abs(w.var() / variance(fan_in, fan_out) - 1) < 0.02
    assert abs(w.mean()) < 0.01 * w.std()
    np.testing.assert_array_equal(w, getattr(init, name)(shape, rng=0, dtype=dtype))
    if "uniform" in name:
        assert np.abs(w).max() <= np.sqrt(3 * variance(fan_in, fan_out))


@pytest.mark.parametrize("call, error, words", [
    (lambda: init.he_normal((5,)), ValueError, "at least 2 entries"),
    (lambda: init.he_normal((5, 0)), ValueError, r"shape\[1\] must be >= 1"),
    (lambda: init.glorot_uniform((3, 3), dtype=np.int64), TypeError, "dtype must be"),
    (lambda: init.he_uniform((3, 3), rng="x"), TypeError, "rng must be"),
])
def test_bad_input_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_tt_normal_std_is_the_std_tt_normal_cores_draws():
    shapes = [(1, 4, 3, 2), (2, 5, 6, 7), (7, 3, 2, 1)]           # R = 2 · 7, three cores
    std = init.tt_normal_std(shapes, 0.5)
    assert std == pytest.approx((0.5 / 14) ** (1 / 6), rel=1e-15)
    cores = init.tt_normal_cores(shapes, 0.5, rng=3, dtype=np.float64)
    draws = np.random.default_rng(3)
    for core, shape in zip(cores, shapes):
        np.testing.assert_allclose(core, std * draws.standard_normal(shape), rtol=1e-15)
