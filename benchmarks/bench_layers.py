"""Timings of ttnet's dense layers: Conv2d forward + backward at the paper's CIFAR shapes.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_layers.py            # full run, batch 128
    PYTHONPATH=. python benchmarks/bench_layers.py --quick    # batch 16, one repeat
    PYTHONPATH=. python benchmarks/bench_layers.py --only tiles   # one part of the run

Prints, in one run so the numbers are comparable:

1. the machine's float32 matrix-product speed (NumPy ``@``, i.e. its BLAS);
2. Conv2d (3×3, padding 1, float32, NCHW) forward, backward and both, in ms
   and GFLOP/s, counting 2·MACs per product and 3 products (forward, weight
   gradient, input gradient): ``GFLOP = 3 · 2 · B·S·C·9·H'·W' / 1e9``; and the
   ratio to the matmul speed;
   for both algorithms (im2col and Winograd's F(2×2, 3×3)), their ratio, a
   sweep of input channels showing where Winograd starts to pay, and a sweep of
   channels, image sizes and batches by the number of 2×2 output tiles (the
   other threshold of ``auto``); and Winograd's forward + backward at several
   chunk sizes (``CHUNK_TILES``, the most tiles a thread transforms and
   multiplies before it moves on to the next chunk of images);
3. the numba kernels (im2col, col2im, Winograd's transforms, the TT-conv's spatial
   step, max-pool and batch-norm passes) against their NumPy twins (``TTNET_NUMBA=0``), and the
   speed-up (the Winograd rows time the whole convolution, products included);
4. the other layers of the paper's network (BatchNorm2d, ReLU, MaxPool2d) for scale.

Timings are the best of ``--repeats`` runs after one warm-up run. Other
processes on the machine slow BLAS down a lot (its threads wait for each
other), so run it on an otherwise idle machine.

Thread pools: NumPy's OpenBLAS and numba's OpenMP each keep their worker
threads spinning for a while after a call (OpenBLAS for about 0.1 s). A numba
kernel launched right after a matrix product therefore shares the cores with
spinning BLAS threads and runs up to 2× slower. Setting, before Python starts,

    OPENBLAS_THREAD_TIMEOUT=4 OMP_WAIT_POLICY=PASSIVE

makes idle threads sleep almost at once. ``import ttnet`` sets the first one
(if NumPy is not loaded yet and the variable is unset; see ``ttnet/__init__.py``),
so this script imports ttnet before NumPy. The header shows both variables;
run the benchmark with ``OPENBLAS_THREAD_TIMEOUT=0`` (OpenBLAS's default) to see
the effect on your machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Callable

import ttnet  # noqa: F401  (first, so that its OPENBLAS_THREAD_TIMEOUT default applies)
import numpy as np

from ttnet.nn import BatchNorm2d, Conv2d, MaxPool2d, ReLU
from ttnet.nn import functional as F
from ttnet.ops import col2im, im2col, winograd
from ttnet.ops.batchnorm import batchnorm_gradients, batchnorm_normalize
from ttnet.ops.im2col import _im2col_kernel, _im2col_numpy
from ttnet.ops.pool import max_pool2d, max_pool2d_backward
from ttnet.ops.spatial_step import spatial_step_backward, spatial_step_forward
from ttnet.ops.winograd import (winograd_conv3x3_backward, winograd_conv3x3_forward,
                                winograd_tile_count)

#: (in_channels, out_channels, height = width) of the paper's 3×3 convolutions (CIFAR-10).
CONV_SHAPES = [(3, 64, 32), (64, 64, 32), (64, 128, 16), (128, 128, 16), (128, 128, 8)]


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Best wall-clock time of ``fn()`` in seconds over ``repeats`` runs, after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(repeats: int, n: int = 2048) -> float:
    """float32 GFLOP/s of an n×n by n×n product."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    return 2 * n ** 3 / best_time(lambda: a @ b, repeats) / 1e9


