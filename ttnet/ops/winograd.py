"""The 3×3 convolution by Winograd's minimal filtering algorithm F(2×2, 3×3).

A 3×3 cross-correlation computes each 2×2 block of outputs from a 4×4 tile of
the (zero-padded) input. Written directly that is 2·2·9 = 36 multiplications
per channel pair; Winograd's algorithm (Lavin & Gray 2016) needs 16:

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A                                         (1)

with ``d`` the 4×4 input tile, ``g`` the 3×3 filter, ``⊙`` the elementwise
product and the constant matrices

    Bᵀ = [[1, 0, -1,  0],      G = [[1,    0,   0  ],      Aᵀ = [[1, 1,  1,  0],
          [0, 1,  1,  0],           [1/2,  1/2, 1/2],            [0, 1, -1, -1]]
          [0, -1, 1,  0],           [1/2, -1/2, 1/2],
          [0, 1,  0, -1]]           [0,    0,   1  ]]

(one dimension: ``y₀ = d₀g₀ + d₁g₁ + d₂g₂`` and ``y₁ = d₁g₀ + d₂g₁ + d₃g₂`` from the four
products ``(d₀−d₂)g₀``, ``(d₁+d₂)(g₀+g₁+g₂)/2``, ``(d₂−d₁)(g₀−g₁+g₂)/2``, ``(d₁−d₃)g₂``;
the 2-D algorithm applies it along both axes). With C input and S output
channels the sum over channels moves inside the brackets, and the layer becomes
16 independent matrix products, one per tile position ``(u, v)``:

    U[u, v] = (G g Gᵀ)[u, v]       (S × C)        the filter transform
    V[u, v] = (Bᵀ d B)[u, v]       (C × tiles)    the input transform
    M[u, v] = U[u, v] @ V[u, v]    (S × tiles)
    y       = Aᵀ M A               per tile       the output transform

That is 16 multiplications per 4 outputs instead of 36: 2.25× fewer than the
im2col product, at the price of the transforms (additions only, one pass
over memory each). ``tiles = B·⌈H'/2⌉·⌈W'/2⌉``; an odd H' or W' gets one more
row or column of tiles, computed from zero padding and cropped.

Backward. Every step of (1) is linear, so its gradient is its transpose:

    dM[u, v] = (A dY Aᵀ)[u, v]     dY the 2×2 output gradient of the tile (0 where cropped)
    dU[u, v] = dM[u, v] @ V[u, v]ᵀ    →    dg = Gᵀ dU G
    dV[u, v] = U[u, v]ᵀ @ dM[u, v]    →    dd = B dV Bᵀ, summed over the overlapping tiles

These are the exact gradients of the computation (1), which equals the
convolution in exact arithmetic; in floating point the transforms' entries
(0, ±1, ±1/2) add round-off of the order of the inputs' own.

Chunks. ``V`` and ``M`` hold 16 numbers per tile and channel, four times the
input and the output; computed for the whole batch at once, each would be
written to memory and read back (134 MB each for 64 channels at 32×32, batch
128, float32), and the backward pass would need ``V`` kept from the forward
pass. Instead each thread takes the batch a chunk of whole images at a time (at
most :data:`CHUNK_TILES` tiles) and runs all the steps on one chunk before the
next, so the chunk's stacks are still in the processor's cache when the next
step reads them. The backward pass recomputes each chunk's ``V`` from ``x``
(additions only) rather than keeping it, so the layer keeps nothing but a
reference to its input. The threads take the chunks as they fall free
(:func:`ttnet.blas.map_on_threads`), each running the transforms as serial numba
kernels and its products on one BLAS thread; a batch is cut into at least
:data:`MIN_CHUNKS` chunks, so that a thread slowed down by the machine leaves
its share to the other.

Each transform of the data comes as a numba kernel and a NumPy twin with the
same signature; the ``TTNET_NUMBA`` switch picks one (:mod:`ttnet.ops._numba`).
Both do the same additions in the same order, so they agree exactly, NaN and
±inf included. With the kernels the whole convolution ran 2.4–3.9× faster than with
the twins at batch 128 (``benchmarks/bench_layers.py``, one run), and 1.0–1.75× faster than
the im2col product on layers of 64 or 128 channels (over the runs in the README). On thin layers the 16
products are too narrow to pay for the transforms: im2col was 1.8× faster at 4
input channels, 1.2× at 16, and Winograd 1.1× faster at 32 (the same
benchmark's channel sweep), so ``conv2d_forward`` runs Winograd's algorithm
only from :data:`ttnet.nn.functional.WINOGRAD_MIN_CHANNELS` (32) input channels up,
and only on batches of at least :data:`ttnet.nn.functional.WINOGRAD_MIN_TILES`
(512) 2×2 output tiles: on fewer the products are short (the benchmark's tile sweep).
The transforms are written as additions rather than products with the
matrices above, so that a NaN in the input reaches exactly the outputs whose
window contains it, as in the direct convolution. (An infinity can become a
NaN where the direct convolution keeps it infinite: ``∞ − ∞`` in ``d₂ − d₁``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_float_array, check_int, check_int_sequence, describe
from ..blas import OrderedSum, batch_chunks, map_on_threads
from ._numba import choose, numba_kernel
from .im2col import conv_output_shape, window_params
from .workspace import check_workspace, scratch_prefix

__all__ = ["winograd_conv3x3_forward", "winograd_conv3x3_backward", "winograd_stacks",
           "winograd_tiles", "winograd_tile_count", "FILTER_TRANSFORM", "INPUT_TRANSFORM",
           "OUTPUT_TRANSFORM", "STACK_PADDING", "CHUNK_TILES", "MIN_CHUNKS"]

#: G (4 × 3): the filter transform ``U = G g Gᵀ``.
FILTER_TRANSFORM = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
#: Bᵀ (4 × 4): the input transform ``V = Bᵀ d B``.
INPUT_TRANSFORM = np.array([[1.0, 0.0, -1.0, 0.0], [0.0, 1.0, 1.0, 0.0],
                            [0.0, -1.0, 1.0, 0.0], [0.0, 1.0, 0.0, -1.0]])
#: Aᵀ (2 × 4): the output transform ``y = Aᵀ M A``.
OUTPUT_TRANSFORM = np.array([[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]])


def winograd_tiles(out_hw: tuple[int, int]) -> tuple[int, int]:
    """Tiles ``(⌈H'/2⌉, ⌈W'/2⌉)`` covering an output of size ``(H', W')`` (each >= 1)."""
    Ho, Wo = check_int_sequence(out_hw, "out_hw", length=2, minimum=1)
    return (Ho + 1) // 2, (Wo + 1) // 2


def winograd_tile_count(batch: int, out_hw: tuple[int, int]) -> int:
    """The 2×2 output tiles of a whole batch, ``B·⌈H'/2⌉·⌈W'/2⌉`` (0 for an empty batch):
    the number of columns of Winograd's 16 products."""
    th, tw = winograd_tiles(out_hw)
    return check_int(batch, "batch", minimum=0) * th * tw


