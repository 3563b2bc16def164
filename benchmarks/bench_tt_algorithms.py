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

One run is noisy, so a fit is better made on several and checked on each. ``--save FILE``
writes a run's measured times to a new JSON file (it never overwrites one), and

    PYTHONPATH=. python benchmarks/bench_tt_algorithms.py --fit-runs run1.json run2.json ...

times nothing: it recomputes every case's costs with the current code, fits the constants to
all the saved runs together, and prints, for each run, on how many cases ``auto`` would meet
the goal with the fitted constants and with those in the code.
``--quick``: two small cases, one repeat (a smoke run). Run it on an otherwise idle
machine: the time of a memory-bound pass doubles when another process shares the
memory bus.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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


def layer_for(case: dict, algorithm: str):
    """The layer of a case (``kind``, ``in_modes``, ``out_modes``, ``rank``) with ``algorithm``."""
    if case["kind"] == "conv":
        return TTConv2d(case["in_modes"], case["out_modes"], case["rank"], 3, padding=1,
                        bias=False, algorithm=algorithm, rng=0)
    return TTLinear(case["in_modes"], case["out_modes"], case["rank"], bias=False,
                    algorithm=algorithm, rng=0)


def cases(quick: bool) -> list[dict]:
    """The grid: ``{"label", "kind", "in_modes", "out_modes", "rank", "shape"}`` per case."""
    grid = []
    conv_cases = [(c[0], c[1], c[2], (2,) + c[3][1:]) for c in CONV_CASES[:1]] if quick \
        else CONV_CASES
    for label, in_modes, out_modes, shape in conv_cases:
        for r in ((4,) if quick else CONV_RANKS):
            grid.append(dict(label=f"{label}, B {shape[0]}, ranks {r}", kind="conv",
                             in_modes=in_modes, out_modes=out_modes, rank=r, shape=shape))
    for label, in_modes, out_modes in (LINEAR_CASES[1:] if quick else LINEAR_CASES):
        for batch in ((2,) if quick else LINEAR_BATCHES):
            for r in ((8,) if quick else LINEAR_RANKS):
                grid.append(dict(label=f"{label}, B {batch}, ranks {r}", kind="linear",
                                 in_modes=in_modes, out_modes=out_modes, rank=r,
                                 shape=(batch, int(np.prod(in_modes)))))
    return grid


def algorithms_of(case: dict) -> tuple[str, ...]:
    """The algorithms of a case's layer."""
    return TF.CONV_ALGORITHMS if case["kind"] == "conv" else TF.ALGORITHMS


def run_case(case: dict, x: np.ndarray, repeats: int) -> tuple[bool, dict[str, float]]:
    """Time every algorithm of one case; print a line per algorithm; (auto met the goal, ms)."""
    layer = layer_for(case, "auto")
    costs = layer.cost(x.shape)
    chosen = layer.choose_algorithm(x.shape)
    measured = {a: median_ms(ttnet_layer_step(layer_for(case, a), x), repeats)
                for a in algorithms_of(case)}
    fastest = min(measured, key=measured.get)
    ratio = measured[chosen] / measured[fastest]
    for a in measured:
        mark = ("auto" if a == chosen else "") + (" fastest" if a == fastest else "")
        print(f"{case['label']:<58} {a:<11} {measured[a]:9.1f} {1e3 * costs[a]['seconds']:9.1f}  "
              f"{mark}")
    ok = ratio <= GOAL
    print(f"{'':<58} {'auto/best':<11} {ratio:9.2f}x {'ok' if ok else 'MISSED'}\n")
    return ok, measured


def fit_rows(case: dict, measured: dict[str, float]) -> list[tuple[float, ...]]:
    """``(wide flops, other flops, traffic, seconds)`` of each algorithm of a timed case."""
    costs = layer_for(case, "auto").cost(tuple(case["shape"]))
    return [(c["wide_flops"], c["flops"] - c["wide_flops"], c["traffic"], measured[a] / 1e3)
            for a, c in costs.items()]


def fit(rows: list) -> tuple[float, ...]:
    """The model's constants minimising Σ (predicted / measured − 1)² (non-negative least
    squares on the inverse rates, by trying every subset of active constants); one per
    column of ``rows`` but the last, the measured seconds."""
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


def goal_met(run: list[dict], rates: tuple[float, float, float]) -> int:
    """The cases of a saved run on which the time model with ``rates`` picks an algorithm
    within :data:`GOAL` of the fastest measured."""
    met = 0
    for case in run:
        costs = layer_for(case, "auto").cost(tuple(case["shape"]))
        chosen = min(costs, key=lambda a: TF.estimated_seconds(
            costs[a]["flops"], costs[a]["wide_flops"], costs[a]["traffic"], rates=rates))
        met += case["ms"][chosen] <= GOAL * min(case["ms"].values())
    return met


