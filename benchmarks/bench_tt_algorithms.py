"""Benchmark: does ``algorithm="auto"`` pick the fastest algorithm of the TT layers?

    PYTHONPATH=. python benchmarks/bench_tt_algorithms.py [--repeats N] [--quick] [--fit]

Times forward + backward of every algorithm of ``TTConv2d`` (``full``,
``sequential``, ``separable``) and ``TTLinear`` (``full``, ``sequential``) on a grid of
shapes and ranks (float32, median of ``--repeats`` after a warm-up pass) and prints,
per case, each algorithm's measured and predicted milliseconds (the time model of
:func:`ttnet.nn.tt_functional.estimated_seconds`), the algorithm ``auto`` picks and
the ratio of its time to the fastest one's. The goal is ``auto`` within 15 % of the
fastest on every case; the last line counts the cases that meet it.

``--fit`` also fits the model's three machine constants (``WIDE_FLOPS_PER_SECOND``,
``OTHER_FLOPS_PER_SECOND``, ``BYTES_PER_SECOND``) to the
measurements (least squares on the relative error, constants kept positive) and prints them;
``ttnet/nn/tt_functional.py`` holds the values fitted on the development machine.
``--quick``: two small cases, one repeat (a smoke run). Run it on an otherwise idle
machine: the time of a memory-bound pass doubles when another process shares the
memory bus.
"""

from __future__ import annotations

import argparse
import sys

import ttnet  # noqa: F401  (first, so that its OPENBLAS_THREAD_TIMEOUT default applies)
import numpy as np

from ttnet.nn import tt_functional as TF
from ttnet.nn.tt_layers import TTConv2d, TTLinear

from layer_timing import median_ms, ttnet_layer_step  # benchmarks/layer_timing.py

#: (label, input modes, output modes, input shape); each is run at every rank of CONV_RANKS
CONV_CASES = [
    ("TTConv2d 64->64 @32x32, modes 4.4.4", (4, 4, 4), (4, 4, 4), (32, 64, 32, 32)),
    ("TTConv2d 128->128 @16x16, modes 4.8.4", (4, 8, 4), (4, 8, 4), (32, 128, 16, 16)),
    ("TTConv2d 32->64 @32x32, modes 2.4.4 -> 4.4.4", (2, 4, 4), (4, 4, 4), (32, 32, 32, 32)),
    ("TTConv2d 256->256 @8x8, modes 4.8.8", (4, 8, 8), (4, 8, 8), (32, 256, 8, 8)),
]
CONV_RANKS = (1, 2, 4, 8, 16)
LINEAR_CASES = [
    ("TTLinear 8192->1536, modes 8.8.8.16 -> 4.6.8.8", (8, 8, 8, 16), (4, 6, 8, 8)),
    ("TTLinear 1024->1024, modes 4.8.8.4", (4, 8, 8, 4), (4, 8, 8, 4)),
]
LINEAR_RANKS = (2, 8, 16, 40)
LINEAR_BATCHES = (32, 128)
GOAL = 1.15


def run_case(label: str, make, x: np.ndarray, algorithms, repeats: int, rows: list) -> bool:
    """Time every algorithm of one layer; print a line per algorithm; True if auto met the goal."""
    layer = make("auto")
    costs = layer.cost(x.shape)
    chosen = layer.choose_algorithm(x.shape)
    measured = {a: median_ms(ttnet_layer_step(make(a), x), repeats) for a in algorithms}
    fastest = min(measured, key=measured.get)
    ratio = measured[chosen] / measured[fastest]
    for a in algorithms:
        c = costs[a]
        rows.append((c["wide_flops"], c["flops"] - c["wide_flops"], c["traffic"],
                     measured[a] / 1e3))
        mark = ("auto" if a == chosen else "") + (" fastest" if a == fastest else "")
        print(f"{label:<58} {a:<11} {measured[a]:9.1f} {1e3 * costs[a]['seconds']:9.1f}  {mark}")
    ok = ratio <= GOAL
    print(f"{'':<58} {'auto/best':<11} {ratio:9.2f}x {'ok' if ok else 'MISSED'}\n")
    return ok


def fit(rows: list) -> tuple[float, ...]:
    """The model's three constants minimising Σ (predicted / measured − 1)² (non-negative
    least squares on the inverse rates, by trying every subset of active constants)."""
    import itertools
    A = np.array([row[:-1] for row in rows], dtype=float) / np.array([[row[-1]] for row in rows])
    n = A.shape[1]
    best, best_err = None, np.inf
    for active in itertools.product((True, False), repeat=n):
        cols = [k for k in range(n) if active[k]]
        if not cols:
            continue
        coef = np.zeros(n)
        coef[cols] = np.linalg.lstsq(A[:, cols], np.ones(len(rows)), rcond=None)[0]
        err = np.sum((A @ coef - 1) ** 2)
        if np.all(coef >= 0) and err < best_err:
            best, best_err = coef, err
    return tuple(1 / c if c > 0 else float("inf") for c in best)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="two small cases, one repeat")
    parser.add_argument("--fit", action="store_true", help="fit the time model's constants")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    repeats = 1 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    print(f"model constants: WIDE_FLOPS_PER_SECOND = {TF.WIDE_FLOPS_PER_SECOND:.3g}, "
          f"OTHER_FLOPS_PER_SECOND = {TF.OTHER_FLOPS_PER_SECOND:.3g}, BYTES_PER_SECOND = "
          f"{TF.BYTES_PER_SECOND:.3g}; forward + backward, float32, median of {repeats}")
    print(f"{'case':<58} {'algorithm':<11} {'ms':>9} {'model ms':>9}")
    rows: list = []
    met, total = 0, 0
    conv_cases = [(c[0], c[1], c[2], (2,) + c[3][1:]) for c in CONV_CASES[:1]] if args.quick \
        else CONV_CASES
    for label, in_modes, out_modes, shape in conv_cases:
        x = rng.standard_normal(shape).astype(np.float32)
        for r in ((4,) if args.quick else CONV_RANKS):
            def make(algorithm, r=r, in_modes=in_modes, out_modes=out_modes):
                return TTConv2d(in_modes, out_modes, r, 3, padding=1, bias=False,
                                algorithm=algorithm, rng=0)
            met += run_case(f"{label}, B {shape[0]}, ranks {r}", make, x, TF.CONV_ALGORITHMS,
                            repeats, rows)
            total += 1
    linear_cases = LINEAR_CASES[1:] if args.quick else LINEAR_CASES
    for label, in_modes, out_modes in linear_cases:
        for batch in ((2,) if args.quick else LINEAR_BATCHES):
            x = rng.standard_normal((batch, int(np.prod(in_modes)))).astype(np.float32)
            for r in ((8,) if args.quick else LINEAR_RANKS):
                def make(algorithm, r=r, in_modes=in_modes, out_modes=out_modes):
                    return TTLinear(in_modes, out_modes, r, bias=False, algorithm=algorithm,
                                    rng=0)
                met += run_case(f"{label}, B {batch}, ranks {r}", make, x, TF.ALGORITHMS,
                                repeats, rows)
                total += 1
    print(f"auto within {GOAL:.2f}x of the fastest algorithm: {met} of {total} cases")
    if args.fit:
        wide, other, bandwidth = fit(rows)
        print(f"fitted: WIDE_FLOPS_PER_SECOND = {wide:.3g}, OTHER_FLOPS_PER_SECOND = "
              f"{other:.3g}, BYTES_PER_SECOND = {bandwidth:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
