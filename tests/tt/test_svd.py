"""TT-SVD: exact recovery, the eps bound, rank caps, Eckart–Young, dtypes and bad input."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ttnet import TTTensor, tt_svd
from ttnet.tt import RankClippedWarning, max_ranks, truncated_svd, truncation_rank

from ..helpers import rel_err


# ---------------------------------------------------------------- exact recovery
@pytest.mark.parametrize("shape, ranks", [
    ((4, 5, 6, 7), (1, 3, 4, 2, 1)),
    ((3, 3, 3, 3, 3, 3), (1, 2, 3, 3, 3, 2, 1)),
    ((10, 12), (1, 5, 1)),
    ((2, 30, 2), (1, 2, 2, 1)),
])
@pytest.mark.parametrize("eps", [None, 1e-10])
def test_random_tt_is_recovered_with_its_ranks(shape, ranks, eps):
    X = TTTensor.random(shape, ranks, rng=1)
    A = X.full()
    Y = tt_svd(A, eps=eps)
    assert Y.ranks == ranks
    assert rel_err(Y.full(), A) < 1e-12


def test_function_tensor_has_tt_rank_two():
    # sin(x1 + ... + xd) = Im(exp(i x1) ... exp(i xd)) has TT-rank 2 exactly
    grids = np.meshgrid(*[np.linspace(0, 1, 7)] * 5, indexing="ij")
    A = np.sin(sum(grids))
    Y = tt_svd(A, eps=1e-12)
    assert Y.ranks == (1, 2, 2, 2, 2, 1)
    assert rel_err(Y.full(), A) < 1e-12


def test_without_eps_or_max_rank_the_decomposition_is_exact(rng):
    A = rng.standard_normal((3, 4, 5, 6))
    Y = tt_svd(A)
    assert Y.ranks == max_ranks(A.shape)
    assert rel_err(Y.full(), A) < 1e-13


def test_one_dimensional_and_zero_tensors():
    a = np.arange(5.0)
    Y = tt_svd(a)
    assert Y.ranks == (1, 1) and np.array_equal(Y.full(), a)
    Z = tt_svd(np.zeros((3, 4, 5)), eps=0.1)
    assert Z.ranks == (1, 1, 1, 1) and not Z.full().any()


# ---------------------------------------------------------------- eps bound
def _test_tensor(kind, shape, seed):
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.standard_normal(shape)
    if kind == "low-rank-plus-noise":
        X = TTTensor.random(shape, 2, rng=rng).full()
        return X + 0.05 * np.linalg.norm(X) / math.sqrt(X.size) * rng.standard_normal(shape)
    # structured: a Hilbert-like tensor 1 / (1 + i_1 + ... + i_d), with fast-decaying singular values
    return 1.0 / (1.0 + sum(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")))


@given(
    shape=st.lists(st.integers(2, 6), min_size=2, max_size=6).filter(lambda s: math.prod(s) <= 8000),
    kind=st.sampled_from(["random", "low-rank-plus-noise", "structured"]),
    eps=st.sampled_from([0.0, 1e-8, 1e-4, 1e-2, 0.1, 0.3, 0.6, 0.9]),
    seed=st.integers(0, 2**16),
)
def test_eps_bound_holds(shape, kind, eps, seed):
    A = _test_tensor(kind, tuple(shape), seed)
    Y = tt_svd(A, eps=eps)
    assert rel_err(Y.full(), A) <= eps + 1e-12
    assert all(r <= m for r, m in zip(Y.ranks, max_ranks(A.shape)))


@pytest.mark.parametrize("kind", ["random", "low-rank-plus-noise", "structured"])
def test_ranks_shrink_as_eps_grows(kind):
    A = _test_tensor(kind, (5, 6, 5, 6), seed=3)
    previous = None
    for eps in [0.0, 1e-6, 1e-3, 1e-2, 0.05, 0.1, 0.2, 0.4, 0.8]:
        ranks = tt_svd(A, eps=eps).ranks
        if previous is not None:
            assert all(r <= p for r, p in zip(ranks, previous)), (eps, ranks, previous)
        previous = ranks
    assert sum(previous) < sum(max_ranks(A.shape))


# ---------------------------------------------------------------- max_rank
@pytest.mark.parametrize("shape", [(30, 40), (40, 30), (8, 200)])
@pytest.mark.parametrize("r", [1, 3, 7])
def test_matrix_case_is_eckart_young(shape, r, rng):
    # a well separated spectrum, so the best rank-r approximation is unique
    m, n = shape
    k = min(m, n)
    U, _ = np.linalg.qr(rng.standard_normal((m, k)))
    V, _ = np.linalg.qr(rng.standard_normal((n, k)))
    s = 2.0 ** -np.arange(k, dtype=float)
    A = (U * s) @ V.T
    best = (U[:, :r] * s[:r]) @ V[:, :r].T
    Y = tt_svd(A, max_rank=r)
    assert Y.ranks == (1, r, 1)
    assert rel_err(Y.full(), best) < 1e-12
    assert np.isclose(np.linalg.norm(Y.full() - A), np.linalg.norm(s[r:]), rtol=1e-10)


def test_max_rank_per_bond_and_with_eps(rng):
    A = rng.standard_normal((4, 5, 6, 7))
    assert tt_svd(A, max_rank=(2, 3, 4)).ranks == (1, 2, 3, 4, 1)
    assert tt_svd(A, max_rank=3).ranks == (1, 3, 3, 3, 1)
    both = tt_svd(A, eps=0.5, max_rank=3)  # the cap binds: ranks obey it, eps is not reached
    assert all(r <= 3 for r in both.ranks)
    S = _test_tensor("structured", (4, 5, 6, 7), seed=0)
    loose = tt_svd(S, eps=1e-2)
    assert max(loose.ranks) <= 3
    capped = tt_svd(S, eps=1e-2, max_rank=3)  # the cap does not bind: same result
    assert capped.ranks == loose.ranks
    assert rel_err(capped.full(), S) <= 1e-2


def test_rank_above_the_maximum_is_clipped_with_a_warning(rng):
    A = rng.standard_normal((3, 4, 5))
    with pytest.warns(RankClippedWarning, match="clipped"):
        Y = tt_svd(A, max_rank=(10, 2))
    assert Y.ranks == (1, 3, 2, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tt_svd(A, max_rank=100).ranks == (1, 3, 5, 1)  # an int is only a cap


# ---------------------------------------------------------------- dtypes
def test_float32_input_gives_float32_cores(rng):
    A = rng.standard_normal((6, 7, 8)).astype(np.float32)
    for kwargs in ({}, {"eps": 0.1}, {"max_rank": 3}):
        Y = tt_svd(A, **kwargs)
        assert all(c.dtype == np.float32 for c in Y.cores)
    assert rel_err(tt_svd(A).full(), A) < 1e-5


def test_integer_input_becomes_float64():
    Y = tt_svd(np.arange(24).reshape(2, 3, 4))
    assert Y.dtype == np.float64
    assert rel_err(Y.full(), np.arange(24).reshape(2, 3, 4)) < 1e-13


# ---------------------------------------------------------------- the fast truncated SVD
def test_gram_and_lapack_paths_agree(rng):
    C = rng.standard_normal((40, 300)) * (0.7 ** np.arange(40))[:, None]
    for delta, cap in [(0.0, 10), (0.5, None), (2.0, 5)]:
        U1, W1 = truncated_svd(C, delta, cap, method="svd")
        U2, W2 = truncated_svd(C, delta, cap, method="gram")
        assert U1.shape == U2.shape
        assert rel_err(U2 @ W2, U1 @ W1) < 1e-10


def test_auto_falls_back_to_lapack_below_the_gram_resolution(rng):
    # rank 3 plus a 1e-10 perturbation: only LAPACK's SVD resolves the tail
    C = rng.standard_normal((20, 3)) @ rng.standard_normal((3, 200))
    C += 1e-10 * rng.standard_normal(C.shape)
    U, W = truncated_svd(C, delta=1e-12 * np.linalg.norm(C))
    assert U.shape[1] == 20  # every 1e-10 singular value exceeds delta: nothing dropped
    assert rel_err(U @ W, C) < 1e-14
    U, W = truncated_svd(C, delta=1e-6 * np.linalg.norm(C))
    assert U.shape[1] == 3


def test_truncation_rank_rule():
    s = np.array([4.0, 3.0, 2.0, 1.0])
    assert truncation_rank(s, 0.0) == 4
    assert truncation_rank(s, 1.0) == 3              # tail sqrt(1) <= 1
    assert truncation_rank(s, math.sqrt(5)) == 2     # tail sqrt(4 + 1)
    assert truncation_rank(s, 100.0) == 1            # at least one value is kept
    assert truncation_rank(s, 0.0, max_rank=2) == 2
    assert truncation_rank(np.array([1.0, 1e-20]), 0.0) == 1  # round-off floor
    with pytest.raises(ValueError, match="must not be empty"):
        truncation_rank(np.array([]))
    with pytest.raises(ValueError, match="method must be"):
        truncated_svd(np.eye(3), method="qr")


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(eps=1.0), ValueError, r"eps must be in \[0, 1\), got 1.0"),
    (dict(eps=-0.1), ValueError, r"eps must be in \[0, 1\)"),
    (dict(eps="0.1"), TypeError, "eps must be None or a real number"),
    (dict(max_rank=0), ValueError, "max_rank must be >= 1"),
    (dict(max_rank=(2, 0)), ValueError, r"max_rank\[1\] must be >= 1"),
    (dict(max_rank=(2, 2, 2)), ValueError, "max_rank must hold 2 internal ranks"),
    (dict(max_rank=2.5), TypeError, "max_rank must be None, an int or a sequence"),
])
def test_bad_arguments_are_rejected(kwargs, exc, match, rng):
    with pytest.raises(exc, match=match):
        tt_svd(rng.standard_normal((3, 4, 5)), **kwargs)


@pytest.mark.parametrize("A, exc, match", [
    (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, "A must contain only finite numbers, got 1 NaN"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), ValueError, "A must contain only finite numbers, got 0 NaN and 1 Inf"),
    (np.array([["a", "b"]]), TypeError, "A must be a real numeric array"),
    ("hello", TypeError, "A must be a real numeric array"),
    (np.ones((2, 2), dtype=complex), TypeError, "A must be a real numeric array"),
    (np.ones((2, 2), dtype=np.float16), TypeError, "A must have dtype float32 or float64"),
    (np.float64(3.0), ValueError, "A must have at least 1 dimension"),
    (np.ones((2, 0, 3)), ValueError, "A must not be empty"),
])
def test_bad_data_is_rejected(A, exc, match):
    with pytest.raises(exc, match=match):
        tt_svd(A)


# ---------------------------------------------------------------- regressions
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("eps", [None, 0.01])
def test_float32_long_unfolding_keeps_a_small_but_real_component(transpose, eps):
    # a per-value round-off floor sigma_0 * max(m, n) * u (np.linalg.matrix_rank's rule)
    # would drop the 5 % component of this float32 matrix: 1.2e-7 * 1e6 = 0.12 > 0.05
    rng = np.random.default_rng(0)
    n = 1_000_000
    A = np.stack([rng.standard_normal(n), 0.05 * rng.standard_normal(n)], 1).astype(np.float32)
    A = A.T.copy() if transpose else A
    Y = tt_svd(A, eps=eps)
    assert Y.ranks == (1, 2, 1)
    assert rel_err(Y.full(), A) < 1e-6


def test_rank_clipping_warning_points_at_the_callers_line():
    from ttnet import TTMatrix

    with pytest.warns(RankClippedWarning) as record:
        TTMatrix.from_dense(np.ones((6, 20)), (2, 3), (4, 5), max_rank=(50,))
    assert record[0].filename == __file__
