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

Finite precision (``docs/tt_format.md`` §5). The sweep runs in float64 whatever
the data's dtype (float32 data convert exactly), on a copy scaled by a power of
two where needed, so no norm or Gram matrix can overflow. float32 results are
rounded to float32 once, at the end; that perturbs the tensor by at most
``ρ ‖A‖_F`` (:func:`_storage_error`), and the truncation budget is
``eps − ρ``. Below :func:`achievable_eps` no bound can be promised: the
requested ``eps`` is then replaced by that floor, with an :class:`AccuracyWarning`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .._checks import as_float_array, check_dtype, check_eps, check_int_sequence
from ._scaling import max_abs, pow2_exponent, store_cores
from .ranks import resolve_ranks, user_stacklevel
from .tensor import TTTensor

# Machine epsilon of float64, the working precision of every truncated SVD.
EPS64 = float(np.finfo(np.float64).eps)
# Safety factor between the Gram path's eigenvalue noise and the smallest
# quantity (δ² or the last kept σ²) that a truncation decision depends on.
_GRAM_SAFETY = 1e3
# float64 data whose largest entry lies outside [2**-400, 2**400] are scaled by a
# power of two first, so that squares and sums of squares stay in range.
_SAFE_EXPONENT = 400


class AccuracyWarning(UserWarning):
    """The requested ``eps`` is below the accuracy that can be guaranteed for the data's dtype.

    The computation goes on with the smallest guaranteed accuracy instead, which
    the message states (see :func:`achievable_eps`).
    """


