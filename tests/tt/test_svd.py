"""TT-SVD: exact recovery, the eps bound, rank caps, Eckart–Young, dtypes and bad input."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ttnet import TTTensor, tt_round, tt_svd
from ttnet.tt import (AccuracyWarning, RankClippedWarning, achievable_eps, max_ranks,
                      truncated_svd, truncation_rank)

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


@given(shape=st.lists(st.integers(2, 12), min_size=2, max_size=6).filter(lambda s: math.prod(s) <= 30000),
       rank=st.integers(1, 8), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 1000))
def test_low_rank_data_computed_in_its_dtype_gets_its_numerical_ranks(shape, rank, dtype, seed):
    # the round-off floor must cover the rounding errors of data computed in float32 or float64
    X = TTTensor.random(shape, max_rank=rank, rng=seed, dtype=dtype)
    A = X.full()
    assert A.dtype == dtype
    Y = tt_svd(A)
    assert Y.ranks == X.ranks
    assert rel_err(Y.astype(np.float64).full(), A) <= achievable_eps(A.shape, dtype) + 1e-14


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
        X = TTTensor.random(shape, max_rank=2, rng=rng).full()
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


@pytest.mark.parametrize("shape, r", [((5, 6, 7, 4), 3), ((4, 4, 4, 4, 4), 2), ((8, 9, 10), 4)])
@pytest.mark.parametrize("noise", [1e-3, 0.1, 1.0])
def test_quasi_optimality_for_more_than_two_modes(shape, r, noise, rng):
    """Oseledets' corollary: ||A - TT-SVD_r(A)|| <= sqrt(d-1) ||A - C|| for every C of ranks <= r.

    The best C is unknown for d > 2, so the bound is checked against every candidate at hand:
    the planted TT-tensor B of ranks r (A = B + noise), the rounding of A's exact TT to ranks
    <= r, and TT-SVD's own result with each core perturbed (still ranks <= r).
    """
    d = len(shape)
    B = TTTensor.random(shape, r, rng=rng)
    B = B * (1.0 / B.norm())
    E = rng.standard_normal(shape)
    A = B.full() + noise * E / np.linalg.norm(E)
    Y = tt_svd(A, max_rank=r)
    assert max(Y.ranks) <= r
    error = np.linalg.norm(A - Y.full())
    candidates = [B, tt_round(tt_svd(A), max_rank=r)]
    for _ in range(5):
        candidates.append(TTTensor([c + 0.1 * noise * rng.standard_normal(c.shape)
                                    for c in Y.cores]))
    for C in candidates:
        assert max(C.ranks) <= r
        assert error <= math.sqrt(d - 1) * np.linalg.norm(A - C.full()) * (1 + 1e-10)
    # the planted tensor is within the noise, so TT-SVD is too, up to sqrt(d-1)
    assert error <= math.sqrt(d - 1) * noise * (1 + 1e-10)


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


def test_qr_path_agrees_with_lapack_and_needs_a_wide_matrix(rng):
    C = rng.standard_normal((30, 500)) * (0.6 ** np.arange(30))[:, None]
    for delta, cap in [(0.0, None), (1e-3, None), (0.5, 4)]:
        U1, W1 = truncated_svd(C, delta, cap, method="svd")
        U2, W2 = truncated_svd(C, delta, cap, method="qr")
        assert U1.shape == U2.shape
        assert rel_err(U2 @ W2, U1 @ W1) < 1e-10
    with pytest.raises(ValueError, match=r"method 'qr' needs a wide or square C \(m <= n\)"):
        truncated_svd(C.T, method="qr")
    with pytest.raises(TypeError, match="data_dtype must be np.float32 or np.float64"):
        truncated_svd(C, data_dtype=np.int32)


def test_float32_matrix_is_decomposed_in_float64_and_returned_in_float32(rng):
    C = (rng.standard_normal((8, 5)) @ rng.standard_normal((5, 4000))).astype(np.float32)
    for method in ("auto", "svd", "qr", "gram"):
        U, W = truncated_svd(C, 1e-4 * np.linalg.norm(C.astype(np.float64)), method=method)
        assert U.dtype == W.dtype == np.float32 and U.shape[1] == 5
        assert rel_err(U.astype(np.float64) @ W.astype(np.float64), C) < 1e-4


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
        truncated_svd(np.eye(3), method="lu")


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(eps=1.0), ValueError, r"eps must be in \[0, 1\), got 1.0"),
    (dict(eps=-0.1), ValueError, r"eps must be in \[0, 1\)"),
    (dict(eps="0.1"), TypeError, "eps must be None or a real number"),
    (dict(max_rank=0), ValueError, "max_rank must be >= 1"),
    (dict(max_rank=(2, 0)), ValueError, r"max_rank\[1\] must be >= 1"),
    (dict(max_rank=(2, 2, 2)), ValueError, "max_rank must have 2 entries"),
    (dict(max_rank=2.5), TypeError, "max_rank must be an int or a sequence"),
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


# ---------------------------------------------------------------- float32: the bound that is promised
def _low_rank_plus_noise(shape, rank, noise, seed):
    """A float32 matrix: a rank-``rank`` matrix plus Gaussian noise of relative Frobenius norm ``noise``."""
    rng = np.random.default_rng(seed)
    m, n = shape
    L = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    N = rng.standard_normal((m, n))
    return (L + noise * np.linalg.norm(L) / np.linalg.norm(N) * N).astype(np.float32)


def _err64(Y, A):
    """‖A − TT‖_F / ‖A‖_F with the TT evaluated exactly from its (float32) cores, in float64."""
    return rel_err(Y.astype(np.float64).full(), A)


@pytest.fixture(scope="module")
def long_float32_matrices():
    # the failing case of the issue (64 x 65536) and the first unfolding of the paper's
    # 1536 x 8192 FC layer (32 x 393216), each rank 5 plus 1e-3 relative noise
    return {shape: _low_rank_plus_noise(shape, 5, 1e-3, seed=7) for shape in [(64, 65536), (32, 393216)]}


@pytest.mark.parametrize("shape", [(64, 65536), (32, 393216)])
@pytest.mark.parametrize("eps", [1e-4, 2e-4, 5e-4, 1e-3, 1e-2])
def test_float32_long_unfolding_meets_the_eps_bound(long_float32_matrices, shape, eps):
    # a round-off floor of u sqrt(mn) ||C|| (2.4e-4 and 4.2e-4 here) used to break eps <= 2e-4
    A = long_float32_matrices[shape]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every eps here is above the achievable floor
        Y = tt_svd(A, eps=eps)
    assert Y.dtype == np.float32
    assert _err64(Y, A) <= eps
    if eps >= 1e-3:
        assert Y.ranks == (1, 5, 1)   # the noise (1e-3) is dropped
    # the rank is minimal: dropping one more singular value would break the bound
    A64 = A.astype(np.float64)
    s2 = np.sort(np.linalg.eigvalsh(A64 @ A64.T))[::-1]   # σ², resolved far below 1e-4 σ_0
    r = Y.ranks[1]
    assert r == min(shape) or np.sqrt(s2[r - 1:].sum() / s2.sum()) > 0.99 * eps


@pytest.mark.parametrize("eps", [3e-4, 1e-3, 3e-3, 3e-2])
def test_float32_three_way_tensor_with_long_unfoldings_meets_the_eps_bound(eps):
    rng = np.random.default_rng(3)
    X = TTTensor.random((32, 96, 128), 6, rng=rng).full()
    N = rng.standard_normal(X.shape)
    A = (X + 2e-3 * np.linalg.norm(X) / np.linalg.norm(N) * N).astype(np.float32)
    Y = tt_svd(A, eps=eps)
    assert Y.dtype == np.float32 and _err64(Y, A) <= eps


@given(
    shape=st.lists(st.integers(2, 9), min_size=2, max_size=5).filter(lambda s: math.prod(s) <= 20000),
    kind=st.sampled_from(["random", "low-rank-plus-noise", "structured"]),
    eps=st.sampled_from([0.0, 1e-8, 1e-7, 1e-6, 3e-6, 1e-5, 1e-4, 1e-2, 0.3]),
    seed=st.integers(0, 2**16),
)
def test_float32_bound_holds_or_warns_with_the_achievable_bound(shape, kind, eps, seed):
    A = _test_tensor(kind, tuple(shape), seed).astype(np.float32)
    floor = achievable_eps(A.shape, np.float32)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        Y = tt_svd(A, eps=eps)
    warned = [w for w in record if issubclass(w.category, AccuracyWarning)]
    assert len(warned) == (1 if 0 < eps < floor else 0)
    assert _err64(Y, A) <= max(eps, floor)


def test_eps_below_the_achievable_floor_warns_with_the_bound_and_meets_it():
    A = _low_rank_plus_noise((64, 4096), 5, 1e-3, seed=1)
    floor = achievable_eps(A.shape, A.dtype)
    assert 1e-7 < floor < 1e-5
    with pytest.warns(AccuracyWarning, match=f"tt_svd: eps = 1e-08 is below .*{floor:.2g}") as record:
        Y = tt_svd(A, eps=1e-8)
    assert record[0].filename == __file__          # attributed to the caller's line
    assert _err64(Y, A) <= floor
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _err64(tt_svd(A, eps=floor), A) <= floor   # at the floor: no warning
        tt_svd(A)                                         # no eps: no warning
        tt_svd(A, eps=0.0)
    with pytest.warns(AccuracyWarning):                    # float64 has a floor too, near 1e-15
        tt_svd(A.astype(np.float64), eps=1e-17)


def test_achievable_eps():
    assert achievable_eps((5,), np.float32) == 0.0          # one core: TT-SVD is exact
    f32, f64 = achievable_eps((64, 65536), np.float32), achievable_eps((64, 65536), np.float64)
    assert 1e-7 < f32 < 1e-5 and 1e-16 < f64 < 1e-14
    paper = achievable_eps((32, 48, 64, 128), np.float32)
    assert achievable_eps((32, 48, 64, 128), np.float32, max_rank=8) < paper < 1e-4
    with pytest.raises(TypeError, match="dtype must be np.float32 or np.float64"):
        achievable_eps((3, 4), np.int32)
    with pytest.raises(ValueError, match=r"shape\[1\] must be >= 1"):
        achievable_eps((3, 0), np.float32)
    with pytest.raises(ValueError, match="max_rank must be >= 1"):
        achievable_eps((3, 4), np.float32, max_rank=0)


# ---------------------------------------------------------------- scale: every finite input
def _exact_scaled_full(Y, exponent):
    """``2**-exponent · Y.full()`` in float64, the factor spread over the cores (no overflow)."""
    cores = [c.astype(np.float64) for c in Y.cores]
    share = -exponent // len(cores)
    shifts = [share] * (len(cores) - 1) + [-exponent - share * (len(cores) - 1)]
    return TTTensor([np.ldexp(c, s) for c, s in zip(cores, shifts)]).full()


_SMALL, _LARGE = (6, 7, 8), (100, 100, 100)


@pytest.mark.parametrize("dtype, exponent, shape", [
    (np.float32, e, _SMALL) for e in (-140, -120, 57, 100, 123, "top")] + [
    (np.float64, e, _SMALL) for e in (-1060, -1000, 500, 1000, "top")] + [
    (np.float32, 57, _LARGE), (np.float32, "top", _LARGE), (np.float32, -140, _LARGE),
    (np.float64, "top", _LARGE), (np.float64, -1060, _LARGE),
])
def test_tt_svd_bound_holds_at_every_scale(dtype, exponent, shape):
    # float32 data of 1e37 (2**123) used to give ranks (1, 1, 1, 1) at error 0.94 and entries of
    # 1e17 (2**57) in a 100**3 tensor error 1.0 (the float32 norm overflowed)
    base = _test_tensor("low-rank-plus-noise", shape, seed=5).astype(dtype)
    if exponent == "top":                      # the largest entry just below the dtype's maximum
        exponent = np.finfo(dtype).maxexp - math.frexp(float(np.abs(base).max()))[1]
    A = np.ldexp(base, exponent)               # exact, except for subnormal entries
    assert np.isfinite(A).all()
    A_rescaled = np.ldexp(A.astype(np.float64), -exponent)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no overflow warnings either
        Y = tt_svd(A, eps=0.1)
    assert Y.dtype == dtype and np.isfinite(np.concatenate([c.ravel() for c in Y.cores])).all()
    assert rel_err(_exact_scaled_full(Y, exponent), A_rescaled) <= 0.1
    if np.all(A_rescaled == base):             # no subnormals: the same decomposition as unscaled
        assert Y.ranks == tt_svd(base, eps=0.1).ranks


def test_tt_svd_of_the_largest_float32_values():
    A = np.full((40, 50), np.finfo(np.float32).max, dtype=np.float32)   # norm 2000x the float32 max
    A[::2] *= -1
    Y = tt_svd(A, eps=1e-3)
    assert Y.ranks == (1, 1, 1)
    assert rel_err(_exact_scaled_full(Y, 128), np.ldexp(A.astype(np.float64), -128)) <= 1e-3