def load_run(path: str) -> list[dict]:
    """The cases of a run saved with ``--save``, each checked for what the fit needs."""
    def bad(reason: str) -> SystemExit:
        return SystemExit(f"--fit-runs: {path} is not a run saved by --save ({reason})")
    try:
        run = json.loads(Path(path).read_text())["cases"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise bad(f"{type(err).__name__}: {err}") from None
    if not isinstance(run, list) or not run:
        raise bad("no cases")
    for k, case in enumerate(run):
        keys = {"kind", "in_modes", "out_modes", "rank", "shape", "ms"}
        if not isinstance(case, dict) or not keys <= set(case) \
                or case["kind"] not in ("conv", "linear"):
            raise bad(f"case {k} lacks one of {sorted(keys)} or has an unknown kind")
        if not isinstance(case["ms"], dict) or set(case["ms"]) != set(algorithms_of(case)):
            raise bad(f"case {k} needs the times of {', '.join(algorithms_of(case))}")
    return run


def fit_saved_runs(paths: list[str]) -> int:
    """``--fit-runs``: fit the constants to all the saved runs, count the goal on each."""
    runs = [load_run(path) for path in paths]
    rows = [row for run in runs for case in run for row in fit_rows(case, case["ms"])]
    rates = fit(rows)
    print(f"fitted on {len(runs)} runs: WIDE_FLOPS_PER_SECOND = {rates[0]:.3g}, "
          f"OTHER_FLOPS_PER_SECOND = {rates[1]:.3g}, BYTES_PER_SECOND = {rates[2]:.3g}")
    in_code = (TF.WIDE_FLOPS_PER_SECOND, TF.OTHER_FLOPS_PER_SECOND, TF.BYTES_PER_SECOND)
    for path, run in zip(paths, runs):
        print(f"{path}: auto within {GOAL:.2f}x on {goal_met(run, rates)} of {len(run)} cases "
              f"with the fitted constants, {goal_met(run, in_code)} with those in the code")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="two small cases, one repeat")
    parser.add_argument("--fit", action="store_true", help="fit the time model's constants")
    parser.add_argument("--save", metavar="FILE", help="write the measured times to a new JSON file")
    parser.add_argument("--fit-runs", nargs="+", metavar="FILE",
                        help="fit the constants to runs saved with --save (times nothing)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.fit_runs:
        if args.save or args.fit or args.quick:
            parser.error("--fit-runs times nothing: it does not go with --save, --fit or --quick")
        return fit_saved_runs(args.fit_runs)
    save_file = None
    if args.save:                  # created now, so that a bad name fails before the timing
        try:
            save_file = open(args.save, "x")
        except FileExistsError:
            parser.error(f"--save: {args.save} exists; ttnet does not overwrite files")
        except OSError as err:
            parser.error(f"--save: cannot create {args.save}: {err}")
    try:
        return run_grid(args, save_file)
    except BaseException:
        if save_file is not None:  # an interrupted run leaves no half-written file behind
            save_file.close()
            Path(args.save).unlink()
        raise


def run_grid(args: argparse.Namespace, save_file) -> int:
    """Time the grid (the benchmark proper); write it to ``save_file`` if one is open."""
    repeats = 1 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    print(f"model constants: WIDE_FLOPS_PER_SECOND = {TF.WIDE_FLOPS_PER_SECOND:.3g}, "
          f"OTHER_FLOPS_PER_SECOND = {TF.OTHER_FLOPS_PER_SECOND:.3g}, BYTES_PER_SECOND = "
          f"{TF.BYTES_PER_SECOND:.3g}; forward + backward, float32, median of {repeats}")
    print(f"{'case':<58} {'algorithm':<11} {'ms':>9} {'model ms':>9}")
    timed = []
    for case in cases(args.quick):
        x = rng.standard_normal(case["shape"]).astype(np.float32)
        ok, measured = run_case(case, x, repeats)
        timed.append(dict(case, ms=measured, ok=ok))
    met = sum(case["ok"] for case in timed)
    print(f"auto within {GOAL:.2f}x of the fastest algorithm: {met} of {len(timed)} cases")
    if args.fit:
        wide, other, bandwidth = fit([row for case in timed for row in fit_rows(case, case["ms"])])
        print(f"fitted: WIDE_FLOPS_PER_SECOND = {wide:.3g}, OTHER_FLOPS_PER_SECOND = "
              f"{other:.3g}, BYTES_PER_SECOND = {bandwidth:.3g}")
    if save_file is not None:
        with save_file:
            json.dump({"repeats": repeats, "cases": timed}, save_file, indent=1)
        print(f"measured times written to {save_file.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
