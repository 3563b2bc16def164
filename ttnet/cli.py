"""Command-line interface: ``ttnet`` (console script) and ``python -m ttnet``.

Subcommands
-----------
tour
    A short tour of the tensor-train format (the default when no subcommand is
    given): decompose tensors with TT-SVD and print ranks, errors and sizes.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

import numpy as np

from . import __version__
from .tt import TTMatrix, TTTensor, tt_svd


def _relative_error(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.linalg.norm(approx - exact) / np.linalg.norm(exact))


def tour(seed: int = 0, out=None) -> None:
    """Print a short tour of the TT format (what ``ttnet tour`` runs)."""
    out = out or sys.stdout
    rng = np.random.default_rng(seed)

    def say(text: str = "") -> None:
        print(text, file=out)

    say(f"ttnet {__version__} -- a tour of the tensor-train format\n")

    say("1. A smooth function on a 10^6-point grid: A[i1..i6] = sin(x1 + ... + x6).")
    say("   sin of a sum has TT-rank 2 (expand with sin(a+b) = sin a cos b + cos a sin b).")
    grid = np.linspace(0.0, 1.0, 10)
    A = np.sin(sum(np.meshgrid(*[grid] * 6, indexing="ij")))
    t0 = time.perf_counter()
    X = tt_svd(A, eps=1e-10)
    ms = 1e3 * (time.perf_counter() - t0)
    say(f"   tt_svd(A, eps=1e-10): ranks {X.ranks}, relative error "
        f"{_relative_error(X.full(), A):.1e}, {A.size:,} numbers -> {X.n_params:,} "
        f"({X.compression_ratio:,.0f}x smaller), {ms:.0f} ms\n")

    say("2. Random noise has no structure to exploit: the ranks stay at their maximum")
    say("   until eps forces them down, and the error always stays below eps.")
    B = rng.standard_normal((6, 6, 6, 6, 6))
    say(f"   {'eps':>6}  {'ranks':<24} {'rel. error':>10}  {'params':>7}")
    for eps in (0.0, 0.3, 0.6):
        Y = tt_svd(B, eps=eps)
        say(f"   {eps:>6.2f}  {str(Y.ranks):<24} {_relative_error(Y.full(), B):>10.3f}  "
            f"{Y.n_params:>7,}")
    say()

    say("3. Arithmetic in TT form: X + X doubles the ranks, rounding brings them back.")
    Z = TTTensor.random((8,) * 8, 4, rng=rng)
    S = Z + Z
    R = S.round()
    say(f"   X.ranks {Z.ranks}\n   (X + X).ranks {S.ranks}\n   (X + X).round().ranks "
        f"{R.ranks}, |norm - 2|X|| / 2|X| = {abs(R.norm() - 2 * Z.norm()) / (2 * Z.norm()):.1e}\n")

    say("4. The paper's fully connected layer as a TT-matrix: 1536 x 8192 with row modes")
    say("   (4, 6, 8, 8) and column modes (8, 8, 8, 16).")
    say(f"   {'rank':>5}  {'parameters':>10}  {'compression':>11}")
    for r in (1, 4, 16, 40):
        W = TTMatrix.random((4, 6, 8, 8), (8, 8, 8, 16), r, rng=rng, dtype=np.float32)
        say(f"   {r:>5}  {W.n_params:>10,}  {W.compression_ratio:>10,.0f}x")
    x = rng.standard_normal(8192).astype(np.float32)
    y = W @ x
    say(f"   W @ x never forms the 12.6M-entry matrix; it agrees with W.full() @ x to "
        f"{_relative_error(y, W.full() @ x):.0e}.")
    say("\nNext: the notebooks in notebooks/ walk through every equation.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ttnet",
        description="Tensor-train compressed neural networks from scratch in NumPy.",
        epilog="Example: ttnet tour --seed 1")
    parser.add_argument("--version", action="version", version=f"ttnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_tour = sub.add_parser(
        "tour", help="a short tour of the TT format (the default)",
        description="Decompose a few tensors with TT-SVD and print ranks, errors and sizes.",
        epilog="Example: ttnet tour --seed 1")
    p_tour.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ttnet`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # "tour" is the only command so far, and the default
    tour(seed=getattr(args, "seed", 0))
    return 0