#: Numbers of padding between the 16 matrices of a transformed stack (one 64-byte cache line
#: of float32): see :func:`_tile_stack`.
STACK_PADDING = 16

#: The most 2×2 tiles in one chunk of images (module docstring, "Chunks"): a chunk's
#: stacks of 16 matrices then take 16·(C + S)·4 bytes per tile in float32, 8 MiB at 64
#: channels in and out. ``benchmarks/bench_layers.py --only chunks`` times the choices.
CHUNK_TILES = 1024

#: The fewest chunks a batch of as many images is cut into (:func:`_chunks`).
MIN_CHUNKS = 8


def _tile_stack(workspace: dict | None, name: str, rows: int, B: int, th: int, tw: int,
                dtype: np.dtype) -> np.ndarray:
    """An uninitialised ``(4, 4, rows, B, th, tw)`` array whose 16 ``(u, v)`` matrices are
    ``STACK_PADDING`` numbers apart in memory rather than adjacent.

    The transform kernels write all 16 matrices at once, one number each per
    tile. Adjacent, the matrices start a power-of-two multiple of the cache
    line apart (64·128·16·16 floats = 8 MiB at the benchmark shape), so the 16
    write streams fall into the same cache set and evict one another; the
    kernels ran 3.5× slower so. Each ``(rows, B·th·tw)`` matrix stays contiguous,
    as the matrix products need, and ``reshape(16, rows, B·th·tw)`` is a view.

    The kernels that read or write a stack loop over its planes channel-major
    (``c`` outer, ``b`` inner), the order of the stack's columns: consecutive
    planes then touch adjacent stretches of each of the 16 matrices, which the
    processor prefetches. Image-major (``b`` outer), consecutive planes are
    ``B·th·tw`` numbers apart in every matrix, a new memory page per plane and
    stream, and a small image's plane has only a few tiles to amortise that
    (``benchmarks/bench_layers.py``; the README's Performance section).

    With a workspace the array lies over one buffer per name that grows to the
    largest request (:func:`ttnet.ops.workspace.scratch_prefix`), so a chunk loop
    whose last chunk is shorter reuses it.
    """
    n = rows * B * th * tw
    size = (16 * (n + STACK_PADDING),)
    flat = (np.empty(size, dtype) if workspace is None
            else scratch_prefix(workspace, name, size, dtype))
    return flat.reshape(16, n + STACK_PADDING)[:, :n].reshape(4, 4, rows, B, th, tw)


