"""Benchmark: ttnet's TT-SVD against a straightforward NumPy TT-SVD, in one run.

    python benchmarks/bench_tt_svd.py [--quick]

Prints, for each case and dtype, the median time per call and the relative
error ‖A − TT‖_F / ‖A‖_F of

* ``ttnet``   -- :func:`ttnet.tt_svd` (Gram-matrix truncated SVD on wide unfoldings), and
* ``baseline`` -- the textbook sweep with ``np.linalg.svd(full_matrices=False)`` at every step,

and the speed-up baseline / ttnet. The cases are those of the TT-format issue:
(a) a random (9, 16, 16, 16) tensor, max rank 16; (b) a random 1536 × 8192
matrix as a TT-matrix with modes (4, 6, 8, 8) × (8, 8, 8, 16), max rank 40;
(c) a random (4,)*10 tensor, max rank 32. The machine is shared and noisy:
compare the ratios, which come from the same run.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

from ttnet import TTMatrix, TTTensor, tt_svd
from ttnet.tt.ranks import resolve_ranks


def baseline_tt_svd(A: np.ndarray, max_rank: int) -> TTTensor:
    """Textbook TT-SVD: a full thin SVD of every unfolding, truncated to the rank cap."""
    caps = resolve_ranks(max_rank, A.shape)
    cores, r_prev = [], 1
    C = A
    for k, n_k in enumerate(A.shape[:-1]):
        C = C.reshape(r_prev * n_k, -1)
        U, s, Vt = np.linalg.svd(C, full_matrices=False)
        r = min(caps[k + 1], len(s))
        cores.append(U[:, :r].reshape(r_prev, n_k, r))
        C = s[:r, None] * Vt[:r]
        r_prev = r
    cores.append(C.reshape(r_prev, A.shape[-1], 1))
    return TTTensor(cores)


def merged_matrix_tensor(W: np.ndarray, rows, cols) -> np.ndarray:
    """The d-way view of W with modes m_k n_k used by TTMatrix.from_dense."""
    d = len(rows)
    order = [ax for k in range(d) for ax in (k, d + k)]
    return W.reshape(rows + cols).transpose(order).reshape([m * n for m, n in zip(rows, cols)])


def median_ms(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(1e3 * (time.perf_counter() - t0))
    return statistics.median(times), result


def rel_error(tt: TTTensor, A: np.ndarray) -> float:
    return float(np.linalg.norm(tt.full().astype(np.float64) - A) / np.linalg.norm(A))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat per case (a smoke run)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows, cols = (4, 6, 8, 8), (8, 8, 8, 16)
    cases = [
        ("(a) (9,16,16,16), r<=16", lambda: rng.standard_normal((9, 16, 16, 16)), 16, 30),
        ("(b) 1536x8192 TT-matrix, r<=40",
         lambda: merged_matrix_tensor(rng.standard_normal((1536, 8192)), rows, cols), 40, 3),
        ("(c) (4,)*10, r<=32", lambda: rng.standard_normal((4,) * 10), 32, 10),
    ]
    print(f"{'case':<32} {'dtype':<8} {'ttnet ms':>9} {'base ms':>9} {'speed-up':>8} "
          f"{'ttnet err':>10} {'base err':>10}")
    for label, make, rank, repeats in cases:
        A64 = make()
        for dtype in (np.float32, np.float64):
            A = A64.astype(dtype)
            n = 1 if args.quick else repeats
            ours_ms, ours = median_ms(lambda: tt_svd(A, max_rank=rank), n)
            base_ms, base = median_ms(lambda: baseline_tt_svd(A, rank), n)
            assert ours.ranks == base.ranks, (ours.ranks, base.ranks)
            print(f"{label:<32} {np.dtype(dtype).name:<8} {ours_ms:>9.1f} {base_ms:>9.1f} "
                  f"{base_ms / ours_ms:>7.1f}x {rel_error(ours, A64):>10.6f} "
                  f"{rel_error(base, A64):>10.6f}")
    # the TT-matrix of case (b) through the public API, for reference
    W = rng.standard_normal((1536, 8192)).astype(np.float32)
    ms, T = median_ms(lambda: TTMatrix.from_dense(W, rows, cols, max_rank=40), 1)
    print(f"\nTTMatrix.from_dense(1536x8192 float32, max_rank=40): {ms:.0f} ms, ranks {T.ranks}, "
          f"{T.n_params:,} parameters ({T.compression_ratio:.0f}x), "
          f"{math.prod(T.shape):,} dense entries")


if __name__ == "__main__":
    main()