def roundoff_tolerance(norm: float, shape: tuple[int, int], dtype: Any) -> float:
    """The round-off level ``δ_0 = ε · sqrt(min(m, n)) · ‖C‖_F`` of an ``m × n`` matrix.

    ``ε = np.finfo(dtype).eps`` is the machine epsilon of the data's dtype
    (twice the unit round-off ``u``). Rounding the entries of C to that
    precision perturbs C by at most ``u ‖C‖_F`` in Frobenius norm (each entry
    moves by at most ``u`` times itself), and such a perturbation adds a
    singular-value tail of norm at most ``u ‖C‖_F`` to a low-rank matrix
    (Mirsky's theorem). Data computed in that precision carry a few more
    rounding errors per entry (each of the ``min(m, n)`` singular directions
    picks up some), so the floor allows ``2 sqrt(min(m, n))`` times that; a tail
    below ``δ_0`` is treated as noise and never kept (:func:`truncation_rank`),
    so ``tt_svd(A)`` finds numerical ranks. The floor costs accuracy only when
    the requested tolerance is smaller than it, and :func:`achievable_eps`
    accounts for that. (A per-value floor such as ``np.linalg.matrix_rank``'s
    ``σ_0 · max(m, n) · ε`` would be too coarse: for a float32 unfolding with a
    million columns it drops everything below ``0.12 σ_0``.)
    """
    m, n = shape
    return float(np.finfo(dtype).eps) * math.sqrt(min(m, n)) * norm


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
                  *, method: str = "auto", data_dtype: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Truncated SVD of one TT-SVD step: ``C ≈ U · W`` with ``W = S Vᵀ``.

    Computed in float64 whatever C's dtype; the factors are returned in C's dtype.

    Parameters
    ----------
    C : ndarray, shape (m, n)
        float32 or float64.
    delta : float
        Allowed Frobenius norm of the discarded part (see :func:`truncation_rank`).
    max_rank : int, optional
        Upper bound on the kept rank.
    method : {"auto", "svd", "qr", "gram"}
        ``"svd"``: LAPACK's ``gesdd`` on C (``np.linalg.svd``).
        ``"qr"``: for a wide C (``m <= n``), a Householder QR ``Cᵀ = Q R``
        (LAPACK ``geqrf``) and the SVD of the small ``m × m`` triangle:
        ``C = Rᵀ Qᵀ = U Σ (Q Z)ᵀ`` if ``Rᵀ = U Σ Zᵀ``; then ``W = U_rᵀ C``.
        As accurate as ``"svd"`` (both are backward stable) and several times
        faster on long unfoldings, because no right singular vectors are formed.
        ``"gram"``: for a wide C, the eigendecomposition of the small
        Gram matrix ``C Cᵀ = U Λ Uᵀ`` gives the left singular vectors and
        ``σ_i = sqrt(λ_i)``; then ``W = U_rᵀ C``. This costs ``m² n`` for the
        Gram matrix plus ``O(m³)``, but the eigenvalues carry an absolute error
        of about ``m · ε · ‖C‖_F²`` (ε = float64 machine epsilon), so singular
        values below ``sqrt(m ε) ‖C‖_F`` are not resolved.
        ``"auto"`` uses ``"gram"`` when C is wide or square (``m <= n``) and
        the truncation decision only depends on singular values well above
        that noise level (checked after the eigendecomposition); when the
        tolerance chose the rank, the discarded norm ``‖C‖² − ‖U_rᵀC‖²`` is
        verified against ``delta`` with a margin for its own round-off.
        Otherwise it uses ``"qr"`` for a wide C and ``"svd"`` for a tall one.
        On the unfoldings of TT-SVD the Gram path is 3–10× faster
        (``benchmarks/bench_tt_svd.py``).
    data_dtype : dtype, optional
        The dtype whose round-off sets the floor δ_0 of :func:`truncation_rank`
        (default: C's dtype). :func:`tt_svd` passes float32 here when it works on
        a float64 copy of float32 data.

    Returns
    -------
    U : ndarray, shape (m, r), orthonormal columns
    W : ndarray, shape (r, n), ``W = S_r V_rᵀ = U_rᵀ C``
        Both in C's dtype. In float64 the discarded part satisfies
        ``‖C − U W‖_F <= max(delta, δ_0)`` up to float64 round-off, unless
        ``max_rank`` binds; rounding to float32 adds at most ``u (√r + 1) ‖C‖_F``.
    """
    if method not in ("auto", "svd", "qr", "gram"):
        raise ValueError(f"method must be 'auto', 'svd', 'qr' or 'gram', got {method!r}")
    data_dtype = C.dtype if data_dtype is None else check_dtype(data_dtype, "data_dtype")
    C64 = C.astype(np.float64, copy=False)
    m, n = C.shape
    result = None
    if method == "gram" or (method == "auto" and m <= n):
        result = _truncated_svd_gram(C64, delta, max_rank, data_dtype, check=(method == "auto"))
    if result is None:
        if method == "qr" or (method == "auto" and m <= n):
            if m > n:
                raise ValueError(
                    f"method 'qr' needs a wide or square C (m <= n), got shape {C.shape}")
            result = _truncated_svd_qr(C64, delta, max_rank, data_dtype)
        else:
            U, s, Vt = np.linalg.svd(C64, full_matrices=False)
            r = truncation_rank(s, delta, max_rank, shape=C.shape, dtype=data_dtype)
            result = U[:, :r], s[:r, None] * Vt[:r]
    U, W = result
    return U.astype(C.dtype, copy=False), W.astype(C.dtype, copy=False)


def _truncated_svd_qr(C64: np.ndarray, delta: float, max_rank: int | None,
                      data_dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """QR path of :func:`truncated_svd` for a wide float64 C (``m <= n``)."""
    R = np.linalg.qr(C64.T, mode="r")  # (m, m): Cᵀ = Q R, so C = Rᵀ Qᵀ
    U, s, _ = np.linalg.svd(R.T)        # Rᵀ = U Σ Zᵀ, so C = U Σ (Q Z)ᵀ
    r = truncation_rank(s, delta, max_rank, shape=C64.shape, dtype=data_dtype)
    U = U[:, :r]
    return U, U.T @ C64


def _truncated_svd_gram(C64: np.ndarray, delta: float, max_rank: int | None, data_dtype: Any,
                        check: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Gram-matrix path of :func:`truncated_svd`; returns None if it cannot decide safely."""
    m, n = C64.shape
    gram = C64 @ C64.T  # NumPy calls BLAS syrk for X @ X.T
    norm2 = float(np.trace(gram))  # ‖C‖_F²
    lam, vecs = np.linalg.eigh(gram)  # ascending
    lam = np.maximum(lam[::-1], 0.0)
    vecs = vecs[:, ::-1]
    noise = m * EPS64 * norm2
    sigma = np.sqrt(lam)
    tol = max(delta, roundoff_tolerance(math.sqrt(norm2), C64.shape, data_dtype))
    r_tol = truncation_rank(sigma, delta, None, shape=C64.shape, dtype=data_dtype)
    cap = m if max_rank is None else min(max_rank, m)
    r = min(r_tol, cap)
    tol_resolved = tol * tol >= _GRAM_SAFETY * noise
    kept_resolved = lam[r - 1] >= _GRAM_SAFETY * noise
    if r == m:
        resolved = tol_resolved or kept_resolved  # nothing dropped
    elif r_tol <= cap:
        resolved = tol_resolved  # the tolerance chose r (verified below)
    else:
        resolved = kept_resolved  # the cap chose r: the kept subspace must be well defined
    if check and not resolved:
        return None
    U = vecs[:, :r]
    W = U.T @ C64
    if check and r < m and r_tol <= cap:
        # Pythagoras: the discarded part has squared norm ‖C‖² − ‖U_rᵀ C‖² because
        # U_r has orthonormal columns; verify the bound instead of trusting the
        # eigenvalue tail (cheap: r·n operations). The margin covers the float64
        # round-off of the two sums of squares (n and m terms per entry) and of
        # the near-orthonormality of U_r.
        margin = (n + 2 * m * math.sqrt(m)) * EPS64 * norm2
        if norm2 - float(np.sum(W * W)) + margin > tol * tol:
            return None
    return U, W


def accuracy_terms(modes: Sequence[int], right_sizes: Sequence[int], caps: Sequence[int],
                   out_dtype: Any, floor_factor: Callable[[int, int], float]
                   ) -> tuple[float, float]:
    """``(achievable eps, ρ)`` for a left-to-right truncation sweep.

    Step k (k = 1..d−1) truncates a matrix with ``r_{k-1} n_k`` rows and
    ``right_sizes[k-1]`` columns (``n_{k+1} … n_d`` for TT-SVD, the rank of the
    orthogonalised input for rounding); ``caps`` is the full rank tuple of
    upper bounds. From them follow bounds ``R_k`` on the kept ranks and on the
    matrix's shape. The round-off floor of step k is at most
    ``floor_factor(rows, columns) ‖A‖_F``; it never binds if the per-step
    budget ``(eps − ρ) ‖A‖_F / √(d−1)`` exceeds it, hence

        achievable eps = ρ + √(d−1) · max_k floor_factor(rows_k, columns_k),

    with ρ = :func:`_storage_error` of the bounds ``R_k``.
    """
    rank, factors, rank_bounds = 1, [], []
    for k in range(len(modes) - 1):
        rows, cols = rank * modes[k], right_sizes[k]
        rank = min(caps[k + 1], rows, cols)
        factors.append(floor_factor(rows, cols))
        rank_bounds.append(rank)
    rho = _storage_error(rank_bounds, out_dtype)
    if not factors:
        return 0.0, 0.0
    return rho + math.sqrt(len(factors)) * max(factors), rho


def _svd_floor_factor(dtype: Any) -> Callable[[int, int], float]:
    """TT-SVD's floor per unit norm, ``ε_data sqrt(min(m, n))`` (:func:`roundoff_tolerance`)."""
    return lambda m, n: roundoff_tolerance(1.0, (m, n), dtype)


def _storage_error(rank_bounds: Sequence[int], dtype: Any) -> float:
    """ρ: relative change of a TT-tensor when its float64 cores are rounded to ``dtype``.

    The cores are left-orthonormal except the last (the layout of TT-SVD and
    rounding). Rounding entrywise to unit round-off ``u`` moves core k by
    ``E_k`` with ``‖E_k‖_2 <= ‖E_k‖_F <= u ‖G_k‖_F = u √r_k`` and the last core
    by at most ``u`` times its norm ``‖X‖_F``. Replacing the cores one at a
    time (a telescoping sum; the later cores have right factors of norm
    ``‖X‖_F``, the earlier ones operator norm ``<= 1 + u √r_j``) gives

        ‖X − fl(X)‖_F <= ρ ‖X‖_F,   ρ = (1 + u) Π_k (1 + u √r_k) − 1,

    about ``u (1 + Σ_k √r_k)``. Zero for float64, where nothing is rounded.
    """
    if np.dtype(dtype) == np.float64:
        return 0.0
    u = float(np.finfo(dtype).eps) / 2
    product = 1.0 + u
    for r in rank_bounds:
        product *= 1.0 + u * math.sqrt(r)
    return product - 1.0


def achievable_eps(shape: Sequence[int], dtype: Any = np.float64, max_rank: Any = None) -> float:
    """The smallest ``eps`` for which :func:`tt_svd` guarantees its bound for this shape and dtype.

    For ``eps >= achievable_eps(A.shape, A.dtype, max_rank)``,
    ``tt_svd(A, eps, max_rank)`` returns a TT with ``‖A − TT‖_F <= eps ‖A‖_F``
    (up to the float64 round-off of the sweep itself, about ``1e-15``, when the
    rank cap does not bind). A smaller positive ``eps`` gets an
    :class:`AccuracyWarning` and this bound instead; ``eps = None`` or 0
    (no truncation) also meets it. The value is
    ``ρ + √(d−1) · ε · sqrt(max_k K_k)`` (see ``docs/tt_format.md`` §5): ε the
    machine epsilon of ``dtype``, ``K_k`` a bound on the smaller side of the
    k-th unfolding and ρ the effect of rounding the cores to float32 (0 for
    float64). Between about ``1e-6`` and ``2e-5`` for float32 and near ``1e-15``
    for float64 (e.g. ``1.1e-5`` and ``1.5e-14`` for the modes (32, 48, 64, 128)
    of the paper's 1536 × 8192 layer).

    Parameters
    ----------
    shape : sequence of int
        ``(n_1, …, n_d)``.
    dtype : np.float32 or np.float64
        The dtype of the data (and of the result).
    max_rank : int or sequence of int, optional
        As in :func:`tt_svd` (smaller caps give a smaller floor).

    Returns
    -------
    float (0.0 for d = 1, where TT-SVD is exact).
    """
    shape = check_int_sequence(shape, "shape", minimum=1)
    dtype = check_dtype(dtype)
    caps = resolve_ranks(max_rank, shape, "max_rank")
    right = [math.prod(shape[k + 1:]) for k in range(len(shape) - 1)]
    return accuracy_terms(shape, right, caps, dtype, _svd_floor_factor(dtype))[0]


def truncation_budget(eps: float | None, eps_floor: float, rho: float, d: int,
                      what: str) -> float:
    """Relative truncation budget per step, ``(eps − ρ) / √(d−1)``; warns below the floor."""
    if eps is None or eps == 0.0 or d == 1:
        return 0.0
    if eps < eps_floor:
        warnings.warn(
            f"{what}: eps = {eps:.3g} is below the accuracy that can be guaranteed here "
            f"({eps_floor:.2g}); the result satisfies the bound with eps = {eps_floor:.2g} instead",
            AccuracyWarning, stacklevel=user_stacklevel())
    return max(eps - rho, 0.0) / math.sqrt(d - 1)


def _working_copy(A: np.ndarray) -> tuple[np.ndarray, int]:
    """``(B, e)`` with ``A = 2**e · B``: B float64, its squares and their sums in range.

    float32 data are converted (exactly); float64 data are used as they are
    unless their largest entry lies outside ``[2**-400, 2**400]``, in which
    case they are scaled by a power of two (exact, barring entries 2**1000
    times smaller than the largest, which no relative bound can see).
    """
    if A.dtype == np.float32:
        return A.astype(np.float64), 0
    e = pow2_exponent(max_abs(A))
    if -_SAFE_EXPONENT <= e <= _SAFE_EXPONENT:
        return A, 0
    return np.ldexp(A, -e), e


def tt_svd(A: Any, eps: float | None = None, max_rank: Any = None) -> TTTensor:
    """Decompose a dense array into the tensor-train format (TT-SVD).

    Oseledets (2011), Algorithm 1: a left-to-right sweep of truncated SVDs of the
    unfoldings ``(r_{k-1} n_k) × (n_{k+1} … n_d)``; see the module docstring
    and ``docs/tt_format.md`` for the derivation. The sweep runs in float64 (on
    a copy scaled by a power of two if needed); float32 results are rounded to
    float32 at the end, which the bound accounts for.

    Guarantees
    ----------
    * With ``eps >= achievable_eps(A.shape, A.dtype, max_rank)`` (1e-6 to 2e-5
      for float32, about 1e-15 for float64): ``‖A − TT‖_F <= eps · ‖A‖_F``, for every
      finite A of any scale, up to the float64 round-off of the sweep (about
      1e-15 relative), unless a rank cap binds. Every step discards at most
      ``δ = (eps − ρ) ‖A‖_F / √(d−1)``, where ρ bounds the effect of rounding
      the cores to float32 (0 for float64).
    * With a smaller positive ``eps``: an :class:`AccuracyWarning`, and the bound
      holds with ``achievable_eps`` in place of ``eps``.
    * With ``max_rank``: ``TT.ranks[k] <= max_rank`` (or ``max_rank[k-1]``); for
      ``d = 2`` the result is the best rank-r approximation (Eckart–Young).
    * With both: both hold for the ranks; the error bound holds whenever the
      rank cap does not bind.
    * With neither (or ``eps = 0``): exact to round-off,
      ``‖A − TT‖_F <= achievable_eps · ‖A‖_F``; only singular-value tails below
      the round-off level (:func:`roundoff_tolerance`) are dropped, so a
      low-rank tensor gets its numerical TT-ranks.

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
    TTTensor with cores of shape ``(r_{k-1}, n_k, r_k)`` in A's dtype. Cores
    1..d−1 are left-orthonormal and the last carries the norm, unless ‖A‖_F is
    so large or small (outside about [1e-19, 2e19] for float32) that the last
    core could overflow or underflow: then every core gets a power-of-two share
    of the scale.

    Raises
    ------
    TypeError
        Non-numeric ``A``, or ``eps`` / ``max_rank`` of the wrong type.
    ValueError
        NaN or Inf in ``A``, a 0-d ``A``, ``eps`` outside [0, 1), a rank < 1, or
        the wrong number of per-bond ranks.

    Warns
    -----
    AccuracyWarning
        If ``0 < eps < achievable_eps(A.shape, A.dtype, max_rank)``.
    """
    A = as_float_array(A, "A", min_ndim=1)
    eps = check_eps(eps)
    shape = A.shape
    if A.size == 0:
        raise ValueError(f"A must not be empty, got shape {shape}")
    d = len(shape)
    caps = resolve_ranks(max_rank, shape, "max_rank")
    if d == 1:
        return TTTensor([np.ascontiguousarray(A).reshape(1, shape[0], 1)])
    work, exponent = _working_copy(A)
    right = [math.prod(shape[k + 1:]) for k in range(d - 1)]
    eps_floor, rho = accuracy_terms(shape, right, caps, A.dtype, _svd_floor_factor(A.dtype))
    budget = truncation_budget(eps, eps_floor, rho, d, "tt_svd")
    delta = budget * float(np.linalg.norm(work.ravel()))

    cores = []
    remainder = work.reshape(shape[0], -1)
    r_prev = 1
    for k in range(d - 1):
        remainder = remainder.reshape(r_prev * shape[k], -1)
        U, remainder = truncated_svd(remainder, delta, caps[k + 1], data_dtype=A.dtype)
        r = U.shape[1]
        cores.append(U.reshape(r_prev, shape[k], r))
        r_prev = r
    cores.append(np.ascontiguousarray(remainder).reshape(r_prev, shape[-1], 1))
    return TTTensor(store_cores(cores, exponent, A.dtype))
