"""The spatial step of the TT-conv: every input channel convolved with the r₀ spatial filters.

The TT-conv kernel of Garipov et al. (2016) starts with the spatial core G₀,
``kh·kw × r₀`` numbers: r₀ filters of size ``kh × kw``. The first step of the
sequential algorithm convolves *each input channel separately* with each of
those filters (a depthwise convolution with r₀ filters per channel):

    Z₀[r, c, b, p, q] = Σ_{i, j} G₀[i, j, r] · X̃[b, c, p·sh + i, q·sw + j]          (1)

with ``X̃`` the zero-padded input, as in :mod:`ttnet.ops.im2col`. The layout of
Z₀ puts the bond ``r`` and the channel ``c`` first and the batch and pixels
last, so that the channel cores that follow contract it with a few large
matrix products, ``(m·r_k) × (r_{k-1}·n) @ (r_{k-1}·n) × (… · B·H'·W')``,
rather than one small product per image (``docs/tt_layers.md`` §5).

The backward pass of (1) gives the gradients of both inputs:

    dG₀[i, j, r]        = Σ_{c, b, p, q} dZ₀[r, c, b, p, q] · X̃[b, c, p·sh + i, q·sw + j]
    dX̃[b, c, h, w]     = Σ_{r, i, j, p·sh+i=h, q·sw+j=w} G₀[i, j, r] · dZ₀[r, c, b, p, q]

(dx is dX̃ without its padding.) Both come as a numba kernel over the ``B·C``
(image, channel) planes of its images, which reads each plane once and never
builds a patch matrix (for a 3 × 3 filter at unit stride, the paper's case, each
output is one nine-term sum kept in registers, and the backward pass gathers
``dX̃`` the same way), and a NumPy twin with the same signature, which is
(1) written with the single-channel patch matrix of :func:`ttnet.ops.im2col.im2col`
(``l²`` copies of the input) and one matrix product. The ``TTNET_NUMBA``
switch picks one (:mod:`ttnet.ops._numba`); they agree to round-off (the sums
run in another order), NaN and ±inf in the same places. The kernels multiply
the padding zeros too, so that a NaN or ±inf in G₀ reaches the border pixels
exactly as it does through the twin's matrix product.

Threads. The kernels are serial; :func:`spatial_step_forward` and
:func:`spatial_step_backward` cut the batch into chunks of whole images
(:func:`ttnet.blas.batch_chunks`) and run them on the BLAS threads as the
threads fall free (:func:`ttnet.blas.map_on_threads`), as Winograd's
convolution does. The chunks' filter gradients are added in the order of the
chunks, so ``dg0`` does not depend on the thread count. Called from inside such
a thread (the TT-conv's separable algorithm runs the spatial step chunk by chunk
itself), they run in the calling thread; their ``out`` and ``dx`` arguments let
such a caller reuse its scratch arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_float_array, check_out, describe
from ..blas import OrderedSum, batch_chunks, map_on_threads
from ._numba import choose, numba_kernel
from .im2col import col2im, conv_output_shape, im2col, window_params

__all__ = ["spatial_step_forward", "spatial_step_backward", "z0_chunks", "CHUNK_NUMBERS",
           "MIN_CHUNKS"]

#: The most numbers of Z₀ one chunk of images makes (2 MiB of float32): the chunks
#: of the TT-conv's separable algorithm stay in the cache (:mod:`ttnet.nn.tt_functional`).
CHUNK_NUMBERS = 1 << 19

#: The fewest chunks a batch of as many images is cut into, so that the threads can
#: share them out evenly (:func:`ttnet.blas.batch_chunks`).
MIN_CHUNKS = 8


def z0_chunks(batch: int, z0_per_image: int) -> list[tuple[int, int]]:
    """The batch cut into chunks of images ``[b0, b1)`` of at most :data:`CHUNK_NUMBERS`
    numbers of Z₀ each (at least one image), at least :data:`MIN_CHUNKS` of them from as
    many images on (:func:`ttnet.blas.batch_chunks`): how the spatial step, and the
    TT-conv's separable algorithm around it, share a batch out between threads."""
    return batch_chunks(batch, max(1, z0_per_image), CHUNK_NUMBERS, MIN_CHUNKS)


