"""Conv-kernel layouts: the paper's TT-matrix view and the naive 4-D view.

(This module was ``ttnet.ops.kernels``; that name still imports, with a
``DeprecationWarning``, for one release. It holds layouts of convolution
kernels, not numba kernels.)

A convolution kernel K has shape ``(S, C, l, l)`` (output channels, input
channels, height, width; docs/conventions.md §3). Garipov et al. (2016, §3) compress it in
two ways, and this module maps a dense kernel to each view and back.

The paper's scheme (TT-conv)
    Read K as the ``S × (l² C)`` matrix

        K_mat[s, (i l + j) C + c] = K[s, c, i, j].

    The paper writes the transpose, an ``(l² C) × S`` matrix (patch entries
    down, output channels across); ttnet keeps the output channel as the row,
    like the ``(out, in)`` weight of ``Linear``. Transposing a TT-matrix only
    swaps the two mode indices of every core, so ranks and sizes are the same.

    Split ``S = s_1 ⋯ s_d`` and ``C = c_1 ⋯ c_d`` and write ``K_mat`` as a
    TT-matrix with ``d + 1`` cores: core 0 has row mode 1 and column mode ``l²``
    (the whole spatial part, index ``i l + j``), core k has row mode ``s_k`` and
    column mode ``c_k``:

        K[s, c, i, j] = G_0[0, 0, i l + j, :] · G_1[:, s_1, c_1, :] ⋯ G_d[:, s_d, c_d, 0],

    with ``s = (s_1, …, s_d)`` and ``c = (c_1, …, c_d)`` row-major multi-indices.
    The internal ranks are ``(r_0, r_1, …, r_{d-1})``: ``r_0`` between the
    spatial core and core 1. In code ``cores[k]`` is G_k (docs/notation.md
    §2).

The four index maps (:func:`kernel_to_matrix`, :func:`matrix_to_kernel`,
:func:`kernel_to_naive_tensor`, :func:`naive_tensor_to_kernel`) are one transpose
each. They check shapes but not values: the TT layers call them on every batch,
where a NaN must propagate to the loss, not raise.

The naive scheme
    Decompose the 4-D kernel itself with TT, modes in the paper's order
    ``(l, l, C, S)``:

        K[s, c, i, j] = T[i, j, c, s] = H_1[0, i, :] · H_2[:, j, :] · H_3[:, c, :] · H_4[:, s, 0],

    three internal ranks. With a 1×1 kernel the first two cores are trivial
    and this is a rank-r matrix factorisation. Garipov et al. argue from this
    (TT-matrices beat low-rank matrices in Novikov et al. 2015) for the
    reshaped scheme, and report that networks *trained* in it are more
    accurate than naive-TT networks of the same size. That is a claim about
    training in each format, not about compressing a given kernel: on kernels
    of a trained dense network, TT-SVD in the naive scheme reached the lower
    error at equal parameter count (notebook 05, section 6).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._checks import as_float_array, check_int, check_int_sequence
from ..tt import TTMatrix, TTTensor, tt_svd
from ..tt.ranks import renamed_cap


__all__ = ["check_channel_modes", "kernel_to_matrix", "matrix_to_kernel", "conv_kernel_to_tt",
           "tt_to_conv_kernel", "kernel_to_naive_tensor", "naive_tensor_to_kernel",
           "conv_kernel_to_naive_tt"]


# ---------------------------------------------------------------- argument checks
def _check_kernel(kernel: Any, name: str = "kernel", finite: bool = True) -> np.ndarray:
    kernel = as_float_array(kernel, name, ndim=4, finite=finite)
    if kernel.shape[2] != kernel.shape[3]:
        raise ValueError(f"{name} must have a square spatial part (S, C, l, l), got shape "
                         f"{kernel.shape}")
    return kernel


def _check_kernel_matrix(matrix: Any, kernel_size: Any) -> tuple[np.ndarray, int]:
    matrix = as_float_array(matrix, "matrix", ndim=2, finite=False)
    l = check_int(kernel_size, "kernel_size", minimum=1)
    if matrix.shape[1] % (l * l):
        raise ValueError(f"matrix has {matrix.shape[1]} columns, not a multiple of "
                         f"kernel_size² = {l * l}")
    return matrix, l


def _tt_conv_inputs(kernel: Any, in_modes: Any,
                    out_modes: Any) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]:
    """A finite square kernel (S, C, l, l) and channel modes with products C and S."""
    kernel = _check_kernel(kernel)
    S, C = kernel.shape[:2]
    in_modes, out_modes = check_channel_modes(in_modes, out_modes, C, S, f"kernel {kernel.shape}")
    return kernel, in_modes, out_modes


def _tt_conv_kernel_size(tt: Any) -> int:
    """l, for a TTMatrix whose first core is a spatial core (row mode 1, column mode l²)."""
    if not isinstance(tt, TTMatrix):
        raise TypeError(f"tt must be a TTMatrix, got {type(tt).__name__}")
    if tt.row_modes[0] != 1:
        raise ValueError(f"tt's first core must have row mode 1 (the spatial core), got row modes "
                         f"{tt.row_modes}")
    l = math.isqrt(tt.col_modes[0])
    if l * l != tt.col_modes[0]:
        raise ValueError(f"tt's first column mode must be l² for a square kernel, got "
                         f"{tt.col_modes[0]}")
    return l


def check_channel_modes(in_modes: Any, out_modes: Any, C: int | None = None,
                        S: int | None = None, where: str = "") -> tuple[tuple[int, ...], ...]:
    """Validate the channel modes of a TT layer and return them as tuples of ints.

    ``in_modes`` and ``out_modes`` must be sequences of positive ints of one
    length d; with ``C`` (``S``) given, their product must be ``C`` (``S``), and
    the message names ``where`` the channels come from (e.g. ``"kernel (8, 4, 3, 3)"``).
    """
    in_modes = check_int_sequence(in_modes, "in_modes", minimum=1)
    out_modes = check_int_sequence(out_modes, "out_modes", minimum=1)
    if len(in_modes) != len(out_modes):
        raise ValueError(
            f"in_modes and out_modes must have the same length, got {len(in_modes)} input modes "
            f"{in_modes} and {len(out_modes)} output modes {out_modes}")
    if C is not None and math.prod(in_modes) != C:
        raise ValueError(f"in_modes {in_modes} multiply to {math.prod(in_modes)}, but {where} has "
                         f"{C} input channels")
    if S is not None and math.prod(out_modes) != S:
        raise ValueError(f"out_modes {out_modes} multiply to {math.prod(out_modes)}, but {where} "
                         f"has {S} output channels")
    return in_modes, out_modes


# ---------------------------------------------------------------- the paper's scheme
def kernel_to_matrix(kernel: Any) -> np.ndarray:
    """The kernel as the ``S × (l² C)`` matrix of the paper's scheme.

    ``K_mat[s, (i l + j) C + c] = K[s, c, i, j]``: the spatial index is the most
    significant part of the column index, the channel index the least.

    Parameters
    ----------
    kernel : ndarray, shape (S, C, l, l)

    Returns
    -------
    ndarray, shape (S, l*l*C), a new array.
    """
    kernel = _check_kernel(kernel, finite=False)
    S, C, l, _ = kernel.shape
    return np.ascontiguousarray(kernel.transpose(0, 2, 3, 1)).reshape(S, l * l * C)


def matrix_to_kernel(matrix: Any, kernel_size: int) -> np.ndarray:
    """Inverse of :func:`kernel_to_matrix`: ``(S, l² C)`` → ``(S, C, l, l)``, a new array."""
    matrix, l = _check_kernel_matrix(matrix, kernel_size)
    S = matrix.shape[0]
    return np.ascontiguousarray(matrix.reshape(S, l, l, -1).transpose(0, 3, 1, 2))


def conv_kernel_to_tt(kernel: Any, in_modes: Sequence[int], out_modes: Sequence[int],
                      max_rank: Any = None, eps: float | None = None, *,
                      ranks: Any = None) -> TTMatrix:
    """Compress a kernel with the paper's scheme: TT-SVD of its ``S × (l² C)`` matrix.

    Parameters
    ----------
    kernel : ndarray, shape (S, C, l, l)
    in_modes : sequence of d ints with product C
    out_modes : sequence of d ints with product S
    max_rank : int or sequence of d ints, optional
        Cap on the d internal ranks ``ranks[1:-1]`` (the first joins the spatial
        core, the paper's ``r_0``), as ``max_rank`` of :func:`ttnet.tt_svd`: an
        int caps every bond (silently lowered where a bond cannot hold it, e.g.
        ``ranks[1] <= l²``); a per-bond value above the theoretical maximum is
        clipped with a ``RankClippedWarning``.
    eps : float in [0, 1), optional
        Relative accuracy: ``‖K − K_TT‖_F <= eps ‖K‖_F``.
    ranks : optional, keyword only
        The old name of ``max_rank``, accepted with a ``DeprecationWarning``
        until the next release.

    Returns
    -------
    TTMatrix with ``d + 1`` cores, row modes ``(1, s_1, …, s_d)`` and column
    modes ``(l², c_1, …, c_d)``; :func:`tt_to_conv_kernel` turns it back.
    """
    kernel, in_modes, out_modes = _tt_conv_inputs(kernel, in_modes, out_modes)
    max_rank = renamed_cap(max_rank, ranks, "conv_kernel_to_tt")
    l = kernel.shape[2]
    return TTMatrix.from_dense(kernel_to_matrix(kernel), (1,) + out_modes, (l * l,) + in_modes,
                               eps=eps, max_rank=max_rank)


def tt_to_conv_kernel(tt: TTMatrix) -> np.ndarray:
    """The dense ``(S, C, l, l)`` kernel of a TT-conv TT-matrix (see :func:`conv_kernel_to_tt`)."""
    l = _tt_conv_kernel_size(tt)
    return matrix_to_kernel(tt.full(), l)


# ---------------------------------------------------------------- the naive scheme
def kernel_to_naive_tensor(kernel: Any) -> np.ndarray:
    """The kernel with its modes in the paper's order: ``T[i, j, c, s] = K[s, c, i, j]``.

    Returns a new array of shape ``(l, l, C, S)``.
    """
    kernel = _check_kernel(kernel, finite=False)
    return np.ascontiguousarray(kernel.transpose(2, 3, 1, 0))


def naive_tensor_to_kernel(tensor: Any) -> np.ndarray:
    """Inverse of :func:`kernel_to_naive_tensor`: ``(l, l, C, S)`` → ``(S, C, l, l)``, a new array."""
    tensor = as_float_array(tensor, "tensor", ndim=4, finite=False)
    return np.ascontiguousarray(tensor.transpose(3, 2, 0, 1))


def conv_kernel_to_naive_tt(kernel: Any, max_rank: Any = None, eps: float | None = None,
                            *, ranks: Any = None) -> TTTensor:
    """Compress a kernel with the naive scheme: TT-SVD of the 4-D ``(l, l, C, S)`` tensor.

    Parameters
    ----------
    kernel : ndarray, shape (S, C, l, l)
    max_rank : int or sequence of 3 ints, optional
        Cap on the internal ranks ``(r_1, r_2, r_3)``.
    eps : float in [0, 1), optional
        Relative accuracy: ``‖K − K_TT‖_F <= eps ‖K‖_F``.
    ranks : optional, keyword only
        The old name of ``max_rank``, accepted with a ``DeprecationWarning``
        until the next release.

    Returns
    -------
    TTTensor of shape ``(l, l, C, S)``; ``naive_tensor_to_kernel(tt.full())``
    is the kernel.
    """
    max_rank = renamed_cap(max_rank, ranks, "conv_kernel_to_naive_tt")
    kernel = _check_kernel(kernel)
    return tt_svd(kernel_to_naive_tensor(kernel), eps=eps, max_rank=max_rank)
