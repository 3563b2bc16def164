"""TTTensor: construction, dense view, algebra against the dense computation, bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ttnet import TTTensor

from ..helpers import rel_err

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=5)


@given(shape=shapes, r1=st.integers(1, 4), r2=st.integers(1, 4), seed=st.integers(0, 1000))
def test_algebra_matches_dense(shape, r1, r2, seed):
    rng = np.random.default_rng(seed)
    X = TTTensor.random(shape, max_rank=r1, rng=rng)
    Y = TTTensor.random(shape, max_rank=r2, rng=rng)
    x, y = X.full(), Y.full()
    assert np.isclose(X.norm(), np.linalg.norm(x), rtol=1e-12)
    assert np.isclose(X.dot(Y), np.sum(x * y), rtol=1e-10, atol=1e-10 * X.norm() * Y.norm())
    assert rel_err((X + Y).full(), x + y) < 1e-12
    assert rel_err((X - Y).full(), x - y) < 1e-12
    assert rel_err((2.5 * X).full(), 2.5 * x) < 1e-14
    assert rel_err((X * -3).full(), -3 * x) < 1e-14
    assert rel_err((X / 4).full(), x / 4) < 1e-14
    assert rel_err((-X).full(), -x) < 1e-14
    assert (X + Y).ranks == tuple(
        a + b if 0 < k < len(shape) else 1 for k, (a, b) in enumerate(zip(X.ranks, Y.ranks)))


def test_entry_is_a_product_of_matrices():
    X = TTTensor.random((3, 4, 5), (2, 3), rng=0)
    G1, G2, G3 = X.cores
    i = (2, 1, 4)
    entry = (G1[:, i[0], :] @ G2[:, i[1], :] @ G3[:, i[2], :]).item()
    assert np.isclose(entry, X.full()[i])


def test_properties():
    X = TTTensor.random((4, 5, 6), (2, 3), rng=0)
    assert X.shape == (4, 5, 6)
    assert X.ranks == (1, 2, 3, 1)
    assert X.ndim == 3
    assert X.n_params == 4 * 2 + 2 * 5 * 3 + 3 * 6
    assert X.compression_ratio == pytest.approx(120 / X.n_params)
    assert X.dtype == np.float64
    assert repr(X) == "TTTensor(shape=(4, 5, 6), ranks=(1, 2, 3, 1), dtype=float64)"


def test_cores_are_stored_not_copied_and_copy_is_deep():
    cores = [np.ones((1, 2, 2)), np.ones((2, 3, 1))]
    X = TTTensor(cores)
    assert X.cores[0] is cores[0]
    Y = X.copy()
    Y.cores[0][...] = 0.0
    assert X.cores[0].sum() == 4.0


def test_astype_and_float32_arithmetic_stays_float32():
    X = TTTensor.random((3, 4, 5), 2, rng=0, dtype=np.float32)
    assert all(c.dtype == np.float32 for c in X.cores)
    for Z in (X + X, X - X, 2.0 * X, X * np.float64(2.0), X / 3, X.round(), X.round(eps=0.1)):
        assert Z.dtype == np.float32
    Y = X.astype(np.float64)
    assert Y.dtype == np.float64 and rel_err(Y.full(), X.full()) < 1e-6
    with pytest.raises(TypeError, match="dtype must be np.float32 or np.float64"):
        X.astype(np.int32)


def test_random_has_unit_variance_entries_whatever_the_ranks():
    # v_s = mean of the squared entries of draw s; E[v_s] = 1 if every entry has variance 1.
    # The check allows 5 standard errors of the sample mean (a wrong core scale, e.g. 1/r
    # instead of 1/sqrt(r), is off by orders of magnitude at rank 16).
    for ranks in (1, 4, 16):
        v = np.array([np.mean(TTTensor.random((4, 4, 4, 4), max_rank=ranks, rng=s).full() ** 2)
                      for s in range(1000)])
        stderr = v.std(ddof=1) / np.sqrt(len(v))
        assert abs(v.mean() - 1.0) < 5 * stderr, (ranks, v.mean(), stderr)
        assert stderr < 0.1


def test_random_is_reproducible_with_a_seed():
    a = TTTensor.random((3, 4), 2, rng=7).full()
    b = TTTensor.random((3, 4), 2, rng=np.random.default_rng(7)).full()
    assert np.array_equal(a, b)


def test_one_core_tensor():
    X = TTTensor([np.arange(5.0).reshape(1, 5, 1)])
    assert X.shape == (5,) and X.ranks == (1, 1)
    assert np.array_equal((X + X).full(), 2 * np.arange(5.0))
    assert np.isclose(X.norm(), np.linalg.norm(np.arange(5.0)))


@pytest.mark.parametrize("cores, exc, match", [
    (np.ones((1, 2, 1)), TypeError, "cores must be a list of arrays"),
    ([], ValueError, "at least one core"),
    ([np.ones((1, 2))], ValueError, r"cores\[0\] must have 3 dimensions"),
    ([np.ones((2, 2, 1))], ValueError, r"cores\[0\] must have first dimension r_0 = 1"),
    ([np.ones((1, 2, 2))], ValueError, r"must have last dimension r_d = 1"),
    ([np.ones((1, 2, 2)), np.ones((3, 2, 1))], ValueError, "neighbouring ranks must match"),
    ([np.ones((1, 2, 2)), np.ones((2, 2, 1), np.float32)], TypeError, "same dtype"),
    ([np.full((1, 2, 1), np.nan)], ValueError, "finite"),
    ([np.ones((1, 0, 1))], ValueError, "zero-sized"),
    ([np.array([[["a"]]])], TypeError, "real numeric array"),
])
def test_constructor_rejects_bad_cores(cores, exc, match):
    with pytest.raises(exc, match=match):
        TTTensor(cores)


def test_operations_reject_mismatched_operands():
    X = TTTensor.random((3, 4), 2, rng=0)
    Y = TTTensor.random((4, 3), 2, rng=0)
    with pytest.raises(ValueError, match=r"other must have shape \(3, 4\)"):
        X + Y
    with pytest.raises(ValueError, match="other must have shape"):
        X.dot(Y)
    with pytest.raises(TypeError, match="other must be a TTTensor"):
        X.dot(np.ones((3, 4)))
    with pytest.raises(TypeError):
        X + 1.0
    with pytest.raises(TypeError):
        X * "2"
    with pytest.raises(ValueError, match="alpha must be finite"):
        X * np.inf
    with pytest.raises(ZeroDivisionError):
        X / 0
    with pytest.raises(TypeError):
        np.ones((3, 4)) * X  # no silent densification through NumPy broadcasting


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(shape=(3, 0), ranks=2), ValueError, r"shape\[1\] must be >= 1"),
    (dict(shape=(3, 4), ranks=0), ValueError, "ranks must be >= 1"),
    (dict(shape=(3, 4), ranks=2, rng="seed"), TypeError, "rng must be None, an int seed"),
    (dict(shape=(3, 4), ranks=2, dtype=np.int64), TypeError, "dtype must be np.float32"),
])
def test_random_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        TTTensor.random(**kwargs)


# ---------------------------------------------------------------- scale safety of dot and norm
@pytest.mark.parametrize("dtype, scales", [
    (np.float32, (1e20, 1.0, 1.0)),
    (np.float32, (2.0**100, 2.0**100, 2.0**-100)),   # core products overflow float32 on the way
    (np.float32, (2.0**-80, 2.0**-80, 2.0**40)),     # and underflow
    (np.float64, (2.0**600, 2.0**600, 2.0**-1000)),
    (np.float64, (2.0**-700, 2.0**-700, 2.0**1000)),
])
def test_norm_and_dot_do_not_overflow_on_the_way(dtype, scales):
    base = TTTensor.random((6, 7, 8), 3, rng=0)
    other = TTTensor.random((6, 7, 8), 2, rng=1)
    log2_scale = float(sum(np.log2(s) for s in scales))
    X = TTTensor([(c * s).astype(dtype) for c, s in zip(base.cores, scales)])
    Y = TTTensor([(c * s).astype(dtype) for c, s in zip(other.cores, scales)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        norm, dot = X.norm(), X.dot(Y)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert np.isclose(np.log2(norm), log2_scale + np.log2(base.norm()), rtol=0, atol=rtol)
    exact = base.dot(other)
    assert np.sign(dot) == np.sign(exact)
    assert np.isclose(np.log2(abs(dot)), 2 * log2_scale + np.log2(abs(exact)), rtol=0, atol=10 * rtol)


def test_norm_and_dot_beyond_the_float64_range_are_inf_and_zero():
    X = TTTensor.random((3, 4, 5, 6), 2, rng=0)
    huge = TTTensor([c * 2.0**400 for c in X.cores])       # ‖X‖ about 2**1600
    tiny = TTTensor([c * 2.0**-400 for c in X.cores])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert huge.norm() == np.inf and huge.dot(huge) == np.inf and huge.dot(-huge) == -np.inf
        assert tiny.norm() == 0.0 and tiny.dot(tiny) == 0.0