def _chunks(B: int, tiles_per_image: int) -> list[tuple[int, int]]:
    """The batch cut into chunks of images ``[b0, b1)``, in order: at most
    :data:`CHUNK_TILES` tiles each (at least one image), and at least
    :data:`MIN_CHUNKS` of them from as many images on (:func:`ttnet.blas.batch_chunks`)."""
    return batch_chunks(B, tiles_per_image, CHUNK_TILES, MIN_CHUNKS)


# ---------------------------------------------------------------- the input transform  V = Bᵀ d B
def _input_numpy(x, ph, pw, v) -> None:
    """NumPy twin: the tiles as a strided view, Bᵀ applied along rows, then along columns.

    ``v`` has shape (4, 4, C, B, th, tw).
    """
    B, C, H, W = x.shape
    th, tw = v.shape[4:]
    padded = np.zeros((B, C, 2 * th + 2, 2 * tw + 2), x.dtype)       # X̃, 2·th + 2 >= H + 2·ph
    padded[:, :, ph:ph + H, pw:pw + W] = x
    # d[i, j, c, b, p, q] = X̃[b, c, 2p + i, 2q + j]
    d = np.lib.stride_tricks.sliding_window_view(padded, (4, 4), axis=(2, 3))[:, :, ::2, ::2]
    d = d.transpose(4, 5, 1, 0, 2, 3)
    r = np.stack([d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]])        # (Bᵀ d)[u, j]
    v[:, 0], v[:, 1], v[:, 2], v[:, 3] = (r[:, 0] - r[:, 2], r[:, 1] + r[:, 2],
                                          r[:, 2] - r[:, 1], r[:, 1] - r[:, 3])


@numba_kernel(parallel=False)
def _bt(d0, d1, d2, d3):  # pragma: no cover - compiled
    """Bᵀ times the 4-vector ``(d0, d1, d2, d3)``: the input transform along one axis."""
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


