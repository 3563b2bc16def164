"""Orthogonalisation and TT rounding."""

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ttnet import TTTensor, tt_round
from ttnet.tt import AccuracyWarning, orthogonalize_left_to_right, orthogonalize_right_to_left

from ..helpers import rel_err


def test_rounding_x_plus_x_returns_the_ranks_of_x():
    X = TTTensor.random((4, 5, 6, 5, 4), (3, 4, 4, 2), rng=0)
    S = X + X
    assert S.ranks == (1, 6, 8, 8, 4, 1)
    R = S.round()
    assert R.ranks == X.ranks
    assert rel_err(R.full(), 2 * X.full()) < 1e-13


@given(shape=st.lists(st.integers(2, 8), min_size=2, max_size=12).filter(lambda s: len(s) * max(s) <= 48),
       rank=st.integers(1, 6), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 1000))
def test_rounding_a_doubled_tensor_recovers_its_ranks(shape, rank, dtype, seed):
    # the floor must sit above the round-off of the QR sweeps, which grows with d and the core size
    X = TTTensor.random(shape, max_rank=rank, rng=seed, dtype=dtype)
    R = (X + X).round()
    assert R.ranks == X.ranks
    assert (R - 2 * X).astype(np.float64).norm() <= 1e-5 * 2 * X.astype(np.float64).norm()


@given(shape=st.lists(st.integers(2, 5), min_size=2, max_size=6),
       eps=st.sampled_from([1e-10, 1e-3, 0.05, 0.2, 0.5]),
       seed=st.integers(0, 1000))
def test_rounding_obeys_the_eps_bound(shape, eps, seed):
    rng = np.random.default_rng(seed)
    X = TTTensor.random(shape, max_rank=3, rng=rng) + 0.1 * TTTensor.random(shape, max_rank=2,
                                                                            rng=rng)
    Y = tt_round(X, eps=eps)
    x = X.full()
    assert rel_err(Y.full(), x) <= eps + 1e-12
    assert all(a <= b for a, b in zip(Y.ranks, X.ranks))


def test_rounding_with_a_rank_cap_matches_the_matrix_svd():
    # d = 2: rounding to rank r is the best rank-r approximation
    X = TTTensor.random((20, 30), 8, rng=3)
    x = X.full()
    U, s, Vt = np.linalg.svd(x)
    Y = tt_round(X, max_rank=3)
    assert Y.ranks == (1, 3, 1)
    assert rel_err(Y.full(), (U[:, :3] * s[:3]) @ Vt[:3]) < 1e-10


def test_orthogonalisation_keeps_the_tensor_and_makes_cores_orthonormal():
    X = TTTensor.random((3, 4, 5, 6), 3, rng=1)
    left = orthogonalize_left_to_right(X.cores)
    for core in left[:-1]:
        m = core.reshape(-1, core.shape[2])
        assert np.allclose(m.T @ m, np.eye(m.shape[1]), atol=1e-13)
    right = orthogonalize_right_to_left(X.cores)
    for core in right[1:]:
        m = core.reshape(core.shape[0], -1)
        assert np.allclose(m @ m.T, np.eye(m.shape[0]), atol=1e-13)
    for cores in (left, right):
        assert rel_err(TTTensor(cores).full(), X.full()) < 1e-13
    assert np.isclose(np.linalg.norm(left[-1]), np.linalg.norm(X.full()))
    assert np.isclose(np.linalg.norm(right[0]), np.linalg.norm(X.full()))


def test_round_keeps_float32():
    X = TTTensor.random((4, 5, 6), 3, rng=0, dtype=np.float32)
    assert all(c.dtype == np.float32 for c in tt_round(X + X, eps=1e-3).cores)


def test_round_rejects_bad_input():
    X = TTTensor.random((4, 5, 6), 3, rng=0)
    with pytest.raises(TypeError, match="X must be a TTTensor"):
        tt_round(X.full())
    with pytest.raises(ValueError, match=r"eps must be in \[0, 1\)"):
        tt_round(X, eps=1.5)
    with pytest.raises(ValueError, match="max_rank must be >= 1"):
        X.round(max_rank=0)


# ---------------------------------------------------------------- float32 and scale
def _rel_err_tt(Y, X):
    """‖X − Y‖_F / ‖X‖_F from the cores in float64, in TT form (no dense tensor)."""
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    return (X64 - Y64).norm() / X64.norm()


@pytest.mark.parametrize("eps", [2e-4, 1e-3, 3e-3, 3e-2])
def test_float32_rounding_with_long_modes_meets_the_eps_bound(eps):
    # modes of 256: the unfoldings are (r 256) x r; the error is measured in TT form in float64
    shape = (256, 256, 256)
    A = TTTensor.random(shape, 6, rng=1, dtype=np.float32)
    B = TTTensor.random(shape, 6, rng=2, dtype=np.float32)
    X = A + B * 2e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Y = tt_round(X, eps=eps)
    assert Y.dtype == np.float32
    assert _rel_err_tt(Y, X) <= eps
    if eps >= 3e-3:
        assert Y.ranks == (1, 6, 6, 1)      # the 2e-3 part is dropped
    else:
        assert 6 < max(Y.ranks) <= 12       # part of it is kept


def test_float32_rounding_below_the_floor_warns():
    X = TTTensor.random((20, 30, 40), 4, rng=0, dtype=np.float32)
    with pytest.warns(AccuracyWarning, match="tt_round: eps = 1e-09 is below") as record:
        Y = X.round(eps=1e-9)
    assert record[0].filename == __file__
    assert Y.ranks == X.ranks and _rel_err_tt(Y, X) < 1e-5


@pytest.mark.parametrize("dtype, scales", [
    (np.float32, (1e20, 1.0, 1.0)),           # the case: ‖X‖ = 1.1e21 but float32 norms overflowed
    (np.float32, (2.0**100, 2.0**100, 2.0**-100)),   # the product of the first two cores overflows
    (np.float32, (2.0**-70, 2.0**-70, 1.0)),  # ‖X‖ about 1e-42: the product underflows
    (np.float64, (2.0**600, 2.0**600, 2.0**-1000)),
    (np.float64, (2.0**-600, 2.0**-600, 2.0**300)),
])
@pytest.mark.parametrize("eps", [0.1, 1e-3])
def test_rounding_and_norm_at_every_scale(dtype, scales, eps):
    base = TTTensor.random((6, 7, 8), 3, rng=0, dtype=np.float64) + \
        TTTensor.random((6, 7, 8), 2, rng=1, dtype=np.float64) * 0.01
    log2_scale = sum(np.log2(s) for s in scales)
    X = TTTensor([(c * s).astype(dtype) for c, s in zip(base.cores, scales)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no overflow warnings either
        norm = X.norm()
        Y = tt_round(X, eps=eps)
    assert np.isfinite(norm) and norm > 0
    assert np.isclose(np.log2(norm), log2_scale + np.log2(base.norm()), rtol=0, atol=1e-5)
    assert Y.ranks == base.round(eps=eps).ranks
    assert _rel_err_tt(Y, X) <= eps