# ---------------------------------------------------------------- forward
def _plane_patches(x, kh, kw, sh, sw, ph, pw) -> np.ndarray:
    """The single-channel patch matrix of the (c, b) planes, ``(kh·kw, C·B·H'·W')``."""
    B, C, H, W = x.shape
    planes = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(C * B, 1, H, W)
    return im2col(planes, (kh, kw), (sh, sw), (ph, pw))


def _forward_numpy(x, g0, sh, sw, ph, pw, z0, b0) -> None:
    """NumPy twin: the single-channel patch matrix of the (c, b) planes times G₀ᵀ.

    ``x`` holds images ``b0, b0 + 1, …`` of the batch whose Z₀ is ``z0`` (the kernels
    take the whole of ``z0``, whose rows are then contiguous, which they need to run
    in vector lanes)."""
    kh, kw, r0 = g0.shape
    cols = _plane_patches(x, kh, kw, sh, sw, ph, pw)
    B = x.shape[0]
    z0[:, :, b0:b0 + B] = (g0.reshape(kh * kw, r0).T @ cols).reshape(r0, -1, B, *z0.shape[3:])


@numba_kernel(parallel=False)
def _correlate_3x3(plane, g0, r, out):  # pragma: no cover - compiled
    """``out[p, q] = Σ_{i,j} g0[i, j, r] plane[p + i, q + j]`` for a 3 × 3 filter, unit stride.

    The nine products of an output pixel are summed in registers and the loop over
    ``q`` is vectorised: one store per output instead of nine read-add-writes."""
    g00, g01, g02 = g0[0, 0, r], g0[0, 1, r], g0[0, 2, r]
    g10, g11, g12 = g0[1, 0, r], g0[1, 1, r], g0[1, 2, r]
    g20, g21, g22 = g0[2, 0, r], g0[2, 1, r], g0[2, 2, r]
    Ho, Wo = out.shape
    for p in range(Ho):
        s0, s1, s2, target = plane[p], plane[p + 1], plane[p + 2], out[p]
        for q in range(Wo):
            target[q] = (g00 * s0[q] + g01 * s0[q + 1] + g02 * s0[q + 2]
                         + g10 * s1[q] + g11 * s1[q + 1] + g12 * s1[q + 2]
                         + g20 * s2[q] + g21 * s2[q + 1] + g22 * s2[q + 2])


@numba_kernel(parallel=False)
def _forward_kernel(x, g0, sh, sw, ph, pw, z0, b0):  # pragma: no cover - compiled
    """numba twin of :func:`_forward_numpy`; serial, over the (b, c) planes of ``x``.

    A 3 × 3 filter at unit stride (the paper's layers) takes :func:`_correlate_3x3`; any
    other window adds one filter tap at a time over the plane, which for a 3 × 3 filter
    took 52–86 ms against 18–21 ms (64 channels at 32 × 32, batch 128, r₀ = 4; timed
    side by side with commit c7976f0, which had only that loop)."""
    B, C, H, W = x.shape
    kh, kw, r0 = g0.shape
    Ho, Wo = z0.shape[3], z0.shape[4]
    zero = x.dtype.type(0)
    three_by_three = kh == 3 and kw == 3 and sh == 1 and sw == 1
    plane = np.zeros((H + 2 * ph, W + 2 * pw), x.dtype)            # X̃[b, c]: border stays 0
    for bc in range(B * C):
        b, c = bc // C, bc % C
        plane[ph:ph + H, pw:pw + W] = x[b, c]
        for r in range(r0):
            out = z0[r, c, b0 + b]
            if three_by_three:
                _correlate_3x3(plane, g0, r, out)
                continue
            out[:, :] = zero
            for i in range(kh):
                for j in range(kw):
                    g = g0[i, j, r]
                    for p in range(Ho):
                        source, target = plane[p * sh + i], out[p]
                        if sw == 1:              # unit stride: a loop LLVM can vectorise
                            for q in range(Wo):
                                target[q] += g * source[q + j]
                        else:
                            for q in range(Wo):
                                target[q] += g * source[q * sw + j]