@numba_kernel(parallel=False)
def _input_kernel(x, ph, pw, v):  # pragma: no cover - compiled
    """numba twin of :func:`_input_numpy`; serial (one call per thread and chunk of images,
    :func:`winograd_conv3x3_forward`), over the (c, b) planes channel-major (see
    :func:`_tile_stack`).

    The tile's sixteen numbers are scalars in the loop over tiles, so that they
    stay in registers (the same additions as the twin, in the same order: down
    the columns first, then along the rows).
    """
    B, C, H, W = x.shape
    th, tw = v.shape[4], v.shape[5]
    plane = np.zeros((2 * th + 2, 2 * tw + 2), x.dtype)   # X̃[b, c]: the border stays zero
    for cb in range(C * B):
        c, b = cb // B, cb % B
        plane[ph:ph + H, pw:pw + W] = x[b, c]
        for p in range(th):
            d0, d1, d2, d3 = plane[2 * p], plane[2 * p + 1], plane[2 * p + 2], plane[2 * p + 3]
            out = v[:, :, c, b, p]                                     # (4, 4, tw)
            for q in range(tw):
                k = 2 * q                              # the tile's columns are k, …, k + 3
                r00, r10, r20, r30 = _bt(d0[k], d1[k], d2[k], d3[k])   # (Bᵀ d)[:, j]
                r01, r11, r21, r31 = _bt(d0[k + 1], d1[k + 1], d2[k + 1], d3[k + 1])
                r02, r12, r22, r32 = _bt(d0[k + 2], d1[k + 2], d2[k + 2], d3[k + 2])
                r03, r13, r23, r33 = _bt(d0[k + 3], d1[k + 3], d2[k + 3], d3[k + 3])
                out[0, 0, q], out[0, 1, q], out[0, 2, q], out[0, 3, q] = _bt(r00, r01, r02, r03)
                out[1, 0, q], out[1, 1, q], out[1, 2, q], out[1, 3, q] = _bt(r10, r11, r12, r13)
                out[2, 0, q], out[2, 1, q], out[2, 2, q], out[2, 3, q] = _bt(r20, r21, r22, r23)
                out[3, 0, q], out[3, 1, q], out[3, 2, q], out[3, 3, q] = _bt(r30, r31, r32, r33)


# ---------------------------------------------------------------- its adjoint  dd = B dV Bᵀ
def _input_adjoint_numpy(dv, ph, pw, dx) -> None:
    """NumPy twin: B applied along rows, then along columns, and the overlapping tiles summed.

    A 4×4 tile is four 2×2 blocks; tile (p, q) covers blocks p, p+1 by q, q+1.
    The blocks are added in the order in which the kernel's tile loop reaches
    them, so that both sum each pixel's contributions in the same order.
    """
    B, C, H, W = dx.shape
    th, tw = dv.shape[4:]
    s = np.stack([dv[0], dv[1] - dv[2] + dv[3], dv[1] + dv[2] - dv[0], -dv[3]])   # (B dV)[i, v]
    t = np.stack([s[:, 0], s[:, 1] - s[:, 2] + s[:, 3], s[:, 1] + s[:, 2] - s[:, 0], -s[:, 3]],
                 axis=1)                                                       # (B dV Bᵀ)[i, j]
    t = t.transpose(3, 2, 4, 0, 5, 1)                                          # b c p i q j
    blocks = np.zeros((B, C, th + 1, 2, tw + 1, 2), dx.dtype)
    for a in (1, 0):
        for a2 in (1, 0):
            blocks[:, :, a:a + th, :, a2:a2 + tw, :] += t[:, :, :, 2 * a:2 * a + 2, :,
                                                         2 * a2:2 * a2 + 2]
    dx[...] = blocks.reshape(B, C, 2 * th + 2, 2 * tw + 2)[:, :, ph:ph + H, pw:pw + W]


@numba_kernel(parallel=False)
def _b(e0, e1, e2, e3):  # pragma: no cover - compiled
    """B times the 4-vector ``(e0, e1, e2, e3)``: the input transform's adjoint along one axis."""
    return e0, e1 - e2 + e3, e1 + e2 - e0, -e3


@numba_kernel(parallel=False)
def _add_b(row, k, e0, e1, e2, e3):  # pragma: no cover - compiled
    """``row[k:k + 4] += B (e0, e1, e2, e3)``."""
    t0, t1, t2, t3 = _b(e0, e1, e2, e3)
    row[k] += t0
    row[k + 1] += t1
    row[k + 2] += t2
    row[k + 3] += t3


