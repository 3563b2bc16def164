"""TT contractions: the core step (the BLAS entry points; its numba loops are
tests/ops/test_contract_loops.py) and the full reconstruction."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ttnet import TTTensor
from ttnet.ops.contract import (
    tt_full_backward, tt_full_forward, tt_step_backward, tt_step_backward_numpy, tt_step_forward,
    tt_step_forward_numpy)

from ..helpers import rel_err


def test_entry_points_use_blas_whatever_the_numba_switch(monkeypatch, rng):
    # the step is a matrix product: BLAS wins (benchmarks/bench_tt_layers.py), so the
    # entry points run the NumPy version with numba on or off
    T = rng.standard_normal((3, 2, 4, 5))
    G = rng.standard_normal((2, 3, 4, 2))
    D = rng.standard_normal((3, 3, 2, 5))
    for flag in ("0", "1"):
        monkeypatch.setenv("TTNET_NUMBA", flag)
        assert np.array_equal(tt_step_forward(T, G), tt_step_forward_numpy(T, G))
        for a, b in zip(tt_step_backward(D, T, G), tt_step_backward_numpy(D, T, G)):
            assert np.array_equal(a, b)


def test_step_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="r0 and n must agree"):
        tt_step_forward(np.ones((2, 3, 4, 5)), np.ones((3, 2, 5, 2)))
    with pytest.raises(ValueError, match="T must be 4-D"):
        tt_step_forward(np.ones((2, 3, 4)), np.ones((3, 2, 4, 2)))
    with pytest.raises(TypeError, match="same dtype"):
        tt_step_forward(np.ones((2, 3, 4, 5), np.float32), np.ones((3, 2, 4, 2)))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 2, 2, 5\)"):
        tt_step_backward(np.ones((2, 2, 2, 4)), np.ones((2, 3, 4, 5)), np.ones((3, 2, 4, 2)))


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), r=st.integers(1, 3),
       seed=st.integers(0, 1000))
def test_full_reconstruction_and_its_reverse_mode(shape, r, seed):
    rng = np.random.default_rng(seed)
    X = TTTensor.random(shape, max_rank=r, rng=rng)
    cores = X.cores
    full, cache = tt_full_forward(cores)
    assert rel_err(full, X.full().ravel()) < 1e-13
    # reverse mode: <dfull, full(cores)> is linear in each core, so its gradient with
    # respect to core k is the contraction of dfull with all the other cores
    dfull = rng.standard_normal(full.shape)
    grads = tt_full_backward(dfull, cores, cache)
    for k, core in enumerate(cores):
        numeric = np.zeros_like(core)
        for idx in np.ndindex(core.shape):
            bumped = [c.copy() for c in cores]
            bumped[k][idx] += 1.0  # exact: the map is linear in core k
            numeric[idx] = dfull @ tt_full_forward(bumped)[0] - dfull @ full
        assert rel_err(grads[k], numeric) < 1e-10


@pytest.mark.parametrize("name", ["tt_step_forward_numba", "tt_step_backward_numba"])
def test_numba_steps_moved_to_contract_loops_still_import_from_contract(name):
    from ttnet.ops import contract, contract_loops
    with pytest.warns(DeprecationWarning, match=f"moved to ttnet.ops.contract_loops.{name}"):
        assert getattr(contract, name) is getattr(contract_loops, name)
    with pytest.raises(AttributeError):
        contract.no_such_name  # noqa: B018
