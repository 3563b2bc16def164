"""Max pooling that remembers where each maximum was, and its backward scatter.

For an NCHW batch, window (p, q) of channel c covers the padded input rows
``p·sh + i`` and columns ``q·sw + j`` for ``0 <= i < kh``, ``0 <= j < kw``.
The padding is −∞, so it never wins over a real value. :func:`max_pool2d`
returns the maxima and, per window, the position ``k = i·kw + j`` of the
*first* maximum in row-major window order (ties go to the smallest k; a NaN
wins over any number and the first NaN is kept, so NaN propagates).
:func:`max_pool2d_backward` sends each window's gradient to that one
position and nowhere else — also when the gradient is NaN or ±inf, so a NaN
in ``dout`` reaches exactly one input per window — summing where windows
overlap (where +inf and −inf meet, the sum is NaN).

Both come as a numba kernel (parallel over batch × channel) and a NumPy twin
with the same signature (one vectorised pass per window offset); the
``TTNET_NUMBA`` switch picks one (:mod:`ttnet.ops._numba`). The two give
bit-for-bit equal results on every input, NaN and ±inf included: the same
argmax, and in the backward pass the same additions in the same order (each
input position adds the gradients of its windows in increasing window offset
k, starting from zero). Speed-ups are
printed by ``benchmarks/bench_layers.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_float_array, check_batch_shape
from ._numba import choose, numba_kernel, prange
from .im2col import conv_output_shape, window_params

#: Largest max-pooling window (entries): the numba kernel counts window offsets in x's
#: dtype, and float32 holds every integer up to 2²⁴ exactly.
MAX_WINDOW = 2 ** 24

__all__ = ["MAX_WINDOW", "pool_window", "pool_params", "window_slice", "max_pool2d",
           "max_pool2d_backward"]


def pool_window(kernel_size: Any, stride: Any = None, padding: Any = 0):
    """Check pooling window arguments; return ``(kernel, stride, padding)`` as pairs.

    ``stride=None`` means ``stride = kernel_size``. As in PyTorch, the padding
    may be at most half the kernel size, so every window holds at least one
    real input value.

    Raises
    ------
    ValueError
        For sizes out of range or padding larger than half the kernel.
    """
    kernel, stride, padding = window_params(kernel_size,
                                            kernel_size if stride is None else stride, padding)
    if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
        raise ValueError(f"padding {padding} must be at most half of kernel_size {kernel}")
    return kernel, stride, padding


def pool_params(input_hw: Any, kernel_size: Any, stride: Any = None, padding: Any = 0):
    """:func:`pool_window` plus the output size: ``(kernel, stride, padding, (H', W'))``.

    Raises
    ------
    ValueError
        As :func:`pool_window`, or if the kernel is larger than the padded input.
    """
    kernel, stride, padding = pool_window(kernel_size, stride, padding)
    return kernel, stride, padding, conv_output_shape(input_hw, kernel, stride, padding)


def window_slice(i: int, j: int, stride: tuple[int, int], out_hw: tuple[int, int]) -> tuple:
    """Index of entry (i, j) of every window in the padded input: a (B, C, H', W') view.

    ``xp[window_slice(i, j, stride, (H', W'))][b, c, p, q] = xp[b, c, p s_h + i, q s_w + j]``,
    the entry at offset (i, j) of output pixel (p, q)'s window. Used by the max
    and average pooling of :mod:`ttnet.nn.functional`.
    """
    (sh, sw), (Ho, Wo) = stride, out_hw
    return (slice(None), slice(None), slice(i, i + sh * (Ho - 1) + 1, sh),
            slice(j, j + sw * (Wo - 1) + 1, sw))


# ---------------------------------------------------------------------------
# forward: NumPy twin and numba kernel, both write `out` and `argmax`
# ---------------------------------------------------------------------------

def _max_pool_numpy(x, kh, kw, sh, sw, ph, pw, out, argmax) -> None:
    """One pass per window offset k: keep the candidate where it beats the running max.

    Padding is −∞ and never wins; where a real entry *equals* a padded running
    maximum (an all −∞ window) the real entry takes over, so the gradient always
    goes to an input position.
    """
    B, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    real = np.pad(np.ones((1, 1, H, W), dtype=bool), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out_hw = out.shape[2:]
    out[...] = xp[window_slice(0, 0, (sh, sw), out_hw)]
    argmax[...] = 0
    out_real = np.broadcast_to(real[window_slice(0, 0, (sh, sw), out_hw)], out.shape).copy()
    for k in range(1, kh * kw):
        candidate = xp[window_slice(k // kw, k % kw, (sh, sw), out_hw)]
        candidate_real = real[window_slice(k // kw, k % kw, (sh, sw), out_hw)]
        # strict '>' keeps the first maximum; a NaN beats any number, the first NaN stays
        wins = ((candidate > out) | (np.isnan(candidate) & ~np.isnan(out))
                | ((candidate == out) & ~out_real & candidate_real))
        np.copyto(out, candidate, where=wins)
        argmax[wins] = k
        np.copyto(out_real, candidate_real, where=wins)


@numba_kernel
def _max_pool_kernel(x, kh, kw, sh, sw, ph, pw, out, argmax):  # pragma: no cover - compiled
    """numba twin of :func:`_max_pool_numpy`, same rule for ties, padding and NaN.

    The rule is read best in the first loop below, which scans one window at a
    time: the scan starts at the window's first real (non-padding) entry and
    skips the padding, which is −∞ and never beats anything, so the maximum is
    always at an input position (also for an all −∞ window).

    That loop is slow on the many windows that hold no padding: its loops are a
    few entries long, their length known only at run time, and its branch on
    random data is mispredicted half of the time. So those windows (columns
    ``q_lo <= q < q_hi`` of each output row) are scanned together, as the twin
    does it: one pass along the row per window offset k, keeping each window's
    maximum and its offset where the candidate wins — a loop without branches,
    which LLVM vectorises. Three details keep it vectorisable: the offsets are
    kept as numbers of x's dtype while the row is scanned (a select between
    floats and integers in one loop defeats the vectoriser; offsets below 2²⁴
    are exact in float32), the common stride 2 is spelled as a constant, and
    the candidate is compared with ``>`` alone, which is the rule only without
    NaN: a plane that holds a NaN takes the first loop for all its windows.
    ``benchmarks/bench_layers.py`` prints the speed against the twin (2 cores,
    float32, batch 128, 3×3 windows, stride 2): 14–16× faster; it measured
    5.7–6.7× when this kernel had only the first loop (an earlier version). The vectoriser is fragile here — one
    more condition on the ``if has_nan`` below halved the speed — so time any
    edit.
    """
    B, C, H, W = x.shape
    Ho, Wo = out.shape[2], out.shape[3]
    q_lo = min(Wo, (pw + sw - 1) // sw)                   # first window with no left padding
    q_hi = max(q_lo, min(Wo, (W - kw + pw) // sw + 1))    # past the last with no right padding
    n = q_hi - q_lo
    for bc in prange(B * C):
        b, c = bc // C, bc % C
        image = x[b, c]
        has_nan = False
        for value in image.ravel():
            has_nan |= value != value
        maxima, offsets = np.empty(n, x.dtype), np.empty(n, x.dtype)
        for p in range(Ho):
            h0 = p * sh - ph
            i_lo, i_hi = max(0, -h0), min(kh, H - h0)
            for q in range(Wo):                           # one window at a time
                if q_lo <= q < q_hi and not has_nan:
                    continue
                w0 = q * sw - pw
                j_lo, j_hi = max(0, -w0), min(kw, W - w0)
                best = image[h0 + i_lo, w0 + j_lo]
                best_k = i_lo * kw + j_lo
                for i in range(i_lo, i_hi):
                    for j in range(j_lo, j_hi):
                        value = image[h0 + i, w0 + j]
                        if value > best or (value != value and best == best):
                            best, best_k = value, i * kw + j
                out[b, c, p, q] = best
                argmax[b, c, p, q] = best_k
            if has_nan:
                continue
            first = image[h0 + i_lo, q_lo * sw - pw:]     # windows q_lo .. q_hi - 1 together
            for t in range(n):
                maxima[t] = first[sw * t]
                offsets[t] = x.dtype.type(i_lo * kw)
            for i in range(i_lo, i_hi):
                for j in range(kw):
                    k = x.dtype.type(i * kw + j)
                    candidates = image[h0 + i, q_lo * sw - pw + j:]
                    if sw == 2:
                        for t in range(n):
                            value, best = candidates[2 * t], maxima[t]
                            wins = value > best
                            maxima[t] = value if wins else best
                            offsets[t] = k if wins else offsets[t]
                    else:
                        for t in range(n):
                            value, best = candidates[sw * t], maxima[t]
                            wins = value > best
                            maxima[t] = value if wins else best
                            offsets[t] = k if wins else offsets[t]
            for t in range(n):
                out[b, c, p, q_lo + t] = maxima[t]
                argmax[b, c, p, q_lo + t] = np.int32(offsets[t])


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None,
               padding: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """Max over each window, and the window position of the maximum.

    ``out[b, c, p, q] = max_{i,j} X̃[b, c, p·sh + i, q·sw + j]`` with ``X̃`` the
    −∞-padded input; ``argmax[b, c, p, q] = i·kw + j`` of the first maximum.

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W), float32 or float64
    kernel_size : int or pair of int
    stride : int or pair of int, optional
        Defaults to ``kernel_size``.
    padding : int or pair of int
        At most half the kernel size.

    Returns
    -------
    out : ndarray, shape (B, C, H', W'), dtype of x
    argmax : ndarray of int32, shape (B, C, H', W')

    Raises
    ------
    ValueError
        As :func:`pool_params`, or for a window of more than :data:`MAX_WINDOW` entries.
    """
    x = np.ascontiguousarray(as_float_array(x, "x", ndim=4, finite=False))
    (kh, kw), (sh, sw), (ph, pw), (Ho, Wo) = pool_params(x.shape[2:], kernel_size, stride,
                                                         padding)
    if kh * kw > MAX_WINDOW:
        raise ValueError(f"kernel_size {(kh, kw)} has {kh * kw} entries per window; max "
                         f"pooling supports at most {MAX_WINDOW} (2**24)")
    out = np.empty((*x.shape[:2], Ho, Wo), dtype=x.dtype)
    argmax = np.empty(out.shape, dtype=np.int32)
    choose(_max_pool_kernel, _max_pool_numpy)(x, kh, kw, sh, sw, ph, pw, out, argmax)
    return out, argmax


# ---------------------------------------------------------------------------
# backward: NumPy twin and numba kernel, both overwrite `dx`
# ---------------------------------------------------------------------------

def _max_pool_backward_numpy(dout, argmax, kh, kw, sh, sw, ph, pw, dx) -> None:
    """One pass per window offset k: windows whose maximum sits at k add their gradient there.

    The add is masked (``where=argmax == k``), not multiplied by a 0/1 mask:
    ``NaN · 0`` is NaN, which would send a NaN gradient to every position of
    its window instead of to the maximum only.
    """
    B, C, H, W = dx.shape
    dxp = np.zeros((B, C, H + 2 * ph, W + 2 * pw), dtype=dx.dtype)
    for k in range(kh * kw):
        target = dxp[window_slice(k // kw, k % kw, (sh, sw), dout.shape[2:])]     # a view of dxp
        np.add(target, dout, out=target, where=argmax == k)
    dx[...] = dxp[:, :, ph:ph + H, pw:pw + W]


@numba_kernel
def _max_pool_backward_kernel(dout, argmax, kh, kw, sh, sw, ph, pw,
                              dx):  # pragma: no cover - compiled
    """numba twin of :func:`_max_pool_backward_numpy`; task (b, c) owns dx[b, c].

    One pass over the windows instead of one per window offset (the speed-up
    over the twin is printed by ``benchmarks/bench_layers.py``).
    The windows are visited last to first: for a fixed input position a later
    window reaches it with a smaller offset k, so each position receives its
    gradients in increasing k, the order of the twin (bit-equal sums).
    """
    B, C, H, W = dx.shape
    Ho, Wo = dout.shape[2], dout.shape[3]
    zero = dx.dtype.type(0)
    for bc in prange(B * C):
        b, c = bc // C, bc % C
        dx[b, c] = zero
        for p in range(Ho - 1, -1, -1):
            for q in range(Wo - 1, -1, -1):
                k = argmax[b, c, p, q]
                h, w = p * sh - ph + k // kw, q * sw - pw + k % kw
                if 0 <= h < H and 0 <= w < W:
                    dx[b, c, h, w] += dout[b, c, p, q]


def max_pool2d_backward(dout: Any, argmax: Any, input_shape: Any, kernel_size: Any,
                        stride: Any = None, padding: Any = 0) -> np.ndarray:
    """Gradient of :func:`max_pool2d`: ``dx[position of window's max] += dout[window]``.

    Parameters
    ----------
    dout : ndarray, shape (B, C, H', W')
    argmax : ndarray of int, shape (B, C, H', W'), values in [0, kh·kw)
        As returned by :func:`max_pool2d`.
    input_shape : tuple of 4 ints
        ``(B, C, H, W)`` of the pooled input.
    kernel_size, stride, padding
        As given to :func:`max_pool2d`.

    Returns
    -------
    dx : ndarray, shape (B, C, H, W), dtype of dout
    """
    dout = np.ascontiguousarray(as_float_array(dout, "dout", ndim=4, finite=False))
    B, C, H, W = check_batch_shape(input_shape, "input_shape", length=4)
    (kh, kw), (sh, sw), (ph, pw), out_hw = pool_params((H, W), kernel_size, stride, padding)
    argmax = np.ascontiguousarray(argmax)
    if dout.shape != (B, C, *out_hw) or argmax.shape != dout.shape:
        raise ValueError(f"dout and argmax must have shape {(B, C, *out_hw)} for input_shape "
                         f"{(B, C, H, W)}, got {dout.shape} and {argmax.shape}")
    if argmax.dtype.kind not in "iu":
        raise TypeError(f"argmax must be an integer array, got dtype {argmax.dtype}")
    if argmax.size and (argmax.min() < 0 or argmax.max() >= kh * kw):
        raise ValueError(f"argmax must hold window positions in [0, {kh * kw}) for a {kh}x{kw} "
                         f"window, got values from {argmax.min()} to {argmax.max()}")
    dx = np.empty((B, C, H, W), dtype=dout.dtype)
    choose(_max_pool_backward_kernel, _max_pool_backward_numpy)(
        dout, argmax, kh, kw, sh, sw, ph, pw, dx)
    return dx