@numba_kernel(parallel=False)
def _input_adjoint_kernel(dv, ph, pw, dx):  # pragma: no cover - compiled
    """numba twin of :func:`_input_adjoint_numpy`; serial, over the (c, b) planes
    channel-major (see :func:`_input_kernel`). Like there, the tile's numbers are
    scalars, so that they stay in registers."""
    B, C, H, W = dx.shape
    th, tw = dv.shape[4], dv.shape[5]
    plane = np.empty((2 * th + 2, 2 * tw + 2), dx.dtype)          # dX̃[b, c]
    for cb in range(C * B):
        c, b = cb // B, cb % B
        plane[:] = 0
        for p in range(th):
            d = dv[:, :, c, b, p]                                      # (4, 4, tw)
            for q in range(tw):
                s00, s10, s20, s30 = _b(d[0, 0, q], d[1, 0, q], d[2, 0, q], d[3, 0, q])
                s01, s11, s21, s31 = _b(d[0, 1, q], d[1, 1, q], d[2, 1, q], d[3, 1, q])
                s02, s12, s22, s32 = _b(d[0, 2, q], d[1, 2, q], d[2, 2, q], d[3, 2, q])
                s03, s13, s23, s33 = _b(d[0, 3, q], d[1, 3, q], d[2, 3, q], d[3, 3, q])
                k = 2 * q                              # the tile's columns are k, …, k + 3
                _add_b(plane[2 * p], k, s00, s01, s02, s03)              # (B dV Bᵀ)[i, :]
                _add_b(plane[2 * p + 1], k, s10, s11, s12, s13)
                _add_b(plane[2 * p + 2], k, s20, s21, s22, s23)
                _add_b(plane[2 * p + 3], k, s30, s31, s32, s33)
        dx[b, c] = plane[ph:ph + H, pw:pw + W]


# ---------------------------------------------------------------- the output transform  y = Aᵀ M A
def _output_numpy(m, y) -> None:
    """NumPy twin: Aᵀ along rows, then along columns, tiles written to their 2×2 blocks.

    ``m`` has shape (4, 4, S, B, th, tw), ``y`` (B, S, H', W').
    """
    Ho, Wo = y.shape[2:]
    S, B, th, tw = m.shape[2:]
    t = np.stack([m[0] + m[1] + m[2], m[1] - m[2] - m[3]])                  # (Aᵀ M)[i, v]
    z = np.stack([t[:, 0] + t[:, 1] + t[:, 2], t[:, 1] - t[:, 2] - t[:, 3]], axis=1)
    full = z.transpose(3, 2, 4, 0, 5, 1).reshape(B, S, 2 * th, 2 * tw)     # b s (p i) (q j)
    y[...] = full[:, :, :Ho, :Wo]


@numba_kernel(parallel=False)
def _at(m0, m1, m2, m3):  # pragma: no cover - compiled
    """Aᵀ times the 4-vector ``(m0, m1, m2, m3)``: the output transform along one axis."""
    return m0 + m1 + m2, m1 - m2 - m3


@numba_kernel(parallel=False)
def _output_kernel(m, y):  # pragma: no cover - compiled
    """numba twin of :func:`_output_numpy`; serial, over the (s, b) planes channel-major
    (see :func:`_input_kernel`)."""
    B, S, Ho, Wo = y.shape
    th, tw = m.shape[4], m.shape[5]
    plane = np.empty((2 * th, 2 * tw), y.dtype)
    for sb in range(S * B):
        s, b = sb // B, sb % B
        for p in range(th):
            d = m[:, :, s, b, p]                                       # (4, 4, tw)
            row0, row1 = plane[2 * p], plane[2 * p + 1]
            for q in range(tw):
                t00, t10 = _at(d[0, 0, q], d[1, 0, q], d[2, 0, q], d[3, 0, q])   # (Aᵀ M)[:, j]
                t01, t11 = _at(d[0, 1, q], d[1, 1, q], d[2, 1, q], d[3, 1, q])
                t02, t12 = _at(d[0, 2, q], d[1, 2, q], d[2, 2, q], d[3, 2, q])
                t03, t13 = _at(d[0, 3, q], d[1, 3, q], d[2, 3, q], d[3, 3, q])
                row0[2 * q], row0[2 * q + 1] = _at(t00, t01, t02, t03)
                row1[2 * q], row1[2 * q + 1] = _at(t10, t11, t12, t13)
        y[b, s] = plane[:Ho, :Wo]


