"""TTMatrix: from_dense, full, products without forming the matrix, transpose, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ttnet import TTMatrix, TTTensor

from ..helpers import rel_err
from .test_svd import _low_rank_plus_noise


@st.composite
def modes_and_ranks(draw):
    d = draw(st.integers(1, 4))
    rows = tuple(draw(st.lists(st.integers(1, 4), min_size=d, max_size=d)))
    cols = tuple(draw(st.lists(st.integers(1, 4), min_size=d, max_size=d)))
    return rows, cols, draw(st.integers(1, 5))


@given(mr=modes_and_ranks(), batch=st.integers(1, 5), seed=st.integers(0, 1000))
def test_products_match_the_dense_matrix(mr, batch, seed):
    rows, cols, r = mr
    rng = np.random.default_rng(seed)
    A = TTMatrix.random(rows, cols, max_rank=r, rng=rng)
    dense = A.full()
    M, N = A.shape
    assert dense.shape == (M, N) == (math.prod(rows), math.prod(cols))
    x = rng.standard_normal(N)
    X = rng.standard_normal((N, batch))
    assert rel_err(A @ x, dense @ x) < 1e-12
    assert rel_err(A @ X, dense @ X) < 1e-12
    y = rng.standard_normal((batch, M))
    assert rel_err(y @ A, y @ dense) < 1e-12
    assert rel_err(y[0] @ A, y[0] @ dense) < 1e-12
    assert rel_err(A.T.full(), dense.T) == 0.0


def test_entry_follows_the_index_convention():
    A = TTMatrix.random((2, 3), (4, 5), 3, rng=0)
    G1, G2 = A.cores
    i1, i2, j1, j2 = 1, 2, 3, 4
    entry = (G1[:, i1, j1, :] @ G2[:, i2, j2, :]).item()
    assert np.isclose(A.full()[i1 * 3 + i2, j1 * 5 + j2], entry)


def test_from_dense_is_exact_without_truncation_and_bounded_with_eps(rng):
    W = rng.standard_normal((24, 60))
    A = TTMatrix.from_dense(W, (2, 3, 4), (3, 4, 5))
    assert A.row_modes == (2, 3, 4) and A.col_modes == (3, 4, 5)
    assert rel_err(A.full(), W) < 1e-13
    for eps in (0.1, 0.3, 0.6):
        B = TTMatrix.from_dense(W, (2, 3, 4), (3, 4, 5), eps=eps)
        assert rel_err(B.full(), W) <= eps + 1e-12
    low = TTMatrix.random((2, 3, 4), (3, 4, 5), 2, rng=1)
    C = TTMatrix.from_dense(low.full(), (2, 3, 4), (3, 4, 5), eps=1e-10)
    assert C.ranks == (1, 2, 2, 1)


@pytest.mark.parametrize("eps", [2e-4, 1e-3])
def test_from_dense_float32_with_the_paper_fc_first_unfolding_meets_the_bound(eps):
    # the 1536 x 8192 layer with row modes (4, 384) and column modes (8, 1024): TT-SVD sees the
    # 32 x 393216 unfolding of the paper's layer, rank 5 plus 1e-3 noise (a floor of
    # u sqrt(mn) = 4.2e-4 used to break eps = 2e-4)
    M = _low_rank_plus_noise((32, 393216), 5, 1e-3, seed=11)
    W = M.reshape(4, 8, 384, 1024).transpose(0, 2, 1, 3).reshape(1536, 8192)
    A = TTMatrix.from_dense(W, (4, 384), (8, 1024), eps=eps)
    assert A.dtype == np.float32
    assert rel_err(A.astype(np.float64).full(), W) <= eps


def test_from_dense_float32_with_the_paper_fc_modes_meets_the_bound():
    rng = np.random.default_rng(4)
    S = TTMatrix.random((4, 6, 8, 8), (8, 8, 8, 16), 8, rng=rng).full()
    N = rng.standard_normal(S.shape)
    W = (S + 1e-4 * np.linalg.norm(S) / np.linalg.norm(N) * N).astype(np.float32)
    for eps in (2e-4, 0.05):
        A = TTMatrix.from_dense(W, (4, 6, 8, 8), (8, 8, 8, 16), eps=eps)
        assert A.dtype == np.float32 and A.ranks == (1, 8, 8, 8, 1)
        assert rel_err(A.astype(np.float64).full(), W) <= eps


def test_the_paper_fc_layer_shape():
    A = TTMatrix.random((4, 6, 8, 8), (8, 8, 8, 16), max_rank=40, rng=0, dtype=np.float32)
    assert A.shape == (1536, 8192)
    assert A.ranks == (1, 32, 40, 40, 1)  # the first bond holds at most 4 * 8 = 32
    assert A.n_params == 32 * 32 + 32 * 48 * 40 + 40 * 64 * 40 + 40 * 128
    assert A.compression_ratio == pytest.approx(1536 * 8192 / A.n_params)
    x = np.ones((8192, 2), dtype=np.float32)
    assert (A @ x).dtype == np.float32 and (A @ x).shape == (1536, 2)


def test_algebra_round_and_norm(rng):
    A = TTMatrix.random((2, 3), (3, 2), 2, rng=rng)
    B = TTMatrix.random((2, 3), (3, 2), 2, rng=rng)
    assert rel_err((A + B).full(), A.full() + B.full()) < 1e-13
    assert rel_err((A - B).full(), A.full() - B.full()) < 1e-13
    assert rel_err((3 * A).full(), 3 * A.full()) < 1e-14
    assert rel_err((-A).full(), -A.full()) < 1e-14
    assert (A + A).round().ranks == A.ranks
    assert np.isclose(A.norm(), np.linalg.norm(A.full()))
    assert isinstance(A.as_tensor(), TTTensor)
    assert A.astype(np.float32).dtype == np.float32
    C = A.copy()
    C.cores[0][...] = 0
    assert A.norm() > 0
    assert "TTMatrix(shape=(6, 6)" in repr(A)


@pytest.mark.parametrize("args, exc, match", [
    (((6, 4), (2, 2), (2, 2)), ValueError, r"row_modes \(2, 2\) multiply to 4, but W has 6 rows"),
    (((6, 4), (2, 3), (2, 3)), ValueError, r"col_modes \(2, 3\) multiply to 6, but W has 4 columns"),
    (((6, 4), (2, 3), (4,)), ValueError, "row_modes and col_modes must have the same length"),
    (((6, 4), (2, 3, 1), (2, 2)), ValueError, "same length"),
    (((6, 4, 1), (2, 3), (2, 2)), ValueError, "W must have 2 dimensions"),
    (((6, 4), (2, 0), (2, 2)), ValueError, r"row_modes\[1\] must be >= 1"),
])
def test_from_dense_rejects_bad_modes(args, exc, match):
    shape, rows, cols = args
    with pytest.raises(exc, match=match):
        TTMatrix.from_dense(np.ones(shape), rows, cols)


def test_from_dense_rejects_bad_data():
    W = np.ones((6, 4))
    W[0, 0] = np.nan
    with pytest.raises(ValueError, match="W must contain only finite numbers"):
        TTMatrix.from_dense(W, (2, 3), (2, 2))
    with pytest.raises(TypeError, match="W must be a real numeric array"):
        TTMatrix.from_dense([["a"]], (1,), (1,))
    with pytest.raises(ValueError, match=r"eps must be in \[0, 1\)"):
        TTMatrix.from_dense(np.ones((6, 4)), (2, 3), (2, 2), eps=2)


def test_products_reject_wrong_shapes():
    A = TTMatrix.random((2, 3), (4, 5), 2, rng=0)
    with pytest.raises(ValueError, match=r"x must have shape \(20,\) or \(20, B\)"):
        A @ np.ones(6)
    with pytest.raises(ValueError, match=r"x must have shape \(20,\) or \(20, B\)"):
        A @ np.ones((20, 2, 2))
    with pytest.raises(ValueError, match=r"x must have shape \(6,\) or \(B, 6\)"):
        np.ones((2, 20)) @ A
    with pytest.raises(TypeError, match="x must be a real numeric array"):
        A @ np.array(["a"] * 20)
    with pytest.raises(TypeError, match="TTMatrix @ TTMatrix is not implemented"):
        A @ A


def test_constructor_rejects_bad_cores():
    with pytest.raises(ValueError, match=r"cores\[0\] must have 4 dimensions"):
        TTMatrix([np.ones((1, 2, 1))])
    with pytest.raises(ValueError, match="neighbouring ranks must match"):
        TTMatrix([np.ones((1, 2, 2, 2)), np.ones((3, 2, 2, 1))])
    with pytest.raises(ValueError, match="tt has shape"):
        TTMatrix.from_tensor(TTTensor.random((4, 6), 2, rng=0), (2, 2), (2, 2))
