"""The TT chain, written once: pure functions on lists of cores.

Everything in ttnet that turns cores into a dense array, or reads a TT-matrix
as a TT-tensor, calls these functions: :class:`~ttnet.tt.TTTensor` and
:class:`~ttnet.tt.TTMatrix`, the TT contractions of :mod:`ttnet.ops.contract`
and the TT layers of :mod:`ttnet.nn.tt_functional`.

* A **TT-tensor** core list has ``cores[k]`` of shape ``(r_{k-1}, n_k, r_k)``, a
  **TT-matrix** core list ``(r_{k-1}, m_k, n_k, r_k)``, both with
  ``r_0 = r_d = 1`` (:func:`check_cores`).
* :func:`tt_full_forward` / :func:`tt_full_backward` -- the dense tensor as a chain
  of matrix products, and its reverse mode.
* :func:`tt_matrix_full_forward` / :func:`tt_matrix_full_backward` -- the same for
  a TT-matrix: the chain on the merged cores (:func:`merge_matrix_cores`), then
  the row and column modes are separated (:func:`deinterleave_axes`).
* :func:`interleave_axes`, :func:`deinterleave_axes` -- the axis orders between
  ``(m_1, …, m_d, n_1, …, n_d)`` and ``(m_1, n_1, …, m_d, n_d)``.
* :func:`core_step` / :func:`core_step_backward` -- one TT-matrix core applied to
  a batch of partially contracted inputs (one batched matrix product with
  :func:`core_step_matrix`), and :func:`core_steps_forward` /
  :func:`core_steps_backward`, all cores in turn: ``A @ x`` without forming A
  (:meth:`TTMatrix.matmul`, the TT layers' "sequential" algorithm).

None of the array functions check their inputs except :func:`check_cores` and
:func:`tt_matrix_full_forward` (a public entry point of the TT layers); they
are called on every training step, where NaN must propagate, not raise.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from .._checks import as_float_array
from ..blas import batched_matmul, long_sum_matmul

__all__ = ["check_cores", "merge_matrix_cores", "interleave_axes", "deinterleave_axes",
           "core_step_matrix", "core_step", "core_step_backward", "core_steps_forward",
           "core_steps_backward", "tt_full_forward", "tt_full_backward", "tt_matrix_full_forward",
           "tt_matrix_full_backward"]


def check_cores(cores: Any, name: str = "cores", core_ndim: int = 3,
                finite: bool = True) -> list[np.ndarray]:
    """Validate a list of TT cores and return it as a list of float arrays.

    Parameters
    ----------
    cores : sequence of array_like
        3-D cores ``(r_{k-1}, n_k, r_k)`` (``core_ndim=3``) or 4-D cores
        ``(r_{k-1}, m_k, n_k, r_k)`` (``core_ndim=4``).
    name : str
        The argument's name in error messages.
    core_ndim : 3 or 4
    finite : bool
        If True, a NaN or Inf entry raises ``ValueError`` (the TT classes); the
        TT layers pass False so that a NaN propagates to the loss.

    Returns
    -------
    list of ndarray, all of one dtype (float32 or float64; integers become float64).

    Raises
    ------
    TypeError
        If ``cores`` is not a sequence of arrays, or the cores differ in dtype.
    ValueError
        If it is empty, a core has the wrong ndim or a zero-sized axis, the
        boundary ranks are not 1, or neighbouring ranks do not match.
    """
    if isinstance(cores, np.ndarray) or not isinstance(cores, Sequence) or isinstance(cores, str):
        raise TypeError(f"{name} must be a list of arrays, got {type(cores).__name__}")
    if len(cores) == 0:
        raise ValueError(f"{name} must hold at least one core")
    out = [as_float_array(c, f"{name}[{k}]", ndim=core_ndim, finite=finite)
           for k, c in enumerate(cores)]
    dtypes = {c.dtype for c in out}
    if len(dtypes) > 1:
        raise TypeError(f"all {name} must have the same dtype, got {[str(c.dtype) for c in out]}")
    if out[0].shape[0] != 1:
        raise ValueError(f"{name}[0] must have first dimension r_0 = 1, got shape {out[0].shape}")
    if out[-1].shape[-1] != 1:
        raise ValueError(
            f"{name}[{len(out) - 1}] must have last dimension r_d = 1, got shape {out[-1].shape}")
    for k in range(len(out) - 1):
        if out[k].shape[-1] != out[k + 1].shape[0]:
            raise ValueError(
                f"{name}[{k}] has last dimension {out[k].shape[-1]} but {name}[{k + 1}] has first "
                f"dimension {out[k + 1].shape[0]}: neighbouring ranks must match")
    for k, c in enumerate(out):
        if 0 in c.shape:
            raise ValueError(f"{name}[{k}] must not have a zero-sized dimension, got {c.shape}")
    return out


# ---------------------------------------------------------------- views and axis orders
def merge_matrix_cores(cores: Sequence[np.ndarray]) -> list[np.ndarray]:
    """TT-matrix cores ``(r, m, n, r')`` viewed as TT-tensor cores ``(r, m·n, r')`` (no copy)."""
    return [c.reshape(c.shape[0], c.shape[1] * c.shape[2], c.shape[3]) for c in cores]


def interleave_axes(d: int) -> list[int]:
    """The transpose taking axes ``(m_1, …, m_d, n_1, …, n_d)`` to ``(m_1, n_1, …, m_d, n_d)``.

    >>> interleave_axes(3)
    [0, 3, 1, 4, 2, 5]
    """
    return [ax for k in range(d) for ax in (k, d + k)]


def deinterleave_axes(d: int) -> list[int]:
    """The inverse of :func:`interleave_axes`: ``(m_1, n_1, …)`` back to ``(m_1, …, n_1, …)``.

    >>> deinterleave_axes(3)
    [0, 2, 4, 1, 3, 5]
    """
    return list(range(0, 2 * d, 2)) + list(range(1, 2 * d, 2))


def core_step_matrix(G: np.ndarray) -> np.ndarray:
    """A TT-matrix core ``(r0, m, n, r1)`` as the ``(m r1) × (r0 n)`` matrix of one core step.

    The step ``out[p, m, r1, q] = Σ_{r0, n} G[r0, m, n, r1] T[p, r0, n, q]`` is then
    ``out[p] = core_step_matrix(G) @ T[p]`` with ``T[p]`` read as ``(r0 n) × q``.
    Returns a new C-contiguous array.
    """
    r0, m, n, r1 = G.shape
    return np.ascontiguousarray(G.transpose(1, 3, 0, 2)).reshape(m * r1, r0 * n)


# ---------------------------------------------------------------- the core step
def core_step(T: np.ndarray, G: np.ndarray) -> np.ndarray:
    """One core step: ``out[p, m, r1, q] = Σ_{r0, n} G[r0, m, n, r1] T[p, r0, n, q]``.

    One batched matrix product, ``out[p] = core_step_matrix(G) @ T[p]`` with
    ``T[p]`` read as ``(r0 n) × q``; reshapes are free. It exchanges one input
    mode ``n`` for one output mode ``m`` (Novikov et al. 2015, §4).

    Parameters
    ----------
    T : ndarray, shape (p, r0, n, q)
    G : ndarray, shape (r0, m, n, r1), same dtype

    Returns
    -------
    ndarray, shape (p, m, r1, q)
    """
    p, r0, n, q = T.shape
    _, m, _, r1 = G.shape
    out = batched_matmul(core_step_matrix(G), T.reshape(p, r0 * n, q))   # p products (ttnet.blas)
    return out.reshape(p, m, r1, q)


def core_step_backward(dout: np.ndarray, T: np.ndarray,
                       G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reverse mode of :func:`core_step`: ``(dT, dG)``.

    With ``out[p] = Gmat @ T[p]``:

        dT[p] = Gmatᵀ @ dout[p]            (shape (r0 n) × q per p)
        dGmat = Σ_p dout[p] @ T[p]ᵀ        (shape (m r1) × (r0 n))

    Parameters
    ----------
    dout : ndarray, shape (p, m, r1, q)
    T : ndarray, shape (p, r0, n, q), the step's input
    G : ndarray, shape (r0, m, n, r1)

    Returns
    -------
    dT : ndarray, shape (p, r0, n, q)
    dG : ndarray, shape (r0, m, n, r1)
    """
    p, r0, n, q = T.shape
    _, m, _, r1 = G.shape
    D = dout.reshape(p, m * r1, q)
    dT = batched_matmul(core_step_matrix(G).T, D).reshape(p, r0, n, q)
    T2 = T.reshape(p, r0 * n, q)
    if m * r1 * r0 * n <= q * (m * r1 + r0 * n):
        # a small result and a long sum: p products (BLAS reads T[p]ᵀ in place, where
        # tensordot would copy D and T, 3-4x slower) with the sum split between threads
        # (ttnet.blas: robust when another process shares the cores)
        dGmat = long_sum_matmul(D, T2.transpose(0, 2, 1))
    else:
        dGmat = np.tensordot(D, T2, axes=([0, 2], [0, 2]))
    dG = dGmat.reshape(m, r1, r0, n).transpose(2, 0, 3, 1)
    return dT, np.ascontiguousarray(dG)