# ---------------------------------------------------------------- its adjoint  dM = A dY Aᵀ
def _output_adjoint_numpy(dy, dm) -> None:
    """NumPy twin: the 2×2 output gradients of each tile (0 where cropped), A along both axes."""
    B, S, Ho, Wo = dy.shape
    th, tw = dm.shape[4:]
    full = np.zeros((B, S, 2 * th, 2 * tw), dy.dtype)
    full[:, :, :Ho, :Wo] = dy
    e = full.reshape(B, S, th, 2, tw, 2).transpose(3, 5, 1, 0, 2, 4)        # i j s b p q
    s = np.stack([e[0], e[0] + e[1], e[0] - e[1], -e[1]])                    # (A dY)[u, j]
    dm[:, 0], dm[:, 1], dm[:, 2], dm[:, 3] = (s[:, 0], s[:, 0] + s[:, 1], s[:, 0] - s[:, 1],
                                              -s[:, 1])


@numba_kernel(parallel=False)
def _a(e0, e1):  # pragma: no cover - compiled
    """A times the 2-vector ``(e0, e1)``: the output transform's adjoint along one axis."""
    return e0, e0 + e1, e0 - e1, -e1


@numba_kernel(parallel=False)
def _output_adjoint_kernel(dy, dm):  # pragma: no cover - compiled
    """numba twin of :func:`_output_adjoint_numpy`; serial, over the (s, b) planes
    channel-major (see :func:`_input_kernel`)."""
    B, S, Ho, Wo = dy.shape
    th, tw = dm.shape[4], dm.shape[5]
    plane = np.zeros((2 * th, 2 * tw), dy.dtype)        # dY[b, s]: the cropped border stays 0
    for sb in range(S * B):
        s, b = sb // B, sb % B
        plane[:Ho, :Wo] = dy[b, s]
        for p in range(th):
            e0, e1 = plane[2 * p], plane[2 * p + 1]
            out = dm[:, :, s, b, p]                                    # (4, 4, tw)
            for q in range(tw):
                k = 2 * q                              # the tile's columns are k, k + 1
                r00, r10, r20, r30 = _a(e0[k], e1[k])                  # (A dY)[:, j]
                r01, r11, r21, r31 = _a(e0[k + 1], e1[k + 1])
                out[0, 0, q], out[0, 1, q], out[0, 2, q], out[0, 3, q] = _a(r00, r01)
                out[1, 0, q], out[1, 1, q], out[1, 2, q], out[1, 3, q] = _a(r10, r11)
                out[2, 0, q], out[2, 1, q], out[2, 2, q], out[2, 3, q] = _a(r20, r21)
                out[3, 0, q], out[3, 1, q], out[3, 2, q], out[3, 3, q] = _a(r30, r31)


# ---------------------------------------------------------------- the filter transform  U = G g Gᵀ
def _filter_transform(weight: np.ndarray) -> np.ndarray:
    """``U[u, v] = (G g Gᵀ)[u, v]`` for every channel pair: (S, C, 3, 3) → (16, S, C)."""
    G = FILTER_TRANSFORM.astype(weight.dtype)
    S, C = weight.shape[:2]
    return np.einsum("ui,scij,vj->uvsc", G, weight, G, optimize=True).reshape(16, S, C)


def _filter_transform_backward(du: np.ndarray) -> np.ndarray:
    """``dg = Gᵀ dU G``: (16, S, C) → (S, C, 3, 3)."""
    G = FILTER_TRANSFORM.astype(du.dtype)
    S, C = du.shape[1:]
    return np.einsum("ui,uvsc,vj->scij", G, du.reshape(4, 4, S, C), G, optimize=True)


