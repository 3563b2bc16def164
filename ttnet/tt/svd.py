"""TT-SVD (Oseledets 2011, Algorithm 1) and the truncation rule it rests on.

The TT-SVD sweeps over the modes of a dense array A from left to right. At step
k the remaining data is a matrix C_k of size ``(r_{k-1} n_k) × (n_{k+1} … n_d)``;
a truncated SVD ``C_k ≈ U_k S_k V_kᵀ`` gives the k-th core (``U_k`` reshaped to
``(r_{k-1}, n_k, r_k)``) and the data for the next step (``S_k V_kᵀ``).

Error bound (Oseledets 2011, Theorem 2.2): if every step discards singular
values whose root sum of squares is at most δ, then ``‖A − TT‖_F ≤ √(d−1) δ``.
Choosing ``δ = eps · ‖A‖_F / √(d−1)`` therefore guarantees
``‖A − TT‖_F ≤ eps · ‖A‖_F``. The step errors add in squares because each one
is orthogonal to everything kept before it (``U_k`` has orthonormal columns).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import as_float_array, check_eps
from .modes import resolve_ranks
from .tensor import TTTensor

# Unit round-off of the float64 arithmetic the Gram path uses.
_U64 = np.finfo(np.float64).eps
# Safety factor between the Gram path's eigenvalue noise and the smallest
# quantity (δ² or the last kept σ²) that a truncation decision depends on.
_GRAM_SAFETY = 1e3


def roundoff_tolerance(norm: float, shape: tuple[int, int], dtype: Any) -> float:
    """The round-off level ``δ_0 = u · sqrt(m n) · ‖C‖_F`` of an ``m × n`` matrix.

    ``u`` is the unit round-off of ``dtype`` (``np.finfo(dtype).eps``). Rounding
    every entry of C to that precision perturbs it by up to about this much in
    Frobenius norm, so a singular-value tail below ``δ_0`` carries no
    information; :func:`truncation_rank` never keeps one. (A per-value floor such
    as ``np.linalg.matrix_rank``'s ``σ_0 · max(m, n) · u`` would be too coarse
    here: for a float32 unfolding with a million columns it drops everything
    below ``0.12 σ_0``.)
    """
    m, n = shape
    return float(np.finfo(dtype).eps * math.sqrt(m * n) * norm)


def truncation_rank(singular_values: np.ndarray, delta: float = 0.0,
                    max_rank: int | None = None, *, shape: tuple[int, int] | None = None,
                    dtype: Any = np.float64) -> int:
    """Number of singular values to keep: the TT-SVD truncation rule.

    The rank ``r`` is the smallest one whose discarded tail satisfies

        sqrt(σ_r² + σ_{r+1}² + …) <= max(delta, δ_0)

    (0-based σ, sorted in decreasing order), then lowered to ``max_rank``;
    ``δ_0`` is the round-off level of :func:`roundoff_tolerance`, so
    ``delta = 0`` gives the numerical rank and the dropped part is always at most
    ``max(delta, δ_0)``. At least one value is kept.

    Parameters
    ----------
    singular_values : ndarray, shape (k,)
        Non-negative, in decreasing order.
    delta : float
        Allowed Frobenius norm of the discarded part.
    max_rank : int, optional
        Upper bound on the rank.
    shape : (m, n), optional
        Shape of the matrix the values come from (for ``δ_0``); defaults to ``(k, k)``.
    dtype : dtype
        Precision of the data (for ``δ_0``).

    Returns
    -------
    int, ``1 <= r <= k``.
    """
    s = np.asarray(singular_values, dtype=np.float64)
    k = s.shape[0]
    if k == 0:
        raise ValueError("singular_values must not be empty")
    if shape is None:
        shape = (k, k)
    # tail[r] = sum of squares of s[r:], tail[k] = 0
    tail = np.concatenate([np.cumsum((s * s)[::-1])[::-1], [0.0]])
    tol = max(delta, roundoff_tolerance(math.sqrt(tail[0]), shape, dtype))
    r = int(np.argmax(tail <= tol * tol))  # first r with tail <= tol²
    if max_rank is not None:
        r = min(r, max_rank)
    return max(r, 1)


def truncated_svd(C: np.ndarray, delta: float = 0.0, max_rank: int | None = None,
                  *, method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Truncated SVD of one TT-SVD step: ``C ≈ U · W`` with ``W = S Vᵀ``.

    Parameters
    ----------
    C : ndarray, shape (m, n)
        float32 or float64.
    delta : float
        Allowed Frobenius norm of the discarded part (see :func:`truncation_rank`).
    max_rank : int, optional
        Upper bound on the kept rank.
    method : {"auto", "svd", "gram"}
        ``"svd"``: LAPACK's ``gesdd`` on C (``np.linalg.svd``).
        ``"gram"``: for a wide C (m ≪ n), the eigendecomposition of the small
        Gram matrix ``C Cᵀ = U Λ Uᵀ`` (computed in float64) gives the left
        singular vectors and ``σ_i = sqrt(λ_i)``; then ``W = U_rᵀ C``. This is
        exact in exact arithmetic and costs ``m² n`` for the Gram matrix plus
        ``O(m³)`` instead of LAPACK's ``O(m² n)`` with a large constant, but
        the eigenvalues carry an absolute error of about ``m · u · ‖C‖_F²``
        (u = float64 round-off), so singular values below ``sqrt(m u) ‖C‖_F``
        are not resolved.
        ``"auto"`` uses ``"gram"`` when C is wide or square (``m <= n``) and
        the truncation decision only depends on singular values well above
        that noise level (checked after the eigendecomposition; with a
        tolerance, the discarded norm ``‖C‖² − ‖U_rᵀC‖²`` is verified too),
        otherwise ``"svd"``. On the unfoldings of TT-SVD this is 3–10× faster
        (``benchmarks/bench_tt_svd.py``).

    Returns
    -------
    U : ndarray, shape (m, r), orthonormal columns
    W : ndarray, shape (r, n), ``W = S_r V_rᵀ = U_rᵀ C``
        Both in C's dtype.
    """
    if method not in ("auto", "svd", "gram"):
        raise ValueError(f"method must be 'auto', 'svd' or 'gram', got {method!r}")
    m, n = C.shape
    if method == "gram" or (method == "auto" and m <= n):
        result = _truncated_svd_gram(C, delta, max_rank, check=(method == "auto"))
        if result is not None:
            return result
    U, s, Vt = np.linalg.svd(C, full_matrices=False)
    r = truncation_rank(s, delta, max_rank, shape=C.shape, dtype=C.dtype)
    return U[:, :r], s[:r, None].astype(C.dtype) * Vt[:r]


