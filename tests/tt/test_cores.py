"""ttnet.tt.cores: the one place the TT chain is written."""

import numpy as np
import pytest

from ttnet.tt import TTMatrix, TTTensor
from ttnet.tt.cores import (check_cores, core_step_matrix, deinterleave_axes, interleave_axes,
                            merge_matrix_cores, tt_full_forward, tt_matrix_full_backward,
                            tt_matrix_full_forward)


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_interleave_and_deinterleave_are_inverse(d):
    a = np.arange(2 * d)
    assert list(a[interleave_axes(d)][deinterleave_axes(d)]) == list(a)
    assert interleave_axes(d)[:2] == [0, d]


def test_merge_matrix_cores_is_a_view_of_the_tensor_cores():
    A = TTMatrix.random((2, 3), (4, 5), 2, rng=0)
    merged = merge_matrix_cores(A.cores)
    assert [c.shape for c in merged] == [(1, 8, 2), (2, 15, 1)]
    assert all(np.shares_memory(m, c) for m, c in zip(merged, A.cores))


def test_full_chain_matches_einsum():
    X = TTTensor.random((3, 4, 2), 2, rng=1)
    G = X.cores
    expected = np.einsum("aib,bjc,ckd->ijk", *G)
    np.testing.assert_allclose(tt_full_forward(G)[0].reshape(3, 4, 2), expected, rtol=1e-12)


def test_matrix_full_matches_einsum_and_its_backward_is_the_adjoint():
    A = TTMatrix.random((2, 3), (3, 2), 2, rng=2)
    G = A.cores
    expected = np.einsum("aijb,bklc->ikjl", *G).reshape(6, 6)
    W, cache = tt_matrix_full_forward(G)
    np.testing.assert_allclose(W, expected, rtol=1e-12)
    dW = np.random.default_rng(0).standard_normal(W.shape)
    grads = tt_matrix_full_backward(dW, cache)
    # <dW, dW/dG0 · H> = <grad0, H>: check by the linearity of W in core 0
    H = np.random.default_rng(1).standard_normal(G[0].shape)
    W_H, _ = tt_matrix_full_forward([H, G[1]])
    assert np.isclose(np.sum(dW * W_H), np.sum(grads[0] * H))


def test_core_step_matrix_layout():
    G = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)
    Gm = core_step_matrix(G)
    assert Gm.shape == (15, 8) and Gm.flags.c_contiguous
    assert Gm[1 * 5 + 4, 1 * 4 + 2] == G[1, 1, 2, 4]


def test_check_cores_finite_switch():
    cores = [np.full((1, 2, 1), np.nan)]
    with pytest.raises(ValueError, match=r"cores\[0\]"):
        check_cores(cores)
    assert np.isnan(check_cores(cores, finite=False)[0]).all()


@pytest.mark.parametrize("cores, exc, match", [
    ("abc", TypeError, "list of arrays"),
    ([], ValueError, "at least one core"),
    ([np.ones((2, 2, 1))], ValueError, "r_0 = 1"),
    ([np.ones((1, 2, 2))], ValueError, "r_d = 1"),
    ([np.ones((1, 2, 2)), np.ones((3, 2, 1))], ValueError, "neighbouring ranks"),
    ([np.ones((1, 2, 2)), np.ones((2, 2, 1), np.float32)], TypeError, "same dtype"),
    ([np.ones((1, 0, 1))], ValueError, "zero-sized"),
])
def test_check_cores_rejects(cores, exc, match):
    with pytest.raises(exc, match=match):
        check_cores(cores)


def test_core_steps_are_the_matrix_product():
    """core_steps_forward on x read as (1, 1, n_1, rest) is A @ x; its backward is the adjoint."""
    from ttnet.tt.cores import core_steps_backward, core_steps_forward
    A = TTMatrix.random((2, 3), (4, 2), 2, rng=3)
    x = np.random.default_rng(0).standard_normal((8, 5))
    z, inputs = core_steps_forward(x.reshape(1, 1, 4, -1), A.cores)
    np.testing.assert_allclose(z.reshape(6, 5), A.full() @ x, rtol=1e-12)
    dy = np.random.default_rng(1).standard_normal((6, 5))
    dx, dcores = core_steps_backward(dy, inputs, A.cores)
    np.testing.assert_allclose(dx.reshape(8, 5), A.full().T @ dy, rtol=1e-12)
    assert [g.shape for g in dcores] == [c.shape for c in A.cores]