# ---------------------------------------------------------------- entry points
def _check_inputs(x: Any, weight: Any, padding: Any, workspace: Any):
    """``x (B, C, H, W)`` and ``weight (S, C, 3, 3)`` of one float dtype, padding, out size.

    The entry points check their arguments themselves (rather than trusting
    :func:`ttnet.nn.functional.conv2d_forward`, which checks them too) because
    they are public: a caller may use them directly.
    """
    x = as_float_array(x, "x", ndim=4, finite=False)
    weight = as_float_array(weight, "weight", ndim=4, finite=False)
    if x.shape[1] < 1 or weight.shape[0] < 1:
        raise ValueError(f"x and weight need at least one channel each (an empty batch is "
                         f"allowed), got x of shape {x.shape} and weight of shape {weight.shape}")
    check_workspace(workspace)
    if weight.shape[1:] != (x.shape[1], 3, 3):
        raise ValueError(f"weight must have shape (S, {x.shape[1]}, 3, 3) for x of shape "
                         f"{x.shape} (Winograd F(2x2, 3x3) is for 3x3 kernels), got "
                         f"{describe(weight)}")
    if weight.dtype != x.dtype:
        raise TypeError(f"weight must have x's dtype {x.dtype}, got {describe(weight)}")
    _, _, padding = window_params(3, 1, padding)
    out_hw = conv_output_shape(x.shape[2:], 3, 1, padding)
    return x, weight, padding, out_hw


