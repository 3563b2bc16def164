"""Convolution as one matrix product: ``im2col``, its adjoint ``col2im``, and the loop reference.

A 2-D convolution (cross-correlation, as in every deep-learning framework) of
an NCHW batch ``x`` of shape ``(B, C, H, W)`` with a kernel ``K`` of shape
``(S, C, kh, kw)``, stride ``(sh, sw)`` and zero padding ``(ph, pw)`` is

    Y[b, s, p, q] = Σ_{c, i, j} K[s, c, i, j] · X̃[b, c, p·sh + i, q·sw + j]      (1)

where ``X̃`` is ``x`` padded with ``ph`` zero rows and ``pw`` zero columns on
each side, and the output has ``H' = (H + 2ph − kh) // sh + 1`` rows and
``W' = (W + 2pw − kw) // sw + 1`` columns.

Garipov et al. (2016, Figure 1) observe that (1) is a single matrix product
once every input patch is copied into its own column (or row) of a *patch
matrix*. ttnet's patch matrix is

    cols[(c, i, j), (b, p, q)] = X̃[b, c, p·sh + i, q·sw + j],     shape (C·kh·kw, B·H'·W')

with both multi-indices row-major (docs/conventions.md §1), so that with
``K_mat = K.reshape(S, C·kh·kw)`` equation (1) reads

    Y_mat = K_mat @ cols,      Y_mat[s, (b, p, q)] = Y[b, s, p, q].               (2)

This is the transpose of the paper's Figure 1 matrix (patches as rows), and
its rows are ordered (c, i, j) to match ``K.reshape(S, -1)``; the paper lists
the spatial offset first, which only permutes the rows. The column layout is
chosen because the copy that builds it reads ``x`` along its contiguous last
axis, because the one big product ``K_mat @ cols`` runs at full BLAS speed,
and because the backward pass becomes two products with the same matrix plus
one scatter-add, :func:`col2im`; the price is one transpose of the (S, B·H'·W')
result into NCHW order.

Memory: ``cols`` holds ``kh·kw`` copies of (almost) every input value. For a
batch of 128 CIFAR images after a 64-channel layer (3×3 kernel, padding 1)
that is 128·576·1024 float32 numbers, about 302 MB, for a 34 MB input (decimal megabytes).

:func:`conv2d_loop` evaluates (1) directly, one output position at a time; it
is the slow, obviously-correct reference the tests compare against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import (as_float_array, check_batch_shape, check_int_sequence, check_out,
                       check_pair)
from ._numba import choose, numba_kernel, prange

__all__ = ["window_params", "conv_output_shape", "im2col", "col2im", "conv2d_loop"]


def window_params(kernel_size: Any, stride: Any = 1, padding: Any = 0
                  ) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Check and normalise window parameters to ``((kh, kw), (sh, sw), (ph, pw))``.

    Each may be an int (same value for height and width) or a pair.

    Raises
    ------
    TypeError
        If a value is not an int or a pair of ints.
    ValueError
        If a kernel size or stride is < 1 or a padding is < 0.
    """
    return (check_pair(kernel_size, "kernel_size", minimum=1),
            check_pair(stride, "stride", minimum=1),
            check_pair(padding, "padding", minimum=0))