# ---------------------------------------------------------------- backward
def _backward_numpy(dz0, x, g0, sh, sw, ph, pw, dx, dg0, b0) -> None:
    """NumPy twin: ``dG₀ = dZ₀ colsᵀ``, ``dx = col2im(G₀ dZ₀)`` (single-channel patches);
    ``x`` and ``dx`` hold images ``b0, b0 + 1, …`` of the batch whose dZ₀ is ``dz0``."""
    B, C, H, W = x.shape
    kh, kw, r0 = g0.shape
    cols = _plane_patches(x, kh, kw, sh, sw, ph, pw)
    dz = dz0[:, :, b0:b0 + B].reshape(r0, -1)
    dg0[...] = (cols @ dz.T).reshape(kh, kw, r0)
    dplanes = col2im(g0.reshape(kh * kw, r0) @ dz, (C * B, 1, H, W), (kh, kw), (sh, sw),
                     (ph, pw))
    dx[...] = dplanes.reshape(C, B, H, W).transpose(1, 0, 2, 3)


@numba_kernel(parallel=False)
def _correlate_3x3_adjoint(grad, g0, r, padded, dplane):  # pragma: no cover - compiled
    """The adjoint of :func:`_correlate_3x3`: ``dplane[p + i, q + j] += g0[i, j, r] grad[p, q]``.

    Written as a gather, ``dplane[h, w] += Σ_{i,j} g0[i, j, r] grad[h − i, w − j]``, so
    that each element of ``dplane`` is one nine-term sum (a loop over ``w`` that
    vectorises). ``padded`` is scratch of shape ``(H' + 4, W' + 4)`` whose border of two
    zeros stands for the taps that fall outside ``grad``; their products are
    ``g · 0 = 0`` because the caller takes this path only for a finite ``g0`` (a NaN
    or ±inf tap would turn them into NaN where the scatter adds nothing)."""
    g00, g01, g02 = g0[0, 0, r], g0[0, 1, r], g0[0, 2, r]
    g10, g11, g12 = g0[1, 0, r], g0[1, 1, r], g0[1, 2, r]
    g20, g21, g22 = g0[2, 0, r], g0[2, 1, r], g0[2, 2, r]
    Ho, Wo = grad.shape
    padded[2:Ho + 2, 2:Wo + 2] = grad                     # padded[k + 2] holds grad[k]
    for h in range(Ho + 2):
        # grad rows h, h - 1, h - 2 (taps i = 0, 1, 2); column w - j is padded column w + 2 - j
        d0, d1, d2, target = padded[h + 2], padded[h + 1], padded[h], dplane[h]
        for w in range(Wo + 2):
            target[w] += (g00 * d0[w + 2] + g01 * d0[w + 1] + g02 * d0[w]
                          + g10 * d1[w + 2] + g11 * d1[w + 1] + g12 * d1[w]
                          + g20 * d2[w + 2] + g21 * d2[w + 1] + g22 * d2[w])


@numba_kernel(parallel=False, reassociate=True)
def _tap_sums_3x3(grad, plane, out):  # pragma: no cover - compiled
    """``out[i, j] = Σ_{p,q} grad[p, q] plane[p + i, q + j]`` for a 3 × 3 filter, unit stride.

    Nine running sums over one pass of ``grad``; the compiler may reorder them
    (``reassociate``), so each runs in vector lanes."""
    Ho, Wo = grad.shape
    t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = t8 = grad.dtype.type(0)
    for p in range(Ho):
        d, s0, s1, s2 = grad[p], plane[p], plane[p + 1], plane[p + 2]
        for q in range(Wo):
            e = d[q]
            t0 += e * s0[q]
            t1 += e * s0[q + 1]
            t2 += e * s0[q + 2]
            t3 += e * s1[q]
            t4 += e * s1[q + 1]
            t5 += e * s1[q + 2]
            t6 += e * s2[q]
            t7 += e * s2[q + 1]
            t8 += e * s2[q + 2]
    out[0, 0], out[0, 1], out[0, 2] = t0, t1, t2
    out[1, 0], out[1, 1], out[1, 2] = t3, t4, t5
    out[2, 0], out[2, 1], out[2, 2] = t6, t7, t8