def _truncated_svd_gram(C: np.ndarray, delta: float, max_rank: int | None,
                        check: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Gram-matrix path of :func:`truncated_svd`; returns None if it cannot decide safely."""
    C64 = C.astype(np.float64, copy=False)
    gram = C64 @ C64.T  # NumPy calls BLAS syrk for X @ X.T
    lam, vecs = np.linalg.eigh(gram)  # ascending
    lam = np.maximum(lam[::-1], 0.0)
    vecs = vecs[:, ::-1]
    m = C.shape[0]
    norm2 = float(np.sum(lam))  # = ‖C‖_F²
    noise = m * _U64 * norm2
    r = truncation_rank(np.sqrt(lam), delta, max_rank, shape=C.shape, dtype=C.dtype)
    tol = max(delta, roundoff_tolerance(math.sqrt(norm2), C.shape, C.dtype))
    cap = m if max_rank is None else min(max_rank, m)
    kept_resolved = lam[r - 1] >= _GRAM_SAFETY * noise
    if tol * tol >= _GRAM_SAFETY * noise:
        # the tolerance is far above the eigenvalue noise; if the rank cap binds,
        # the last kept singular vector must be resolved too
        resolved = r < cap or r == m or kept_resolved
    else:
        # the tolerance is lost in the noise: only a rank cap may truncate, and
        # every kept σ² must be resolved
        resolved = r == cap and kept_resolved
    if check and not resolved:
        return None
    U = vecs[:, :r]
    W = U.T @ C64
    if check and r < cap:
        # Pythagoras: the discarded part has squared norm ‖C‖² − ‖U_rᵀ C‖² because
        # U_r has orthonormal columns; verify the bound instead of trusting the
        # eigenvalue tail (cheap: r·n operations).
        if norm2 - float(np.sum(W * W)) > tol * tol:
            return None
    return U.astype(C.dtype), W.astype(C.dtype, copy=False)


def tt_svd(A: Any, eps: float | None = None, max_rank: Any = None) -> TTTensor:
    """Decompose a dense array into the tensor-train format (TT-SVD).

    Oseledets (2011), Algorithm 1: a left-to-right sweep of truncated SVDs of the
    unfoldings ``(r_{k-1} n_k) × (n_{k+1} … n_d)``; see the module docstring
    and ``docs/tt_format.md`` for the derivation.

    Guarantees
    ----------
    * With ``eps``: ``‖A − TT‖_F <= eps · ‖A‖_F`` (up to round-off), because
      every step discards at most ``δ = eps ‖A‖_F / √(d−1)``.
    * With ``max_rank``: ``TT.ranks[k] <= max_rank`` (or ``max_rank[k-1]``); for
      ``d = 2`` the result is the best rank-r approximation (Eckart–Young).
    * With both: both hold for the ranks; the error bound holds whenever the
      rank cap does not bind.
    * With neither: exact to round-off; only singular-value tails below the
      round-off level (:func:`roundoff_tolerance`) are dropped, so a low-rank
      tensor gets its numerical TT-ranks.

    Parameters
    ----------
    A : array_like, shape (n_1, …, n_d)
        Real, finite data. float32 stays float32; integers become float64.
    eps : float in [0, 1), optional
        Relative accuracy.
    max_rank : int or sequence of int, optional
        A cap on every TT-rank (int), or one cap per bond (``d − 1`` values, or
        the full ``d + 1`` tuple with 1 at both ends). A per-bond value above the
        theoretical maximum (:func:`max_ranks`) is clipped with a
        :class:`RankClippedWarning`.

    Returns
    -------
    TTTensor with cores of shape ``(r_{k-1}, n_k, r_k)`` in A's dtype.

    Raises
    ------
    TypeError
        Non-numeric ``A``, or ``eps`` / ``max_rank`` of the wrong type.
    ValueError
        NaN or Inf in ``A``, a 0-d ``A``, ``eps`` outside [0, 1), a rank < 1, or
        the wrong number of per-bond ranks.
    """
    A = as_float_array(A, "A", min_ndim=1)
    eps = check_eps(eps)
    shape = A.shape
    if A.size == 0:
        raise ValueError(f"A must not be empty, got shape {shape}")
    d = len(shape)
    caps = resolve_ranks(max_rank, shape, "max_rank")
    delta = 0.0
    if eps is not None and eps > 0.0 and d > 1:
        delta = eps * float(np.linalg.norm(A.ravel())) / math.sqrt(d - 1)

    cores = []
    remainder = A.reshape(shape[0], -1)
    r_prev = 1
    for k in range(d - 1):
        remainder = remainder.reshape(r_prev * shape[k], -1)
        U, remainder = truncated_svd(remainder, delta, caps[k + 1])
        r = U.shape[1]
        cores.append(U.reshape(r_prev, shape[k], r))
        r_prev = r
    cores.append(np.ascontiguousarray(remainder).reshape(r_prev, shape[-1], 1))
    return TTTensor(cores)
