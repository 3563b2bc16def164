"""One array: the integer grid, the scale rules, fake-quantization and the STE."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ttnet.gradcheck import check_function
from ttnet.quant import (MSE_GRID, check_bits, choose_qparams, clip_surrogate, dequantize,
                         fake_quantize, fake_quantize_backward, fake_quantize_forward,
                         quantization_error, quantize)


@pytest.mark.parametrize("bits", [1, 9, 0, -3, 16])
def test_bits_out_of_range_is_refused_naming_bits(bits):
    with pytest.raises(ValueError, match=r"bits must be an integer from 2 to 8, got"):
        check_bits(bits)
    with pytest.raises(ValueError, match="bits"):
        fake_quantize(np.ones(3), bits)


@pytest.mark.parametrize("bits", [2.0, "4", True, None])
def test_bits_of_wrong_type_is_refused(bits):
    with pytest.raises(TypeError, match="bits must be an integer"):
        check_bits(bits)


def test_bad_method_and_axis_are_refused():
    w = np.ones((2, 3))
    with pytest.raises(ValueError, match="method"):
        choose_qparams(w, 4, method="minmax")
    with pytest.raises(ValueError, match="axis"):
        choose_qparams(w, 4, axis=2)
    with pytest.raises(ValueError, match="w must not be empty"):
        choose_qparams(np.zeros((0, 3)), 4)
    with pytest.raises(TypeError, match="qparams"):
        quantize(w, 0.1)


@given(bits=st.integers(2, 8), symmetric=st.booleans(), seed=st.integers(0, 2**16))
def test_integers_stay_on_the_grid_and_max_rule_never_clips(bits, symmetric, seed):
    r = np.random.default_rng(seed)
    w = r.standard_normal((5, 7)) * r.uniform(0.01, 10)
    qp = choose_qparams(w, bits, symmetric=symmetric)
    q = quantize(w, qp)
    assert q.dtype == (np.int8 if symmetric else np.uint8)
    assert q.min() >= qp.qmin and q.max() <= qp.qmax
    if symmetric:
        assert qp.qmax == 2 ** (bits - 1) - 1 and qp.qmin == -qp.qmax
    else:
        assert (qp.qmin, qp.qmax) == (0, 2 ** bits - 1)
    w_hat = fake_quantize(w, bits, symmetric=symmetric)
    np.testing.assert_array_equal(w_hat, dequantize(q, qp, np.float64))
    # the max rule covers every value: the error is at most half a step everywhere (with an
    # asymmetric grid the rounded zero point may cut an end by less than half a step)
    s = float(qp.scale)
    assert np.abs(w - w_hat).max() <= 0.5 * s * (1 + 1e-6)
    lo, hi = qp.clip_range
    slack = 1e-6 * np.abs(w).max() + (0 if symmetric else 0.5 * s)   # scales are float32
    assert lo <= w.min() + slack and w.max() <= hi + slack
    assert len(np.unique(w_hat)) <= qp.qmax - qp.qmin + 1


def test_symmetric_max_rule_formula_and_two_bit_ternary():
    w = np.array([-0.5, 0.1, 0.26, 1.2])
    qp = choose_qparams(w, 8)
    assert float(qp.scale) == pytest.approx(1.2 / 127)
    np.testing.assert_array_equal(quantize(w, qp), np.rint(w / (1.2 / 127)).astype(np.int8))
    ternary = fake_quantize(w, 2)            # Q = 1, s = max|w|: values in {-1.2, 0, 1.2}
    np.testing.assert_allclose(ternary, [0.0, 0.0, 0.0, 1.2])


def test_asymmetric_represents_zero_exactly_and_uses_the_formula():
    w = np.array([0.3, 0.7, 1.9, 2.5])            # all positive: the range is widened to [0, 2.5]
    qp = choose_qparams(w, 4, symmetric=False)
    assert float(qp.scale) == pytest.approx(2.5 / 15)
    assert int(qp.zero_point) == 0
    w2 = np.array([-1.0, 0.0, 0.4, 3.0])
    qp2 = choose_qparams(w2, 3, symmetric=False)
    s = 4.0 / 7
    assert float(qp2.scale) == pytest.approx(s)
    assert int(qp2.zero_point) == round(1.0 / s)
    assert fake_quantize(w2, 3, symmetric=False)[1] == 0.0


def test_per_slice_scales_follow_each_slice(rng):
    w = rng.standard_normal((4, 3, 2)) * np.array([0.01, 1, 10, 100])[:, None, None]
    qp = choose_qparams(w, 6, axis=0)
    assert qp.scale.shape == (4, 1, 1) and qp.n_scales == 4
    np.testing.assert_allclose(qp.scale.ravel(), np.abs(w).max(axis=(1, 2)) / 31, rtol=1e-6)
    # one scale per slice quantizes the small slices far better than one per tensor
    assert quantization_error(w[0], 6, axis=None) < 0.05
    per_tensor = fake_quantize(w, 6)
    per_slice = fake_quantize(w, 6, axis=0)
    assert np.abs(per_slice[0] - w[0]).max() < np.abs(per_tensor[0] - w[0]).max()


def test_zero_array_is_quantized_exactly():
    for symmetric in (True, False):
        qp = choose_qparams(np.zeros(5), 4, symmetric=symmetric)
        assert float(qp.scale) == 1.0
        np.testing.assert_array_equal(fake_quantize(np.zeros(5), 4, symmetric=symmetric), 0)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_mse_rule_is_never_worse_than_max_and_better_at_low_bits(rng, bits, symmetric):
    w = rng.standard_normal(2000)
    kw = dict(symmetric=symmetric)
    e_max = np.sum((w - fake_quantize(w, bits, method="max", **kw)) ** 2)
    e_mse = np.sum((w - fake_quantize(w, bits, method="mse", **kw)) ** 2)
    assert e_mse <= e_max
    if bits <= 3:
        assert e_mse < 0.9 * e_max           # Gaussian tails: clipping pays at 2-3 bits
    # the chosen scale is the best of the grid: a brute-force search over t agrees
    # (the max rule on t·w gives the grid for the range shrunk by t)
    errors = []
    for t in MSE_GRID:
        qp_t = choose_qparams(w * t, bits, **kw)
        errors.append(np.sum((w - dequantize(quantize(w, qp_t), qp_t, np.float64)) ** 2))
    assert e_mse == pytest.approx(min(errors), rel=1e-9)


def test_fake_quantize_keeps_dtype_and_shape():
    w = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    out, cache = fake_quantize_forward(w, 4, axis=0)
    assert out.dtype == np.float32 and out.shape == (3, 4)
    with pytest.raises(ValueError, match="dout must have the shape"):
        fake_quantize_backward(np.ones(3), cache)


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("axis", [None, 0])
def test_ste_is_the_exact_gradient_of_the_clip_surrogate(rng, symmetric, axis):
    """Gradient check of the STE backward: the derivative of clip(w, lo, hi) with s, z fixed.

    The MSE rule clips some entries, so both branches (inside: 1, outside: 0)
    are exercised; entries within 1e-4 of a clipping edge are moved off it.
    """
    w = rng.standard_normal((6, 40))
    for _ in range(10):
        qp = choose_qparams(w, 3, symmetric=symmetric, axis=axis, method="mse")
        lo, hi = qp.clip_range
        near = (np.abs(w - lo) < 1e-4) | (np.abs(w - hi) < 1e-4)
        if not near.any():
            break
        w = np.where(near, w * 0.9, w)
    assert not near.any()
    _, cache = clip_surrogate(w, qp)
    assert cache["mask"].any() and not cache["mask"].all()
    result = check_function(lambda v: clip_surrogate(v, qp), {"w": w}, fake_quantize_backward)
    assert result.passed(1e-7), result
    # and the STE of fake_quantize_forward is that same mask
    _, fq_cache = fake_quantize_forward(w, 3, symmetric=symmetric, axis=axis, method="mse")
    g = rng.standard_normal(w.shape)
    np.testing.assert_array_equal(fake_quantize_backward(g, fq_cache),
                                  np.where(cache["mask"], g, 0))


def test_true_derivative_of_fake_quantize_is_zero_away_from_the_steps(rng):
    """Why the STE: away from rounding steps the staircase is flat (finite differences give 0)."""
    w = rng.standard_normal(50)
    qp = choose_qparams(w, 4)
    s = float(qp.scale)
    frac = np.abs(w / s - np.floor(w / s) - 0.5)       # distance to a step, in steps
    w = w[frac > 1e-3]
    h = 1e-7
    big = np.argmax(np.abs(w))              # moving the largest |w| would move the scale
    for i in range(len(w)):
        if i == big:
            continue
        up, down = w.copy(), w.copy()
        up[i] += h
        down[i] -= h
        numeric = (fake_quantize(up, 4) - fake_quantize(down, 4)) / (2 * h)
        np.testing.assert_array_equal(numeric, 0.0)