@numba_kernel(parallel=False)
def _backward_kernel(dz0, x, g0, sh, sw, ph, pw, dx, dg0, b0):  # pragma: no cover - compiled
    """numba twin of :func:`_backward_numpy`; serial, over the (b, c) planes of ``x``.

    Each plane reads its part of dZ₀ once and writes its own dX̃ plane and its own
    row of ``partial``, the plane's dG₀; the rows are summed at the end.
    On this general path the dG₀ sums run in a vector of one partial sum per output
    column (a float sum into one scalar cannot be vectorised without reordering it),
    in a loop of their own: fused with the dX̃ update, neither loop vectorises (3×
    slower). A 3 × 3 filter at unit stride, all of its taps finite, takes
    :func:`_correlate_3x3_adjoint` and :func:`_tap_sums_3x3` instead, the latter
    compiled to allow exactly that reordering (67 ms against 102–114 ms on the
    forward docstring's layer, timed the same way).
    """
    B, C, H, W = x.shape
    kh, kw, r0 = g0.shape
    Ho, Wo = dz0.shape[3], dz0.shape[4]
    zero = x.dtype.type(0)
    three_by_three = kh == 3 and kw == 3 and sh == 1 and sw == 1 and np.isfinite(g0).all()
    partial = np.zeros((B * C, kh, kw, r0), x.dtype)                # dG₀ of each plane
    plane = np.zeros((H + 2 * ph, W + 2 * pw), x.dtype)            # X̃[b, c]: border stays 0
    dplane = np.empty((H + 2 * ph, W + 2 * pw), x.dtype)           # dX̃[b, c]
    padded = np.zeros((Ho + 4, Wo + 4), x.dtype)                    # dZ₀ with a zero border
    acc = np.empty(Wo, x.dtype)                                     # dG₀ sums, one per column
    for bc in range(B * C):
        b, c = bc // C, bc % C
        plane[ph:ph + H, pw:pw + W] = x[b, c]
        dplane[:, :] = zero
        if three_by_three:
            for r in range(r0):
                grad = dz0[r, c, b0 + b]
                _correlate_3x3_adjoint(grad, g0, r, padded, dplane)
                _tap_sums_3x3(grad, plane, partial[bc, :, :, r])
        else:
            for r in range(r0):
                grad = dz0[r, c, b0 + b]
                for i in range(kh):
                    for j in range(kw):
                        g = g0[i, j, r]
                        for p in range(Ho):                               # dX̃ += g dZ₀
                            target, row = dplane[p * sh + i], grad[p]
                            if sw == 1:              # unit stride: a loop LLVM can vectorise
                                for q in range(Wo):
                                    target[q + j] += g * row[q]
                            else:
                                for q in range(Wo):
                                    target[q * sw + j] += g * row[q]
                        acc[:] = zero
                        for p in range(Ho):                               # dG₀ = Σ dZ₀ X̃
                            source, row = plane[p * sh + i], grad[p]
                            if sw == 1:
                                for q in range(Wo):
                                    acc[q] += row[q] * source[q + j]
                            else:
                                for q in range(Wo):
                                    acc[q] += row[q] * source[q * sw + j]
                        partial[bc, i, j, r] = acc.sum()
        dx[b, c] = dplane[ph:ph + H, pw:pw + W]
    dg0[...] = partial.sum(axis=0)


# ---------------------------------------------------------------- entry points
def _check_inputs(x: Any, g0: Any, stride: Any, padding: Any):
    """Checked ``x (B, C, H, W)``, ``g0 (kh, kw, r₀)`` (x's dtype), stride, padding, out size."""
    x = as_float_array(x, "x", ndim=4, finite=False)
    g0 = as_float_array(g0, "g0", ndim=3, finite=False)
    if g0.dtype != x.dtype:
        raise TypeError(f"g0 must have x's dtype {x.dtype}, got {describe(g0)}")
    kernel, stride, padding = window_params(g0.shape[:2], stride, padding)
    out_hw = conv_output_shape(x.shape[2:], kernel, stride, padding)
    return x, g0, stride, padding, out_hw