def with_numba(enabled: bool, fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` run with the TTNET_NUMBA switch set to ``enabled``."""
    def run() -> object:
        old = os.environ.get("TTNET_NUMBA")
        os.environ["TTNET_NUMBA"] = "1" if enabled else "0"
        try:
            return fn()
        finally:
            if old is None:
                del os.environ["TTNET_NUMBA"]
            else:
                os.environ["TTNET_NUMBA"] = old
    return run


def time_conv(c: int, s: int, hw: int, batch: int, repeats: int, algorithm: str,
              rng: np.random.Generator) -> tuple[float, float, float]:
    """Best forward, backward and forward + backward seconds of one Conv2d 3×3, padding 1."""
    conv = Conv2d(c, s, 3, padding=1, rng=rng, algorithm=algorithm)
    x = rng.standard_normal((batch, c, hw, hw), dtype=np.float32)
    dout = rng.standard_normal((batch, s, hw, hw), dtype=np.float32)
    t_fwd = best_time(lambda: conv.forward(x), repeats)
    t_bwd = best_time(lambda: conv.backward(dout), repeats)
    t_both = best_time(lambda: conv.backward(dout) if conv.forward(x) is not None else None,
                       repeats)
    return t_fwd, t_bwd, t_both


def bench_conv(batch: int, repeats: int, matmul: float) -> None:
    print(f"\n## Conv2d 3×3, padding 1, float32, batch {batch} (forward + backward)\n")
    print("GFLOP/s counts the direct convolution's work for both algorithms (2·MACs·3), so "
          "Winograd's can pass the matmul speed.\n")
    print("| layer | algorithm | forward ms | backward ms | fwd+bwd ms | GFLOP/s | vs matmul "
          "| im2col / winograd |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for c, s, hw in CONV_SHAPES:
        gflop = 3 * 2 * batch * s * c * 9 * hw * hw / 1e9
        both = {}
        auto = F.conv_algorithm("auto", (3, 3), (1, 1), c,
                                tiles=winograd_tile_count(batch, (hw, hw)))
        for algorithm in ("im2col", "winograd"):
            t_fwd, t_bwd, both[algorithm] = time_conv(c, s, hw, batch, repeats, algorithm, rng)
            ratio = f"{both['im2col'] / both['winograd']:.2f}×" if algorithm == "winograd" else ""
            name = algorithm + (" (auto)" if algorithm == auto else "")
            print(f"| {c}→{s} @ {hw}×{hw} | {name} | {t_fwd * 1e3:.1f} | {t_bwd * 1e3:.1f} | "
                  f"{both[algorithm] * 1e3:.1f} | {gflop / both[algorithm]:.0f} | "
                  f"{gflop / both[algorithm] / matmul:.2f} | {ratio} |")
    print(f"\n## Where Winograd starts to pay: C→64 @ 32×32, batch {batch} (fwd+bwd ms); "
          f"auto uses it from C = {F.WINOGRAD_MIN_CHANNELS}\n")
    print("| C | im2col ms | winograd ms | im2col / winograd |")
    print("|---:|---:|---:|---:|")
    for c in (4, 8, 16, 32):
        t_im2col = time_conv(c, 64, 32, batch, repeats, "im2col", rng)[2]
        t_winograd = time_conv(c, 64, 32, batch, repeats, "winograd", rng)[2]
        print(f"| {c} | {t_im2col * 1e3:.1f} | {t_winograd * 1e3:.1f} | "
              f"{t_im2col / t_winograd:.2f}× |")


#: (channels, output size) of the tile sweep, each at every batch of TILE_BATCHES
TILE_SHAPES = [(32, 32), (64, 32), (64, 16), (128, 16), (128, 8), (256, 8), (256, 4)]
TILE_BATCHES = (2, 8, 32, 128)


def bench_tiles(repeats: int, rng: np.random.Generator, quick: bool) -> None:
    """Where Winograd pays by the number of 2×2 output tiles (C → C, 3×3, padding 1)."""
    print(f"\n## Where Winograd pays: C→C @ H×H by the number of 2×2 output tiles "
          f"B·⌈H/2⌉², fwd+bwd ms; auto uses it from {F.WINOGRAD_MIN_TILES} tiles\n")
    print("| C | H | B | tiles | im2col ms | winograd ms | im2col / winograd | auto |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for c, hw in TILE_SHAPES[:2] if quick else TILE_SHAPES:
        for batch in TILE_BATCHES[:2] if quick else TILE_BATCHES:
            tiles = winograd_tile_count(batch, (hw, hw))
            t_im2col = time_conv(c, c, hw, batch, repeats, "im2col", rng)[2]
            t_winograd = time_conv(c, c, hw, batch, repeats, "winograd", rng)[2]
            auto = F.conv_algorithm("auto", (3, 3), (1, 1), c, tiles=tiles)
            print(f"| {c} | {hw} | {batch} | {tiles} | {t_im2col * 1e3:.2f} | "
                  f"{t_winograd * 1e3:.2f} | {t_im2col / t_winograd:.2f}× | {auto} |")


def bench_kernels(batch: int, repeats: int) -> None:
    print(f"\n## numba kernels vs their NumPy twins (TTNET_NUMBA=0), float32, batch {batch}\n")
    print("| kernel | input | numba ms | NumPy ms | speed-up |")
    print("|---|---|---:|---:|---:|")
    rng = np.random.default_rng(0)
    cases = []
    for c, _, hw in CONV_SHAPES[1:]:
        x = rng.standard_normal((batch, c, hw, hw), dtype=np.float32)
        cols, dx = im2col(x, 3, 1, 1), np.empty_like(x)      # reused outputs, as in Conv2d
        # the two im2col implementations directly (im2col() itself only takes the kernel
        # for output rows of at least IM2COL_KERNEL_MIN_WIDTH pixels, from this table)
        cases.append(("im2col 3×3 pad 1", x.shape, None,
                      (lambda x=x, cols=cols: _im2col_kernel(x, 3, 3, 1, 1, 1, 1, cols),
                       lambda x=x, cols=cols: _im2col_numpy(x, 3, 3, 1, 1, 1, 1, cols))))
        cases.append(("col2im 3×3 pad 1", x.shape,
                      lambda x=x, cols=cols, dx=dx: col2im(cols, x.shape, 3, 1, 1, out=dx), None))
    for c, hw in [(64, 32), (128, 16)]:
        x = rng.standard_normal((batch, c, hw, hw), dtype=np.float32)
        w = rng.standard_normal((c, c, 3, 3), dtype=np.float32)
        y = winograd_conv3x3_forward(x, w, 1)
        cases.append(("Winograd conv forward (whole)", x.shape,
                      lambda x=x, w=w: winograd_conv3x3_forward(x, w, 1), None))
        cases.append(("Winograd conv backward (whole)", x.shape,
                      lambda x=x, w=w, y=y: winograd_conv3x3_backward(y, x, w, 1), None))
    for c, hw in [(64, 32), (128, 16)]:                  # the TT-conv's spatial step, r_0 = 4
        x = rng.standard_normal((batch, c, hw, hw), dtype=np.float32)
        g0 = rng.standard_normal((3, 3, 4), dtype=np.float32)
        z0 = spatial_step_forward(x, g0, 1, 1)
        cases.append(("TT-conv spatial step 3×3, r₀ 4", x.shape,
                      lambda x=x, g0=g0: spatial_step_forward(x, g0, 1, 1), None))
        cases.append(("TT-conv spatial step backward", x.shape,
                      lambda x=x, g0=g0, z0=z0: spatial_step_backward(z0, x, g0, 1, 1), None))
    for c, hw in [(64, 32), (128, 16)]:
        x = rng.standard_normal((batch, c, hw, hw), dtype=np.float32)
        out, argmax = max_pool2d(x, 3, 2)
        cases.append(("max_pool2d 3×3 / 2", x.shape, lambda x=x: max_pool2d(x, 3, 2), None))
        cases.append(("max_pool2d_backward", x.shape, lambda x=x, out=out, argmax=argmax:
                      max_pool2d_backward(out, argmax, x.shape, 3, 2), None))
    for c, hw in [(64, 32), (128, 16)]:
        x = rng.standard_normal((batch, c, hw, hw), dtype=np.float32)
        ones, zeros = np.ones(c, np.float32), np.zeros(c, np.float32)
        _, x_hat, _, _, inv_std = batchnorm_normalize(x, ones, zeros, 1e-5, True)
        cases.append(("batchnorm forward (train)", x.shape,
                      lambda x=x, g=ones, b=zeros: batchnorm_normalize(x, g, b, 1e-5, True), None))
        cases.append(("batchnorm backward (train)", x.shape,
                      lambda x=x, xh=x_hat, g=ones, s=inv_std:
                      batchnorm_gradients(x, xh, g, s, True), None))
    for name, shape, fn, pair in cases:
        kernel, twin = (with_numba(True, fn), with_numba(False, fn)) if pair is None else pair
        fast = best_time(kernel, repeats)
        slow = best_time(twin, repeats)
        print(f"| {name} | {shape} | {fast * 1e3:.1f} | {slow * 1e3:.1f} | {slow / fast:.1f}× |")


def bench_other_layers(batch: int, repeats: int) -> None:
    print(f"\n## Other layers, float32, batch {batch} (forward + backward ms)\n")
    print("| layer | input | fwd+bwd ms |")
    print("|---|---|---:|")
    rng = np.random.default_rng(0)
    cases = [(BatchNorm2d(64), (64, 32, 32)), (ReLU(), (64, 32, 32)),
             (MaxPool2d(3, stride=2), (64, 32, 32)), (MaxPool2d(3, stride=2), (128, 16, 16))]
    for layer, shape in cases:
        x = rng.standard_normal((batch, *shape), dtype=np.float32)
        dout = rng.standard_normal(layer.forward(x).shape, dtype=np.float32)
        t = best_time(lambda: layer.backward(dout) if layer.forward(x) is not None else None,
                      repeats)
        print(f"| {layer!r} | {(batch, *shape)} | {t * 1e3:.1f} |")


#: chunk sizes (tiles) timed by ``--only chunks``
CHUNK_SIZES = (256, 512, 1024, 2048, 4096)


def bench_chunks(batch: int, repeats: int, quick: bool) -> None:
    """Winograd's fwd+bwd by the chunk size ``winograd.CHUNK_TILES`` (set for the timing)."""
    default = winograd.CHUNK_TILES
    sizes = CHUNK_SIZES[:2] if quick else CHUNK_SIZES
    print(f"\n## Winograd by chunk size (CHUNK_TILES, now {default}), batch {batch}, "
          "fwd+bwd ms\n")
    print("| layer | " + " | ".join(str(size) for size in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    try:
        for c, s, hw in CONV_SHAPES[1:]:                # the first layer runs im2col
            times = []
            for size in sizes:
                winograd.CHUNK_TILES = size
                times.append(time_conv(c, s, hw, batch, repeats, "winograd",
                                       np.random.default_rng(0))[2])
            print(f"| {c}→{s} @ {hw}×{hw} | " + " | ".join(f"{t * 1e3:.1f}" for t in times)
                  + " |")
    finally:
        winograd.CHUNK_TILES = default


#: the parts of the run, in order (``--only``)
SECTIONS = ["conv", "tiles", "chunks", "kernels", "other"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="batch 16, 1 repeat (a smoke test)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=SECTIONS, metavar="PART",
                        help=f"run only these parts ({', '.join(SECTIONS)}; default: all)")
    args = parser.parse_args(argv)
    batch, repeats = (16, 1) if args.quick else (args.batch, args.repeats)

    print(f"# ttnet layer benchmark — {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, NumPy {np.__version__}")
    print("\nenvironment: " + ", ".join(
        f"{name}={os.environ.get(name, '(unset)')}"
        for name in ("OPENBLAS_THREAD_TIMEOUT", "OMP_WAIT_POLICY", "TTNET_NUMBA")))
    if "conv" in args.only:                 # its GFLOP/s are compared with the matmul rate
        matmul = matmul_gflops(repeats)
        print(f"\nfloat32 matmul (2048×2048 @ 2048×2048): {matmul:.0f} GFLOP/s")
        bench_conv(batch, repeats, matmul)
    if "tiles" in args.only:
        bench_tiles(repeats, np.random.default_rng(0), args.quick)
    if "chunks" in args.only:
        bench_chunks(batch, repeats, args.quick)
    if "kernels" in args.only:
        bench_kernels(batch, repeats)
    if "other" in args.only:
        bench_other_layers(batch, repeats)


if __name__ == "__main__":
    main()
