"""Benchmark: TT layers against their dense twins, forward + backward, float32, batch 128.

    python benchmarks/bench_tt_layers.py [--repeats N] [--quick]

Prints the median wall time of one forward + backward pass, the GFLOP/s that
the layer's cost model implies, and the ratio to the dense layer measured in
the same run:

* TTConv2d 64 → 64 at 32 × 32, 3 × 3, padding 1, modes 4·4·4, ranks 16, with
  ``algorithm="full"``, ``"sequential"`` and ``"auto"``, against Conv2d;
* TTLinear 8192 → 1536, modes (8,8,8,16) → (4,6,8,8), ranks 40, sequential with
  the contraction steps computed by BLAS (:mod:`ttnet.ops.contract`, what the
  layer uses) and by the numba kernels (:mod:`ttnet.ops.contract_loops`), full, and auto, against Linear.

The machine is shared and noisy: compare the ratios, which come from one run.
``--quick`` uses batch 16 and one repeat (a smoke run).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import ttnet  # noqa: F401  (first, so that its OPENBLAS_THREAD_TIMEOUT default applies)
import numpy as np

from ttnet.nn import tt_functional
from ttnet.nn.layers import Conv2d, Linear
from ttnet.nn.tt_layers import TTConv2d, TTLinear
from ttnet.ops import contract_loops


@contextlib.contextmanager
def numba_steps():
    """Let the TT layers compute their core steps with the numba kernels instead of BLAS."""
    saved = tt_functional.tt_step_forward, tt_functional.tt_step_backward
    tt_functional.tt_step_forward = contract_loops.tt_step_forward_numba
    tt_functional.tt_step_backward = contract_loops.tt_step_backward_numba
    try:
        yield
    finally:
        tt_functional.tt_step_forward, tt_functional.tt_step_backward = saved


def time_layer(layer, x: np.ndarray, repeats: int) -> float:
    """Median ms of forward + backward (after one warm-up pass)."""
    g = None
    times = []
    for k in range(repeats + 1):
        t0 = time.perf_counter()
        y = layer.forward(x)
        if g is None:
            g = np.ones_like(y)
        layer.backward(g)
        if k:  # the first pass warms caches and compiles numba kernels
            times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times)


def row(label: str, ms: float, flops: float | None, dense_ms: float) -> None:
    gflops = f"{flops / ms / 1e6:9.1f}" if flops else f"{'':>9}"
    print(f"{label:<48} {ms:>10.1f} {gflops} {ms / dense_ms:>8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    batch, repeats = (16, 1) if args.quick else (128, args.repeats)
    rng = np.random.default_rng(0)
    print(f"batch {batch}, float32, median of {repeats} forward + backward passes")
    print(f"{'layer':<48} {'ms':>10} {'GFLOP/s':>9} {'vs dense':>9}")

    # ---- convolution
    x = rng.standard_normal((batch, 64, 32, 32)).astype(np.float32)
    dense = Conv2d(64, 64, 3, padding=1, bias=False, rng=rng)
    dense_flops = 3 * 2 * batch * 32 * 32 * 64 * 64 * 9
    dense_ms = time_layer(dense, x, repeats)
    row("Conv2d 64->64 @32x32", dense_ms, dense_flops, dense_ms)
    for algorithm in ("full", "sequential", "auto"):
        layer = TTConv2d((4, 4, 4), (4, 4, 4), 16, 3, padding=1, bias=False,
                         algorithm=algorithm, rng=rng)
        chosen = layer.choose_algorithm(x.shape)
        n = 1 if chosen == "sequential" else repeats
        ms = time_layer(layer, x, n)
        flops = layer.cost(x.shape)[chosen]["flops"]
        row(f"TTConv2d ranks 16, {algorithm}" + (f" (-> {chosen})" if algorithm == "auto" else ""),
            ms, flops, dense_ms)

    # ---- fully connected
    x = rng.standard_normal((batch, 8192)).astype(np.float32)
    dense = Linear(8192, 1536, bias=False, rng=rng)
    dense_ms = time_layer(dense, x, repeats)
    row("Linear 8192->1536", dense_ms, 3 * 2 * batch * 8192 * 1536, dense_ms)
    variants = [("sequential, BLAS steps", "sequential", False),
                ("sequential, numba kernel steps", "sequential", True),
                ("full", "full", False), ("auto", "auto", False)]
    for label, algorithm, use_numba in variants:
        layer = TTLinear((8, 8, 8, 16), (4, 6, 8, 8), 40, bias=False, rng=rng,
                         algorithm=algorithm)
        chosen = layer.choose_algorithm(x.shape)
        with numba_steps() if use_numba else contextlib.nullcontext():
            ms = time_layer(layer, x, repeats)
        flops = layer.cost(x.shape)[chosen]["flops"]
        row(f"TTLinear ranks 40, {label}" + (f" (-> {chosen})" if algorithm == "auto" else ""),
            ms, flops, dense_ms)

if __name__ == "__main__":
    main()