def core_steps_forward(z: np.ndarray, cores: Sequence[np.ndarray],
                       step: Callable[[np.ndarray, np.ndarray], np.ndarray] = core_step
                       ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Apply the core steps of TT-matrix cores ``(r_{k-1}, m_k, n_k, r_k)`` in order.

    ``z`` is the input read as ``(p, r_0, n_1, q)``; step k turns ``n_k`` into
    ``m_k`` and the result is read with ``n_{k+1}`` split off for the next step.
    This is ``A @ x`` without forming A (:meth:`TTMatrix.matmul`) and the
    sequential algorithm of the TT layers, which pass their own checked ``step``
    (:func:`ttnet.ops.contract.tt_step_forward`).

    Returns
    -------
    z : ndarray, shape (p·m_1⋯m_d, 1, 1, q')
        The last step's output.
    inputs : list of ndarray
        Every step's input (the backward pass needs them).
    """
    inputs = []
    for k, core in enumerate(cores):
        inputs.append(z)
        z = step(z, core)                                           # (p, m_k, r_k, q)
        p, m, r1, q = z.shape
        n_next = cores[k + 1].shape[2] if k + 1 < len(cores) else 1
        z = z.reshape(p * m, r1, n_next, q // n_next)
    return z, inputs


def core_steps_backward(dz: np.ndarray, inputs: Sequence[np.ndarray], cores: Sequence[np.ndarray],
                        step_backward: Callable[..., tuple[np.ndarray, np.ndarray]]
                        = core_step_backward) -> tuple[np.ndarray, list[np.ndarray]]:
    """Reverse mode of :func:`core_steps_forward`: the first step's input gradient and the
    core gradients."""
    dcores: list[np.ndarray] = [np.empty(0)] * len(cores)
    for k in range(len(cores) - 1, -1, -1):
        T, G = inputs[k], cores[k]
        p, _, _, q = T.shape
        dz = dz.reshape(p, G.shape[1], G.shape[3], q)
        dz, dcores[k] = step_backward(dz, T, G)
    return dz, dcores


# ---------------------------------------------------------------- the dense tensor
def tt_full_forward(cores: Sequence[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Dense array of a train of 3-D cores, as a chain of matrix products.

    ``P_1 = G_1`` as an ``n_1 × r_1`` matrix and
    ``P_k = (P_{k-1} @ G_k^{(r_{k-1} × n_k r_k)})`` reshaped to ``(n_1 … n_k) × r_k``;
    ``P_d`` (a column) is the flattened tensor.

    Parameters
    ----------
    cores : list of ndarray, ``cores[k]`` of shape ``(r_{k-1}, n_k, r_k)``, ``r_0 = r_d = 1``

    Returns
    -------
    full : ndarray, shape (n_1 ⋯ n_d,)
        The tensor, flattened row-major.
    cache : list of ndarray
        The partial products ``P_1 … P_{d-1}`` for :func:`tt_full_backward`.
    """
    partial = cores[0].reshape(-1, cores[0].shape[2])
    cache = []
    for core in cores[1:]:
        cache.append(partial)
        r0, n, r1 = core.shape
        partial = (partial @ core.reshape(r0, n * r1)).reshape(-1, r1)
    return partial.reshape(-1), cache


def tt_full_backward(dfull: np.ndarray, cores: Sequence[np.ndarray],
                     cache: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Reverse mode of :func:`tt_full_forward`: core gradients from the dense gradient.

    Walking the chain backwards, with ``dP_d = dfull``:

        dG_k = P_{k-1}ᵀ @ dP_k^{(n_1…n_{k-1}) × (n_k r_k)}
        dP_{k-1} = dP_k^{(n_1…n_{k-1}) × (n_k r_k)} @ G_kᵀ

    which costs the same as the forward chain.

    Parameters
    ----------
    dfull : ndarray, shape (n_1 ⋯ n_d,) (or any shape with that many entries, row-major)
    cores : the cores given to :func:`tt_full_forward`
    cache : the cache it returned

    Returns
    -------
    list of ndarray, the gradients of the cores, same shapes.
    """
    grads: list[np.ndarray] = [np.empty(0)] * len(cores)
    dpartial = dfull.reshape(-1, 1)
    for k in range(len(cores) - 1, 0, -1):
        r0, n, r1 = cores[k].shape
        dp = dpartial.reshape(-1, n * r1)
        left = cache[k - 1].T                                       # (r0, n_1…n_{k-1})
        # a long sum (over n_1…n_{k-1}) into a small result: split between threads
        grads[k] = (long_sum_matmul(left, dp) if r0 * n * r1 <= left.shape[1]
                    else left @ dp).reshape(r0, n, r1)
        dpartial = dp @ cores[k].reshape(r0, n * r1).T
    grads[0] = dpartial.reshape(cores[0].shape)
    return grads


# ---------------------------------------------------------------- the dense matrix
def tt_matrix_full_forward(cores: Sequence[np.ndarray]) -> tuple[np.ndarray, dict[str, Any]]:
    """The dense ``(M, N)`` matrix of TT-matrix cores ``(r_{k-1}, m_k, n_k, r_k)``.

    The chain :func:`tt_full_forward` on the merged cores produces the entries in
    the interleaved order ``(m_1, n_1, …, m_d, n_d)``; one transpose
    (:func:`deinterleave_axes`) gives ``W[(i_1..i_d), (j_1..j_d)]``. The cores are
    checked with :func:`check_cores` (``finite=False``: NaN propagates).

    Returns
    -------
    W : ndarray, shape (M, N), ``M = Π m_k``, ``N = Π n_k``
    cache : dict for :func:`tt_matrix_full_backward`
    """
    cores = check_cores(cores, core_ndim=4, finite=False)
    rows = [c.shape[1] for c in cores]
    cols = [c.shape[2] for c in cores]
    flat, chain = tt_full_forward(merge_matrix_cores(cores))
    W = flat.reshape([x for m, n in zip(rows, cols) for x in (m, n)])
    W = W.transpose(deinterleave_axes(len(cores)))
    W = np.ascontiguousarray(W).reshape(math.prod(rows), math.prod(cols))
    return W, {"cores": cores, "chain": chain, "rows": rows, "cols": cols}


def tt_matrix_full_backward(dW: np.ndarray, cache: dict[str, Any]) -> list[np.ndarray]:
    """Core gradients from the gradient of the dense matrix (reverse of the chain).

    Parameters
    ----------
    dW : ndarray, shape (M, N)
    cache : the cache of :func:`tt_matrix_full_forward`

    Returns
    -------
    list of ndarray, the gradients of the cores, same shapes.
    """
    rows, cols, cores = cache["rows"], cache["cols"], cache["cores"]
    interleave = interleave_axes(len(rows))
    dflat = np.ascontiguousarray(dW.reshape(rows + cols).transpose(interleave)).reshape(-1)
    grads = tt_full_backward(dflat, merge_matrix_cores(cores), cache["chain"])
    return [g.reshape(c.shape) for g, c in zip(grads, cores)]
