"""The TT core step as numba loops (ops/contract_loops.py) against its NumPy twin and einsum."""

import numpy as np
from hypothesis import given, strategies as st

from ttnet.ops.contract import tt_step_backward_numpy, tt_step_forward_numpy
from ttnet.ops.contract_loops import tt_step_backward_numba, tt_step_forward_numba

from ..helpers import rel_err

dims = st.integers(1, 5)


@given(p=dims, r0=dims, n=dims, q=dims, m=dims, r1=dims, seed=st.integers(0, 1000),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_numba_kernels_equal_their_numpy_twins_and_einsum(p, r0, n, q, m, r1, seed, dtype):
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((p, r0, n, q)).astype(dtype)
    G = rng.standard_normal((r0, m, n, r1)).astype(dtype)
    D = rng.standard_normal((p, m, r1, q)).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    ref = np.einsum("prnq,rmns->pmsq", T.astype(np.float64), G.astype(np.float64))
    for out in (tt_step_forward_numpy(T, G), tt_step_forward_numba(T, G)):
        assert out.dtype == dtype and out.shape == (p, m, r1, q)
        assert rel_err(out, ref) < tol
    dT_ref = np.einsum("pmsq,rmns->prnq", D.astype(np.float64), G.astype(np.float64))
    dG_ref = np.einsum("pmsq,prnq->rmns", D.astype(np.float64), T.astype(np.float64))
    for dT, dG in (tt_step_backward_numpy(D, T, G), tt_step_backward_numba(D, T, G)):
        assert dT.dtype == dtype and dG.dtype == dtype
        assert rel_err(dT, dT_ref) < tol and rel_err(dG, dG_ref) < tol


def test_nan_propagates_through_the_kernel():
    T = np.ones((2, 1, 2, 3))
    T[0, 0, 0, 0] = np.nan
    out = tt_step_forward_numba(T, np.ones((1, 1, 2, 1)))
    assert np.isnan(out[0, 0, 0, 0]) and np.isfinite(out[1]).all()