def _result_array(given: np.ndarray | None, name: str, shape: tuple[int, ...], dtype: np.dtype,
                  inputs: dict[str, np.ndarray]) -> np.ndarray:
    """A new array for a result, or ``given`` checked: C-contiguous, of ``shape`` and
    ``dtype``, and not overlapping any of ``inputs`` (the kernels would read what they wrote)."""
    if given is None:
        return np.empty(shape, dtype=dtype)
    check_out(given, name, shape, dtype, contiguous=True)
    if any(np.may_share_memory(given, a) for a in inputs.values()):
        *others, last = inputs
        raise ValueError(f"{name} must not overlap {', '.join(others)} or {last} (the kernels "
                         f"would read what they wrote)")
    return given


def spatial_step_forward(x: Any, g0: Any, stride: Any = 1, padding: Any = 0, *,
                         out: np.ndarray | None = None) -> np.ndarray:
    """Convolve every channel of ``x`` with each of the r₀ filters of ``g0``, equation (1).

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W), float
    g0 : ndarray, shape (kh, kw, r₀), x's dtype
        The spatial core: filter ``r`` is ``g0[:, :, r]``.
    stride, padding : int or pair
    out : ndarray, shape (r₀, C, B, H', W'), x's dtype, C-contiguous, optional
        Where to write the result (a new array if not given); not overlapping ``x`` or
        ``g0``.

    Returns
    -------
    z0 : ndarray, shape (r₀, C, B, H', W')
        Bond and channel first, batch and pixels last (see the module docstring).
    """
    x, g0, (sh, sw), (ph, pw), (Ho, Wo) = _check_inputs(x, g0, stride, padding)
    B, C = x.shape[:2]
    z0 = _result_array(out, "out", (g0.shape[2], C, B, Ho, Wo), x.dtype, {"x": x, "g0": g0})
    x, g0 = np.ascontiguousarray(x), np.ascontiguousarray(g0)
    kernel = choose(_forward_kernel, _forward_numpy)

    def forward_chunk(chunk: tuple[int, int], t: int) -> None:     # images b0..b1-1
        b0, b1 = chunk
        kernel(x[b0:b1], g0, sh, sw, ph, pw, z0, b0)

    map_on_threads(forward_chunk, z0_chunks(B, g0.shape[2] * C * Ho * Wo))
    return z0


def spatial_step_backward(dz0: Any, x: Any, g0: Any, stride: Any = 1, padding: Any = 0, *,
                          dx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of :func:`spatial_step_forward`: ``(dx, dg0)``.

    Parameters
    ----------
    dz0 : ndarray, shape (r₀, C, B, H', W'), x's dtype
    x, g0, stride, padding : the forward pass's arguments
    dx : ndarray, shape (B, C, H, W), x's dtype, C-contiguous, optional
        Where to write the input gradient (a new array if not given); not overlapping
        the other arguments.

    Returns
    -------
    dx : ndarray, shape (B, C, H, W)
    dg0 : ndarray, shape (kh, kw, r₀)
    """
    x, g0, (sh, sw), (ph, pw), (Ho, Wo) = _check_inputs(x, g0, stride, padding)
    B, C, H, W = x.shape
    dz0 = as_float_array(dz0, "dz0", finite=False)
    expected = (g0.shape[2], C, B, Ho, Wo)
    if dz0.shape != expected or dz0.dtype != x.dtype:
        raise ValueError(f"dz0 must have shape {expected} and dtype {x.dtype}, "
                         f"got {describe(dz0)}")
    dx = _result_array(dx, "dx", x.shape, x.dtype, {"dz0": dz0, "x": x, "g0": g0})
    dz0, x, g0 = np.ascontiguousarray(dz0), np.ascontiguousarray(x), np.ascontiguousarray(g0)
    kernel = choose(_backward_kernel, _backward_numpy)

    chunks = z0_chunks(B, g0.shape[2] * C * Ho * Wo)
    dg0 = OrderedSum(g0.shape, x.dtype)

    def backward_chunk(numbered: tuple[int, tuple[int, int]], t: int) -> None:
        number, (b0, b1) = numbered
        part = np.empty(g0.shape, dtype=x.dtype)                    # the chunk's dG₀
        kernel(dz0, x[b0:b1], g0, sh, sw, ph, pw, dx[b0:b1], part, b0)
        dg0.add(number, part)

    map_on_threads(backward_chunk, enumerate(chunks))
    return dx, dg0.result(len(chunks))