def conv_output_shape(input_hw: Any, kernel_size: Any, stride: Any = 1,
                      padding: Any = 0) -> tuple[int, int]:
    """Spatial output size ``(H', W')`` of a convolution or pooling window sweep.

    ``H' = (H + 2·ph − kh) // sh + 1`` and the same for the width.

    Parameters
    ----------
    input_hw : pair of int
        Input height and width ``(H, W)``.
    kernel_size, stride : int or pair of int
        Window size ``(kh, kw)`` and step ``(sh, sw)``, each >= 1.
    padding : int or pair of int
        Zeros added on each side, ``(ph, pw)``, each >= 0.

    Raises
    ------
    ValueError
        If a size is out of range or the kernel is larger than the padded input.
    """
    H, W = check_int_sequence(input_hw, "input_hw", length=2, minimum=1)
    (kh, kw), (sh, sw), (ph, pw) = window_params(kernel_size, stride, padding)
    if kh > H + 2 * ph or kw > W + 2 * pw:
        raise ValueError(
            f"kernel_size {(kh, kw)} is larger than the padded input {(H + 2 * ph, W + 2 * pw)} "
            f"(input {(H, W)} plus 2·padding {(ph, pw)})")
    return (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1


# ---------------------------------------------------------------------------
# im2col: NumPy twin and numba kernel, same signature, both write into `cols`.
# ---------------------------------------------------------------------------

#: Output width from which :func:`im2col` uses its numba kernel (measured crossover: the
#: kernel is 2.0x faster at 32 x 32 outputs, 0.6-1.3x at 16 x 16 and 0.8x at 8 x 8).
IM2COL_KERNEL_MIN_WIDTH = 32


def _im2col_numpy(x: np.ndarray, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int,
                  cols: np.ndarray) -> None:
    """Fill ``cols`` (C·kh·kw, B·H'·W') with the patches of ``x`` (B, C, H, W).

    Pads once, takes a strided *view* of all windows and copies it in the
    order (c, i, j, b, p, q), so the only large write is the copy into ``cols``.
    """
    B, C = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw]                     # (B, C, H', W', kh, kw), a view
    Ho, Wo = windows.shape[2:4]
    cols.reshape(C, kh, kw, B, Ho, Wo)[...] = windows.transpose(1, 4, 5, 0, 2, 3)