def winograd_stacks(x: Any, weight: Any, padding: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """The two stacks of equation (1) for a whole batch: ``v = Bᵀ d B`` and ``u = G g Gᵀ``.

    For looking at the algorithm (notebook 02) and for tests: ``u @ v`` is the
    stack of the 16 products. The convolution itself never holds the whole of
    ``v`` (module docstring, "Chunks").

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W), float
    weight : ndarray, shape (S, C, 3, 3), x's dtype
    padding : int or pair of int, >= 0

    Returns
    -------
    v : ndarray, shape (16, C, B·th·tw)
        The transformed input tiles, columns ordered (b, p, q) over the ``(th, tw) =
        (⌈H'/2⌉, ⌈W'/2⌉)`` tiles of each image.
    u : ndarray, shape (16, S, C)
        The transformed filters.
    """
    x, weight, (ph, pw), out_hw = _check_inputs(x, weight, padding, None)
    B, C = x.shape[:2]
    th, tw = winograd_tiles(out_hw)
    v = _tile_stack(None, "v", C, B, th, tw, x.dtype)
    choose(_input_kernel, _input_numpy)(np.ascontiguousarray(x), ph, pw, v)
    return v.reshape(16, C, B * th * tw), _filter_transform(weight)


def winograd_conv3x3_forward(x: Any, weight: Any, padding: Any = 0, *,
                             workspace: dict | None = None) -> np.ndarray:
    """3×3, stride-1 cross-correlation of an NCHW batch by F(2×2, 3×3), equation (1).

    Each thread takes chunks of images and runs the input transform, the 16
    products and the output transform on one chunk before the next (module
    docstring, "Chunks").

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W), float
    weight : ndarray, shape (S, C, 3, 3), x's dtype
    padding : int or pair of int, >= 0
    workspace : dict, optional
        Where the chunks' scratch arrays are kept between calls (see
        :func:`ttnet.ops.workspace.scratch`).

    Returns
    -------
    y : ndarray, shape (B, S, H', W'), ``H' = H + 2·ph − 2``
    """
    x, weight, (ph, pw), out_hw = _check_inputs(x, weight, padding, workspace)
    x = np.ascontiguousarray(x)
    workspace = {} if workspace is None else workspace   # reused from chunk to chunk
    B, C = x.shape[:2]
    S = weight.shape[0]
    th, tw = winograd_tiles(out_hw)
    chunks = _chunks(B, th * tw)
    u = _filter_transform(weight)                                        # (16, S, C)
    y = np.empty((B, S) + out_hw, dtype=x.dtype)
    input_transform = choose(_input_kernel, _input_numpy)
    output_transform = choose(_output_kernel, _output_numpy)

    def forward_chunk(chunk: tuple[int, int], t: int) -> None:   # images b0..b1-1, thread t
        b0, b1 = chunk
        v = _tile_stack(workspace, f"winograd_v{t}", C, b1 - b0, th, tw, x.dtype)
        input_transform(x[b0:b1], ph, pw, v)                             # V = Bᵀ d B
        m = _tile_stack(workspace, f"winograd_m{t}", S, b1 - b0, th, tw, x.dtype)
        np.matmul(u, v.reshape(16, C, -1), out=m.reshape(16, S, -1))       # M = U V
        output_transform(m, y[b0:b1])                                    # y = Aᵀ M A

    map_on_threads(forward_chunk, chunks)
    return y


def winograd_conv3x3_backward(dy: Any, x: Any, weight: Any, padding: Any = 0, *,
                              workspace: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of :func:`winograd_conv3x3_forward` (module docstring): ``(dx, dweight)``.

    Chunk by chunk, as the forward pass: the chunk's ``V`` is computed again
    from ``x`` (cheaper than keeping the whole stack, 4× the size of ``x``, from
    the forward pass), then ``dM = A dY Aᵀ``, ``dU += dM Vᵀ``, ``dV = Uᵀ dM`` and
    ``dx = B dV Bᵀ``. The chunks' ``dU`` are added in the order of the chunks, so
    ``dweight`` depends neither on timing nor on the thread count (in its last
    bits it does on :data:`CHUNK_TILES` and :data:`MIN_CHUNKS`).

    Parameters
    ----------
    dy : ndarray, shape (B, S, H', W')
    x, weight, padding : the forward pass's arguments
    workspace : dict, optional
        Scratch arrays reused between calls (may be the forward pass's).

    Returns
    -------
    dx : ndarray, shape (B, C, H, W)
    dweight : ndarray, shape (S, C, 3, 3)
    """
    x, weight, (ph, pw), out_hw = _check_inputs(x, weight, padding, workspace)
    dy = as_float_array(dy, "dy", ndim=4, finite=False)
    B, C, H, W = x.shape
    S = weight.shape[0]
    if dy.shape != (B, S) + out_hw:
        raise ValueError(f"dy must have shape {(B, S) + out_hw} for x of shape {x.shape}, "
                         f"weight of shape {weight.shape} and padding {(ph, pw)}, got "
                         f"{describe(dy)}")
    if dy.dtype != x.dtype:
        raise TypeError(f"dy must have x's dtype {x.dtype}, got {describe(dy)}")
    x, dy = np.ascontiguousarray(x), np.ascontiguousarray(dy)
    workspace = {} if workspace is None else workspace
    th, tw = winograd_tiles(out_hw)
    chunks = _chunks(B, th * tw)
    u = _filter_transform(weight)
    dx = np.empty((B, C, H, W), dtype=x.dtype)
    input_transform = choose(_input_kernel, _input_numpy)
    output_adjoint = choose(_output_adjoint_kernel, _output_adjoint_numpy)
    input_adjoint = choose(_input_adjoint_kernel, _input_adjoint_numpy)

    du = OrderedSum((16, S, C), x.dtype)                  # the chunks' dU, added in their order

    def backward_chunk(numbered: tuple[int, tuple[int, int]], t: int) -> None:
        number, (b0, b1) = numbered
        v = _tile_stack(workspace, f"winograd_v{t}", C, b1 - b0, th, tw, x.dtype)
        input_transform(x[b0:b1], ph, pw, v)                             # V = Bᵀ d B
        dm = _tile_stack(workspace, f"winograd_m{t}", S, b1 - b0, th, tw, x.dtype)
        output_adjoint(dy[b0:b1], dm)                                    # dM = A dY Aᵀ
        v, dm = v.reshape(16, C, -1), dm.reshape(16, S, -1)
        du.add(number, np.matmul(dm, v.transpose(0, 2, 1)))              # dU = dM Vᵀ
        dv = np.matmul(u.transpose(0, 2, 1), dm, out=v)                  # dV = Uᵀ dM, over V
        input_adjoint(dv.reshape(4, 4, C, b1 - b0, th, tw), ph, pw, dx[b0:b1])

    map_on_threads(backward_chunk, enumerate(chunks))
    return dx, _filter_transform_backward(du.result(len(chunks)))
