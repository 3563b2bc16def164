"""The TT core step as explicit loops: numba kernels that the layers do not use.

:func:`ttnet.ops.contract.tt_step_forward` computes one core step,

    out[p, m, r1, q] = Σ_{r0, n} G[r0, m, n, r1] · T[p, r0, n, q],

as one batched BLAS product. This module states the same step, and its reverse
mode, as loops compiled by numba and parallel over ``p``. They earn their place
twice, and nowhere else:

* as the loop-level statement of the step that notebook 04 checks against
  ``einsum`` and the BLAS version;
* as the comparison in ``benchmarks/bench_tt_layers.py``, which runs the TT
  layers with these kernels in place of BLAS and finds BLAS faster on every
  layer shape measured -- so, by the rule "numba only where a benchmark shows
  it wins", the layers never call them and ``TTNET_NUMBA`` does not affect them.

They are tested against their NumPy twins (:func:`~ttnet.ops.contract.tt_step_forward_numpy`,
:func:`~ttnet.ops.contract.tt_step_backward_numpy`), NaN and ±inf included.
Without numba they still run: their loops then execute in the Python
interpreter (same results, much slower).
"""

from __future__ import annotations

import numpy as np

from ..tt.cores import core_step_matrix
from ._numba import num_threads, numba_kernel, prange

__all__ = ["tt_step_forward_numba", "tt_step_backward_numba"]


@numba_kernel
def _step_forward_kernel(T, Gmat, out):  # pragma: no cover - compiled
    """out[p, a, e] = Σ_k Gmat[a, k] T[p, k, e]; prange over p."""
    P, K, Q = T.shape
    A = Gmat.shape[0]
    for p in prange(P):
        for a in range(A):
            for e in range(Q):
                out[p, a, e] = 0
            for k in range(K):
                g = Gmat[a, k]
                for e in range(Q):
                    out[p, a, e] += g * T[p, k, e]


@numba_kernel
def _step_backward_input_kernel(D, Gmat, dT):  # pragma: no cover - compiled
    """dT[p, k, e] = Σ_a Gmat[a, k] D[p, a, e]; prange over p."""
    P, A, Q = D.shape
    K = Gmat.shape[1]
    for p in prange(P):
        for k in range(K):
            for e in range(Q):
                dT[p, k, e] = 0
        for a in range(A):
            for k in range(K):
                g = Gmat[a, k]
                for e in range(Q):
                    dT[p, k, e] += g * D[p, a, e]


@numba_kernel
def _step_backward_core_kernel(D, T, partial):  # pragma: no cover - compiled
    """partial[t, a, k] = Σ_{p in chunk t} Σ_e D[p, a, e] T[p, k, e]; prange over chunks."""
    P, A, Q = D.shape
    K = T.shape[1]
    n_chunks = partial.shape[0]
    for t in prange(n_chunks):
        for p in range(t, P, n_chunks):
            for a in range(A):
                for k in range(K):
                    acc = partial[t, a, k] * 0
                    for e in range(Q):
                        acc += D[p, a, e] * T[p, k, e]
                    partial[t, a, k] += acc


def tt_step_forward_numba(T: np.ndarray, G: np.ndarray) -> np.ndarray:
    """numba kernel of the core step (same signature and result as the NumPy twin)."""
    p, r0, n, q = T.shape
    _, m, _, r1 = G.shape
    out = np.empty((p, m * r1, q), dtype=T.dtype)
    _step_forward_kernel(np.ascontiguousarray(T).reshape(p, r0 * n, q), core_step_matrix(G), out)
    return out.reshape(p, m, r1, q)


def tt_step_backward_numba(dout: np.ndarray, T: np.ndarray,
                           G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """numba kernels of the reverse core step (same signature and result as the NumPy twin)."""
    p, r0, n, q = T.shape
    _, m, _, r1 = G.shape
    D = np.ascontiguousarray(dout).reshape(p, m * r1, q)
    Tm = np.ascontiguousarray(T).reshape(p, r0 * n, q)
    dT = np.empty_like(Tm)
    _step_backward_input_kernel(D, core_step_matrix(G), dT)
    n_chunks = max(1, min(p, 4 * num_threads()))
    partial = np.zeros((n_chunks, m * r1, r0 * n), dtype=T.dtype)
    _step_backward_core_kernel(D, Tm, partial)
    with np.errstate(all="ignore"):       # a kernel's NaN/inf is its result, not a warning
        dG = partial.sum(axis=0).reshape(m, r1, r0, n).transpose(2, 0, 3, 1)
    return dT.reshape(p, r0, n, q), np.ascontiguousarray(dG)
