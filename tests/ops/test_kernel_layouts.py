"""The conv-kernel layouts (ttnet.ops.kernel_layouts): index maps, round trips, compression."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ttnet.ops.kernel_layouts import (
    conv_kernel_to_naive_tt, conv_kernel_to_tt, kernel_to_matrix, kernel_to_naive_tensor,
    matrix_to_kernel, naive_tensor_to_kernel, tt_to_conv_kernel)

from ..helpers import rel_err


def test_kernel_matrix_index_map(rng):
    K = rng.standard_normal((6, 4, 3, 3))
    Kmat = kernel_to_matrix(K)
    assert Kmat.shape == (6, 36)
    s, c, i, j = 5, 2, 1, 2
    assert Kmat[s, (i * 3 + j) * 4 + c] == K[s, c, i, j]
    assert np.array_equal(matrix_to_kernel(Kmat, 3), K)


def test_naive_tensor_index_map(rng):
    K = rng.standard_normal((6, 4, 3, 3))
    T = kernel_to_naive_tensor(K)
    assert T.shape == (3, 3, 4, 6)
    assert T[1, 2, 3, 5] == K[5, 3, 1, 2]
    assert np.array_equal(naive_tensor_to_kernel(T), K)


def test_tt_cores_follow_the_papers_formula(rng):
    K = rng.standard_normal((8, 4, 3, 3))  # S = 2*4, C = 2*2
    tt = conv_kernel_to_tt(K, in_modes=(2, 2), out_modes=(2, 4))
    G0, G1, G2 = tt.cores
    assert G0.shape[:3] == (1, 1, 9) and G1.shape[1:3] == (2, 2) and G2.shape[1:3] == (4, 2)
    s1, s2, c1, c2, i, j = 1, 3, 0, 1, 2, 1
    entry = (G0[0, 0, i * 3 + j, :] @ G1[:, s1, c1, :] @ G2[:, s2, c2, 0]).item()
    assert np.isclose(entry, K[s1 * 4 + s2, c1 * 2 + c2, i, j])


@given(d=st.integers(1, 3), l=st.integers(1, 4), seed=st.integers(0, 100))
def test_round_trips_are_exact_without_truncation(d, l, seed):
    rng = np.random.default_rng(seed)
    in_modes = tuple(rng.integers(1, 4, size=d))
    out_modes = tuple(rng.integers(1, 4, size=d))
    K = rng.standard_normal((int(np.prod(out_modes)), int(np.prod(in_modes)), l, l))
    assert rel_err(tt_to_conv_kernel(conv_kernel_to_tt(K, in_modes, out_modes)), K) < 1e-12
    naive = conv_kernel_to_naive_tt(K)
    assert naive.shape == (l, l, K.shape[1], K.shape[0])
    assert rel_err(naive_tensor_to_kernel(naive.full()), K) < 1e-12


@pytest.mark.parametrize("eps", [0.1, 0.3, 0.5])
def test_eps_bounds_the_kernel_error(eps, rng):
    K = rng.standard_normal((16, 16, 3, 3))
    assert rel_err(tt_to_conv_kernel(conv_kernel_to_tt(K, (4, 4), (4, 4), eps=eps)), K) <= eps + 1e-12
    assert rel_err(naive_tensor_to_kernel(conv_kernel_to_naive_tt(K, eps=eps).full()), K) <= eps + 1e-12


def test_ranks_cap(rng):
    K = rng.standard_normal((16, 16, 3, 3))
    assert conv_kernel_to_tt(K, (4, 4), (4, 4), max_rank=(5, 6)).ranks == (1, 5, 6, 1)
    assert conv_kernel_to_tt(K, (4, 4), (4, 4), max_rank=3).ranks == (1, 3, 3, 1)
    assert conv_kernel_to_naive_tt(K, max_rank=(2, 3, 4)).ranks == (1, 2, 3, 4, 1)


@pytest.mark.parametrize("args, exc, match", [
    (((8, 4, 3, 3), (2, 2), (2, 2)), ValueError, r"out_modes \(2, 2\) multiply to 4, but kernel"),
    (((8, 4, 3, 3), (2, 3), (2, 4)), ValueError, r"in_modes \(2, 3\) multiply to 6, but kernel"),
    (((8, 4, 3, 3), (4,), (2, 4)), ValueError, "in_modes and out_modes must have the same length"),
    (((8, 4, 3, 2), (4,), (8,)), ValueError, "square spatial part"),
    (((8, 4, 3), (4,), (8,)), ValueError, "kernel must have 4 dimensions"),
])
def test_bad_modes_and_kernels_are_rejected(args, exc, match):
    shape, in_modes, out_modes = args
    with pytest.raises(exc, match=match):
        conv_kernel_to_tt(np.ones(shape), in_modes, out_modes)


def test_bad_inverse_inputs_are_rejected():
    with pytest.raises(ValueError, match="not a multiple of kernel_size"):
        matrix_to_kernel(np.ones((4, 10)), 3)
    with pytest.raises(TypeError, match="tt must be a TTMatrix"):
        tt_to_conv_kernel(np.ones((4, 9)))


def test_index_maps_propagate_nan_but_check_shapes():
    """A transpose is defined on NaN: the TT layers call these maps on every batch."""
    K = np.full((2, 3, 2, 2), np.nan)
    assert np.isnan(kernel_to_matrix(K)).all() and np.isnan(kernel_to_naive_tensor(K)).all()
    assert np.isnan(matrix_to_kernel(np.full((2, 12), np.nan), 2)).all()
    assert np.isnan(naive_tensor_to_kernel(np.full((2, 2, 3, 2), np.nan))).all()
    with pytest.raises(ValueError, match="square spatial part"):
        kernel_to_matrix(np.ones((2, 3, 2, 3)))
    with pytest.raises(ValueError, match="kernel"):       # compression still rejects NaN
        conv_kernel_to_naive_tt(K)
