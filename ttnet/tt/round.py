"""Orthogonalisation and rounding of TT-tensors (Oseledets 2011, Algorithm 2).

Rounding recompresses a TT-tensor whose ranks are larger than needed -- for
example the sum ``X + Y``, whose ranks are the sums of the summands' ranks --
without ever forming the dense array:

1. Orthogonalise right to left with QR: afterwards cores 2..d are
   *right-orthonormal* (their ``(r_{k-1}) × (n_k r_k)`` unfoldings have
   orthonormal rows), so the whole tensor's norm sits in core 1 and an SVD of
   a core's unfolding is an SVD of the corresponding unfolding of the tensor.
2. Sweep left to right with truncated SVDs, each with tolerance
   ``δ = eps ‖X‖_F / √(d−1)``, exactly as in TT-SVD, which gives the same bound
   ``‖X − round(X)‖_F <= eps ‖X‖_F``.

The cost is ``O(d n r³)`` instead of the ``O(n^d)`` of a dense TT-SVD.

As in TT-SVD, :func:`tt_round` computes in float64 (float32 cores convert
exactly) and rounds the result to float32 once, at the end, with the same
accounting (``docs/tt_format.md`` §5 and §7). Every core is kept at a largest
entry of about 1 by powers of two, with the scale carried as an integer
exponent (:func:`orthogonalized`), so no product of cores can overflow or
underflow on the way. The round-off floor is that of the float64 arithmetic,
not of the data's dtype: the QR sweeps leave errors of about ε‖X‖_F per entry of
each core (ε the float64 machine epsilon), accumulated over up to d steps, so
step k drops tails below ``ε sqrt(d m n) ‖X‖_F`` for its ``m × n`` core
unfolding. That removes the exact redundancy of sums such as ``X + X`` in
float32 and float64 alike.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._checks import check_eps
from ._scaling import normalized, store_cores
from .ranks import resolve_ranks
from .svd import EPS64, accuracy_terms, truncation_budget, truncated_svd
from .tensor import TTTensor


def orthogonalize_left_to_right(cores: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Make cores 1..d−1 left-orthonormal; return new cores representing the same tensor.

    For k = 1..d−1: ``G_k`` unfolded to ``(r_{k-1} n_k) × r_k`` is factored
    ``Q R``; ``Q`` replaces the core and ``R`` is multiplied into ``G_{k+1}``.
    Afterwards ``‖X‖_F = ‖G_d‖_F``. Ranks can only shrink (to ``min(r_{k-1} n_k, r_k)``).
    """
    out = [np.asarray(c) for c in cores]
    for k in range(len(out) - 1):
        r0, n_k, r1 = out[k].shape
        q, r = np.linalg.qr(out[k].reshape(r0 * n_k, r1))
        out[k] = q.reshape(r0, n_k, q.shape[1])
        nxt = out[k + 1]
        out[k + 1] = (r @ nxt.reshape(nxt.shape[0], -1)).reshape(r.shape[0], *nxt.shape[1:])
    return out


