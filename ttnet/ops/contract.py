"""Tensor-train contractions used by the TT layers, each with its reverse mode.

Two building blocks:

* **The core step** -- one TT-matrix core applied to a batch of partially
  contracted inputs (Novikov et al. 2015, §4; Garipov et al. 2016, §3.2).
  With ``T`` of shape ``(p, r0, n, q)`` and a core ``G`` of shape
  ``(r0, m, n, r1)``,

      out[p, m, r1, q] = Σ_{r0, n} G[r0, m, n, r1] · T[p, r0, n, q],

  which exchanges one input mode ``n`` for one output mode ``m``. ``p``
  collects the batch and the output modes produced so far, ``q`` the input
  modes still to come (and, in a convolution, the pixels). Applying the steps
  for cores 1..d turns ``x[b, j_1, …, j_d]`` into ``y[b, i_1, …, i_d]``.
  :func:`tt_step_forward` / :func:`tt_step_backward` run the NumPy version
  (batched BLAS products). Loop-level numba kernels of the same steps, which
  the layers do not use (BLAS is faster on every layer shape measured), are in
  :mod:`ttnet.ops.contract_loops`.

* **The full reconstruction** -- the dense array of a train of 3-D cores,
  built left to right as a chain of matrix products, and the reverse mode of
  that chain (:func:`tt_full_forward`, :func:`tt_full_backward`). TT layers use
  it when building the dense weight is cheaper than contracting the input
  core by core (the "full" algorithm). The chain is written once, in
  :mod:`ttnet.tt.cores`; this module re-exports it beside the core step.
"""

from __future__ import annotations


import numpy as np

from ..tt.cores import core_step, core_step_backward, tt_full_backward, tt_full_forward

__all__ = ["tt_step_forward", "tt_step_backward", "tt_step_forward_numpy", "tt_step_backward_numpy",
           "tt_full_forward", "tt_full_backward"]


def _check_step_shapes(T: np.ndarray, G: np.ndarray) -> None:
    if T.ndim != 4 or G.ndim != 4:
        raise ValueError(f"T must be 4-D (p, r0, n, q) and G 4-D (r0, m, n, r1), got shapes "
                         f"{T.shape} and {G.shape}")
    if T.shape[1] != G.shape[0] or T.shape[2] != G.shape[2]:
        raise ValueError(f"T of shape {T.shape} (p, r0, n, q) does not fit core G of shape "
                         f"{G.shape} (r0, m, n, r1): r0 and n must agree")
    if T.dtype != G.dtype:
        raise TypeError(f"T and G must have the same dtype, got {T.dtype} and {G.dtype}")


# ---------------------------------------------------------------- NumPy twins
#: NumPy twin of the core step, one batched matrix product (:func:`ttnet.tt.cores.core_step`).
tt_step_forward_numpy = core_step
#: NumPy twin of the reverse core step (:func:`ttnet.tt.cores.core_step_backward`).
tt_step_backward_numpy = core_step_backward


# ---------------------------------------------------------------- the entry points
def tt_step_forward(T: np.ndarray, G: np.ndarray) -> np.ndarray:
    """One core step, ``out[p, m, r1, q] = Σ_{r0, n} G[r0, m, n, r1] T[p, r0, n, q]``.

    Checks the shapes, then runs :func:`tt_step_forward_numpy` (one batched BLAS
    product). The step is a matrix product, and NumPy's BLAS beats the numba
    kernel on every layer shape measured (``benchmarks/bench_tt_layers.py``), so
    -- following the rule "numba only where a benchmark shows it wins" -- the
    layers always take the BLAS path and ``TTNET_NUMBA`` does not change it.
    :func:`ttnet.ops.contract_loops.tt_step_forward_numba` stays available for
    that comparison and as the loop-level statement of the step.

    Parameters
    ----------
    T : ndarray, shape (p, r0, n, q)
    G : ndarray, shape (r0, m, n, r1), same dtype as T

    Returns
    -------
    ndarray, shape (p, m, r1, q)
    """
    _check_step_shapes(T, G)
    return tt_step_forward_numpy(T, G)


def tt_step_backward(dout: np.ndarray, T: np.ndarray,
                     G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reverse mode of :func:`tt_step_forward`: returns ``(dT, dG)``.

    Checks the shapes, then runs :func:`tt_step_backward_numpy` (see
    :func:`tt_step_forward` for why not the numba kernels).
    """
    _check_step_shapes(T, G)
    p, r0, n, q = T.shape
    expected = (p, G.shape[1], G.shape[3], q)
    if dout.shape != expected:
        raise ValueError(f"dout must have shape {expected}, got {dout.shape}")
    return tt_step_backward_numpy(dout, T, G)


_MOVED_TO_LOOPS = ("tt_step_forward_numba", "tt_step_backward_numba")


def __getattr__(name: str) -> object:
    """The numba step kernels that moved to :mod:`ttnet.ops.contract_loops`, with a warning."""
    if name in _MOVED_TO_LOOPS:
        import warnings

        warnings.warn(f"ttnet.ops.contract.{name} moved to ttnet.ops.contract_loops.{name}; the "
                      f"old place will be removed in the next release", DeprecationWarning,
                      stacklevel=2)
        from . import contract_loops
        return getattr(contract_loops, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