@numba_kernel(parallel=False)
def _valid_columns(j, pw, sw, W, Wo):  # pragma: no cover - compiled
    """Range [q0, q1) of output columns q whose input column q·sw + j − pw lies in [0, W)."""
    q0 = min(Wo, max(0, -((j - pw) // sw)))     # ceil((pw − j) / sw), clipped to [0, Wo]
    q1 = min(Wo, (W - 1 + pw - j) // sw + 1)
    return q0, max(q0, q1)


@numba_kernel
def _im2col_kernel(x, kh, kw, sh, sw, ph, pw, cols):  # pragma: no cover - compiled
    """numba twin of :func:`_im2col_numpy`; parallel over (batch, channel) pairs.

    Task (b, c) fills, in each of its kh·kw rows of ``cols``, the H'·W'
    columns of image b: one (strided) slice copy per output row p, with the
    columns that fall in the padding set to zero.

    Measured by ``benchmarks/bench_layers.py`` (2 cores, float32, batch 128,
    3×3, padding 1): 2.0× faster than the twin on 64×32×32 inputs, 0.9–1.3× on
    16×16 and 0.8× on 128×8×8 (short rows: the copy is memory-bound either way).
    """
    B, C, H, W = x.shape
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    zero = x.dtype.type(0)
    for bc in prange(B * C):
        b, c = bc // C, bc % C
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                q0, q1 = _valid_columns(j, pw, sw, W, Wo)
                w0 = q0 * sw + j - pw                     # input column of output column q0
                for p in range(Ho):
                    h = p * sh + i - ph
                    start = (b * Ho + p) * Wo
                    if h < 0 or h >= H:
                        row[start:start + Wo] = zero
                        continue
                    row[start:start + q0] = zero
                    if q1 > q0:
                        row[start + q0:start + q1] = x[b, c, h, w0:w0 + (q1 - q0 - 1) * sw + 1:sw]
                    row[start + q1:start + Wo] = zero


def im2col(x: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0, *,
           out: np.ndarray | None = None) -> np.ndarray:
    """Patch matrix of an NCHW batch: the left factor of convolution as a matrix product.

    ``cols[(c, i, j), (b, p, q)] = X̃[b, c, p·sh + i, q·sw + j]`` with ``X̃`` the
    zero-padded input (module docstring, equation 2), so that
    ``K.reshape(S, -1) @ im2col(x, ...)`` is the convolution of ``x`` with ``K``.

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W)
        Input batch, float32 or float64 (the dtype is kept).
    kernel_size, stride : int or pair of int
        ``(kh, kw)`` and ``(sh, sw)``, each >= 1.
    padding : int or pair of int
        Zero padding ``(ph, pw)`` on each side, >= 0.
    out : ndarray, optional
        C-contiguous array of the result's shape and dtype to write into
        (reusing a buffer saves the cost of allocating a large array).

    Returns
    -------
    cols : ndarray, shape (C·kh·kw, B·H'·W')
        C-contiguous, of the dtype of ``x``; ``out`` if it was given.

    Raises
    ------
    ValueError
        If ``x`` is not 4-D, a size is out of range, or the kernel is larger
        than the padded input.

    Notes
    -----
    Runs a numba kernel parallel over batch × channels for output rows of at
    least :data:`IM2COL_KERNEL_MIN_WIDTH` pixels unless ``TTNET_NUMBA=0`` (see
    :mod:`ttnet.ops._numba`), else a NumPy strided copy. The benchmark
    ``benchmarks/bench_layers.py`` prints both timings.
    """
    x = as_float_array(x, "x", ndim=4, finite=False)
    B, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw) = window_params(kernel_size, stride, padding)
    Ho, Wo = conv_output_shape((H, W), kernel_size, stride, padding)
    shape = (C * kh * kw, B * Ho * Wo)
    if out is None:
        cols = np.empty(shape, dtype=x.dtype)
    else:
        cols = check_out(out, "out", shape, x.dtype, contiguous=True)
    # The kernel copies one output row (W' values) at a time: it wins on wide rows and
    # loses on short ones, where the NumPy strided copy is faster (see _im2col_kernel).
    kernel = _im2col_kernel if Wo >= IM2COL_KERNEL_MIN_WIDTH else _im2col_numpy
    choose(kernel, _im2col_numpy)(np.ascontiguousarray(x), kh, kw, sh, sw, ph, pw, cols)
    return cols


# ---------------------------------------------------------------------------
# col2im: NumPy twin and numba kernel, same signature, both write into `x`.
# ---------------------------------------------------------------------------

def _col2im_numpy(cols: np.ndarray, kh: int, kw: int, sh: int, sw: int, ph: int, pw: int,
                  x: np.ndarray) -> None:
    """Overwrite ``x`` (B, C, H, W) with the adjoint of im2col applied to ``cols``.

    One strided ``+=`` per kernel offset (i, j): all patches add their
    (i, j)-th entries into the padded image at once. Within one offset the
    target positions are distinct, so no ``np.add.at`` is needed.
    """
    B, C, H, W = x.shape
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    xp = np.zeros((B, C, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
    patches = cols.reshape(C, kh, kw, B, Ho, Wo)
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw] += patches[:, i, j].transpose(1, 0, 2, 3)
    x[...] = xp[:, :, ph:ph + H, pw:pw + W]


@numba_kernel
def _col2im_kernel(cols, kh, kw, sh, sw, ph, pw, x):  # pragma: no cover - compiled
    """numba twin of :func:`_col2im_numpy`; parallel over (batch, channel) pairs.

    Task (b, c) owns the image x[b, c], so the scatter-add has no write
    conflicts between threads. Measured by ``benchmarks/bench_layers.py``
    (2 cores, float32, batch 128, 3×3, padding 1): 2.3–3.4× faster than the twin.
    """
    B, C, H, W = x.shape
    Ho = (H + 2 * ph - kh) // sh + 1
    Wo = (W + 2 * pw - kw) // sw + 1
    zero = x.dtype.type(0)
    for bc in prange(B * C):
        b, c = bc // C, bc % C
        image = x[b, c]
        image[:, :] = zero
        for i in range(kh):
            for j in range(kw):
                row = cols[(c * kh + i) * kw + j]
                q0, q1 = _valid_columns(j, pw, sw, W, Wo)
                w0 = q0 * sw + j - pw
                for p in range(Ho):
                    h = p * sh + i - ph
                    if h < 0 or h >= H:
                        continue
                    start = (b * Ho + p) * Wo + q0
                    target = image[h]
                    if sw == 1:          # unit stride: a loop LLVM can vectorise
                        for q in range(q1 - q0):
                            target[w0 + q] += row[start + q]
                    else:
                        for q in range(q1 - q0):
                            target[w0 + q * sw] += row[start + q]


def col2im(cols: Any, input_shape: Any, kernel_size: Any, stride: Any = 1, padding: Any = 0, *,
           out: np.ndarray | None = None) -> np.ndarray:
    """Adjoint of :func:`im2col`: add every patch entry back onto the pixel it was copied from.

    ``x[b, c, h, w] = Σ cols[(c, i, j), (b, p, q)]`` over all ``(i, j, p, q)``
    with ``p·sh + i − ph = h`` and ``q·sw + j − pw = w``; entries that came
    from the zero padding are dropped.

    Why a sum and not an average: ``im2col`` is a linear map that *copies*
    each pixel into every patch that covers it (up to kh·kw of them). Its
    adjoint (transpose) therefore *sums* the copies, and that is what the
    chain rule needs: if a pixel feeds several patch entries, the gradient
    with respect to the pixel is the sum of the gradients with respect to its
    copies. Averaging would instead undo ``im2col`` (``col2im`` is not its
    inverse) and would give wrong gradients. The defining property, tested, is

        ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩   for all x, y.

    Parameters
    ----------
    cols : ndarray, shape (C·kh·kw, B·H'·W')
        Patch-matrix-shaped array, e.g. the gradient of a loss with respect to
        ``im2col(x)``.
    input_shape : tuple of 4 ints
        ``(B, C, H, W)``, the shape of the ``x`` given to ``im2col``.
    kernel_size, stride, padding : int or pair of int
        As given to ``im2col``.
    out : ndarray, optional
        C-contiguous (B, C, H, W) array of the dtype of ``cols`` to write into.

    Returns
    -------
    x : ndarray, shape (B, C, H, W)
        Of the dtype of ``cols``; ``out`` if it was given.

    Raises
    ------
    ValueError
        If ``cols`` is not 2-D or its shape does not match ``input_shape`` and
        the window parameters, or a size is out of range.

    Notes
    -----
    Runs a numba kernel parallel over batch × channels unless ``TTNET_NUMBA=0``,
    then one strided NumPy ``+=`` per kernel offset.
    """
    cols = as_float_array(cols, "cols", ndim=2, finite=False)
    B, C, H, W = check_batch_shape(input_shape, "input_shape", length=4)
    (kh, kw), (sh, sw), (ph, pw) = window_params(kernel_size, stride, padding)
    Ho, Wo = conv_output_shape((H, W), kernel_size, stride, padding)
    expected = (C * kh * kw, B * Ho * Wo)
    if cols.shape != expected:
        raise ValueError(
            f"cols must have shape (C·kh·kw, B·H'·W') = {expected} for input_shape "
            f"{(B, C, H, W)}, kernel_size {(kh, kw)}, stride {(sh, sw)}, padding {(ph, pw)}; "
            f"got {cols.shape}")
    x = np.empty((B, C, H, W), dtype=cols.dtype) if out is None else \
        check_out(out, "out", (B, C, H, W), cols.dtype, contiguous=True)
    choose(_col2im_kernel, _col2im_numpy)(np.ascontiguousarray(cols), kh, kw, sh, sw, ph, pw, x)
    return x


def conv2d_loop(x: Any, weight: Any, bias: Any = None, stride: Any = 1,
                padding: Any = 0) -> np.ndarray:
    """Direct evaluation of the convolution sum (module docstring, equation 1).

    ``Y[b, s, p, q] = Σ_{c,i,j} K[s, c, i, j] · X̃[b, c, p·sh + i, q·sw + j] + bias[s]``,
    one output position ``(p, q)`` at a time: the slow, obviously-correct
    reference for the im2col convolution. Use it on small arrays only.

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W)
    weight : ndarray, shape (S, C, kh, kw)
    bias : ndarray, shape (S,), optional
    stride, padding : int or pair of int

    Returns
    -------
    ndarray, shape (B, S, H', W'), of the common dtype of the inputs.
    """
    x = as_float_array(x, "x", ndim=4, finite=False)
    weight = as_float_array(weight, "weight", ndim=4, finite=False)
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"x has {x.shape[1]} channels but weight {weight.shape} expects "
                         f"{weight.shape[1]} (weight shape is (S, C, kh, kw))")
    kh, kw = weight.shape[2:]
    _, (sh, sw), (ph, pw) = window_params((kh, kw), stride, padding)
    Ho, Wo = conv_output_shape(x.shape[2:], (kh, kw), stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((x.shape[0], weight.shape[0], Ho, Wo), dtype=np.result_type(x, weight))
    for p in range(Ho):
        for q in range(Wo):
            patch = xp[:, :, p * sh:p * sh + kh, q * sw:q * sw + kw]          # (B, C, kh, kw)
            out[:, :, p, q] = np.einsum("bcij,scij->bs", patch, weight)
    if bias is not None:
        bias = as_float_array(bias, "bias", ndim=1, finite=False)
        if bias.shape[0] != weight.shape[0]:
            raise ValueError(f"bias must have shape ({weight.shape[0]},), got {bias.shape}")
        out += bias[None, :, None, None]
    return out