def orthogonalize_right_to_left(cores: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Make cores 2..d right-orthonormal; return new cores representing the same tensor.

    For k = d..2: ``G_k`` unfolded to ``r_{k-1} × (n_k r_k)`` is factored
    ``Rᵀ Qᵀ`` (a QR of its transpose); ``Qᵀ`` replaces the core and ``Rᵀ`` is
    multiplied into ``G_{k-1}`` from the right. Afterwards ``‖X‖_F = ‖G_1‖_F``.
    """
    out = [np.asarray(c) for c in cores]
    for k in range(len(out) - 1, 0, -1):
        r0, n_k, r1 = out[k].shape
        q, r = np.linalg.qr(out[k].reshape(r0, n_k * r1).T)
        out[k] = q.T.reshape(q.shape[1], n_k, r1)
        prv = out[k - 1]
        out[k - 1] = (prv.reshape(-1, r0) @ r.T).reshape(*prv.shape[:-1], r.shape[0])
    return out


def orthogonalized(cores: Sequence[np.ndarray],
                   left_to_right: bool) -> tuple[list[np.ndarray], int]:
    """Scale-safe float64 orthogonalisation: ``(G, e)`` with ``X = 2**e · TT(G)``.

    As :func:`orthogonalize_left_to_right` (or ``_right_to_left``), but on
    float64 copies, and every core that is not yet orthonormal is rescaled by a
    power of two to a largest entry in [0.5, 1) before it is used, the factor
    going into the exponent e. So the result is exact to float64 round-off for
    cores of any scale and any number of cores. Afterwards
    ``‖X‖_F = 2**e ‖G_d‖_F`` (or ``‖G_1‖_F``).
    """
    out, exponent = [], 0
    for core in cores:
        scaled, e = normalized(np.array(core, dtype=np.float64))
        out.append(scaled)
        exponent += e
    d = len(out)
    order = range(d - 1) if left_to_right else range(d - 1, 0, -1)
    for k in order:
        r0, n_k, r1 = out[k].shape
        if left_to_right:
            q, r = np.linalg.qr(out[k].reshape(r0 * n_k, r1))
            out[k] = q.reshape(r0, n_k, q.shape[1])
            nxt = out[k + 1]
            nxt = (r @ nxt.reshape(nxt.shape[0], -1)).reshape(r.shape[0], *nxt.shape[1:])
            out[k + 1], e = normalized(nxt)
        else:
            q, r = np.linalg.qr(out[k].reshape(r0, n_k * r1).T)
            out[k] = q.T.reshape(q.shape[1], n_k, r1)
            prv = out[k - 1]
            prv = (prv.reshape(-1, r0) @ r.T).reshape(*prv.shape[:-1], r.shape[0])
            out[k - 1], e = normalized(prv)
        exponent += e
    return out, exponent


def tt_round(X: TTTensor, eps: float | None = None, max_rank: Any = None) -> TTTensor:
    """Round (recompress) a TT-tensor to lower TT-ranks.

    Guarantees
    ----------
    With ``eps``: ``‖X − Y‖_F <= eps ‖X‖_F`` for cores of any scale (computed in
    float64 with power-of-two rescaling), up to float64 round-off relative to
    the size of X's cores (which matters only if X is a near-cancelling sum of
    much larger tensors), unless a rank cap binds. As in
    :func:`ttnet.tt.svd.tt_svd`, a float32 result accounts for the rounding of
    its cores (so the smallest guaranteed ``eps`` is about ``u (1 + Σ_k √r_k)``,
    u = 6e-8, for float32 and about 1e-14 for float64), and a positive ``eps``
    below that floor gets an :class:`~ttnet.tt.svd.AccuracyWarning` and the
    floor instead. With
    ``max_rank``: ``Y.ranks[k] <= max_rank``; for ``d = 2`` Y is then the best
    approximation of that rank. With neither: ``Y`` equals ``X`` to round-off,
    with ranks reduced to the numerical ranks (so ``(X + X).round()`` has the
    ranks of ``X``).

    Parameters
    ----------
    X : TTTensor
    eps : float in [0, 1), optional
        Relative accuracy.
    max_rank : int or sequence of int, optional
        Rank cap, as in :func:`ttnet.tt.svd.tt_svd`.

    Returns
    -------
    TTTensor of the same shape and dtype; cores 1..d−1 left-orthonormal, the
    last carrying the norm (unless the scale needs spreading, as in ``tt_svd``).

    Warns
    -----
    AccuracyWarning
        If ``eps`` is positive but below the floor that can be guaranteed.
    """
    if not isinstance(X, TTTensor):
        raise TypeError(f"X must be a TTTensor, got {type(X).__name__}")
    eps = check_eps(eps)
    caps = resolve_ranks(max_rank, X.shape, "max_rank")
    d = X.ndim
    if d == 1:
        return X.copy()
    cores, exponent = orthogonalized(X.cores, left_to_right=False)
    right = [c.shape[2] for c in cores[:-1]]

    def floor_factor(m: int, n: int) -> float:
        return EPS64 * math.sqrt(d * m * n)

    eps_floor, rho = accuracy_terms(X.shape, right, caps, X.dtype, floor_factor)
    norm = float(np.linalg.norm(cores[0].ravel()))
    delta = truncation_budget(eps, eps_floor, rho, d, "tt_round") * norm
    for k in range(d - 1):
        r0, n_k, r1 = cores[k].shape
        tol = max(delta, floor_factor(r0 * n_k, r1) * norm)
        U, W = truncated_svd(cores[k].reshape(r0 * n_k, r1), tol, caps[k + 1], method="svd")
        cores[k] = U.reshape(r0, n_k, U.shape[1])
        nxt = cores[k + 1]
        cores[k + 1] = (W @ nxt.reshape(r1, -1)).reshape(W.shape[0], *nxt.shape[1:])
    return TTTensor(store_cores(cores, exponent, X.dtype))
