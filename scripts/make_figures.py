"""Draw the figures of the docs from ttnet objects: ``python scripts/make_figures.py``.

Writes three PNG files to ``docs/figures/`` (or to ``--out``):

* ``tt_chain.png`` -- a TT-tensor as a chain of cores, and one entry as a product of matrices;
* ``tt_matrix_modes.png`` -- a TT-matrix: every core pairs a row mode with a column mode;
* ``kernel_reshaping.png`` -- the paper's reshaping of a conv kernel against the naive TT.

Every shape, rank and parameter count written in a figure is read off an object that ttnet
built (``TTTensor.random``, ``TTMatrix.random``, ``conv_kernel_to_tt``,
``conv_kernel_to_naive_tt``), so the pictures cannot drift from the code. Figures are
schematic: box sizes do not scale with the arrays. Takes about two seconds.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import FancyBboxPatch, Rectangle  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ttnet import TTMatrix, TTTensor  # noqa: E402
from ttnet.ops import conv_kernel_to_naive_tt, conv_kernel_to_tt  # noqa: E402

CORE = "#cfe2f3"
SPATIAL = "#fce5cd"
EDGE = "#1f3b57"
DPI = 110


def _core(ax, x, y, name, shape, color=CORE, w=1.5, h=0.75):
    """A core as a rounded box with its name and its shape."""
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05",
                                fc=color, ec=EDGE, lw=1.4))
    ax.text(x, y + 0.12, name, ha="center", va="center", fontsize=13)
    ax.text(x, y - 0.2, str(tuple(shape)), ha="center", va="center", fontsize=8.5, color="#333")


def _bond(ax, x0, x1, y, label):
    ax.plot([x0, x1], [y, y], color=EDGE, lw=2)
    ax.text((x0 + x1) / 2, y + 0.12, label, ha="center", va="bottom", fontsize=10, color="#a33")


def _leg(ax, x, y0, y1, label, above=False):
    ax.plot([x, x], [y0, y1], color=EDGE, lw=2)
    ax.text(x, y1 + (0.08 if above else -0.08), label, ha="center",
            va="bottom" if above else "top", fontsize=10)


def _frame(ax, xlim, ylim):
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")


def tt_chain(path):
    """The TT format of a 4-way tensor; shapes from ``TTTensor.random``."""
    X = TTTensor.random((4, 5, 6, 7), ranks=3, rng=0)
    d, r = len(X.cores), X.ranks
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.2), gridspec_kw={"height_ratios": [1, 1]})
    step = 2.4
    for k, core in enumerate(X.cores):
        x = k * step
        _core(top, x, 0, f"$G_{k + 1}$", core.shape)
        _leg(top, x, -0.45, -1.0, f"$i_{k + 1}$ ($n_{k + 1}={X.shape[k]}$)")
        if k + 1 < d:
            _bond(top, x + 0.8, x + step - 0.8, 0, f"$r_{k + 1}={r[k + 1]}$")
    top.text(-1.1, 0.9, f"TTTensor of shape {X.shape}, ranks {X.ranks}: "
             f"{X.n_params} numbers instead of {math.prod(X.shape)}", fontsize=10)
    top.text(-1.1, 0.55, r"core $k$ = cores[k-1], shape $(r_{k-1}, n_k, r_k)$, $r_0 = r_d = 1$",
             fontsize=9.5, color="#333")
    _frame(top, (-1.2, (d - 1) * step + 1.2), (-1.6, 1.2))

    # one entry: a row vector times matrices times a column vector
    idx = (2, 0, 3, 1)
    x = 0.0
    unit = 0.32
    for k, core in enumerate(X.cores):
        rows, cols = core.shape[0], core.shape[2]
        w, h = cols * unit, rows * unit
        bottom.add_patch(Rectangle((x, -h / 2), w, h, fc=CORE, ec=EDGE, lw=1.2))
        bottom.text(x + w / 2, -h / 2 - 0.15, f"$G_{k + 1}[:, {idx[k]}, :]$\n{rows}×{cols}",
                    ha="center", va="top", fontsize=9.5)
        x += w + 0.45
        if k + 1 < d:
            bottom.text(x - 0.225, 0, "·", ha="center", va="center", fontsize=16)
    value = X.full()[idx]
    bottom.text(x + 0.1, 0, f"= A[{', '.join(map(str, idx))}] = {value:.4f}  (1×1)",
                va="center", fontsize=11)
    bottom.text(0, 1.05, "one entry is a product of matrices, one slice per core "
                "(indices from 0, as in the code)", fontsize=10)
    _frame(bottom, (-0.3, x + 4.2), (-1.6, 1.3))
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def tt_matrix_modes(path):
    """A TT-matrix: each core carries one row mode and one column mode."""
    W = TTMatrix.random((4, 6, 8, 8), (8, 8, 8, 16), max_rank=40, rng=0)
    d, r = len(W.cores), W.ranks
    fig, ax = plt.subplots(figsize=(9.5, 4.2))
    step = 2.5
    for k, core in enumerate(W.cores):
        x = k * step
        _core(ax, x, 0, f"$G_{k + 1}$", core.shape, w=1.75)
        _leg(ax, x, 0.45, 1.0, f"$i_{k + 1}$ (row, $m_{k + 1}={W.row_modes[k]}$)", above=True)
        _leg(ax, x, -0.45, -1.0, f"$j_{k + 1}$ (col, $n_{k + 1}={W.col_modes[k]}$)")
        if k + 1 < d:
            _bond(ax, x + 0.92, x + step - 0.92, 0, f"$r_{k + 1}={r[k + 1]}$")
    M, N = W.shape
    ax.text(-1.2, 2.0, f"TTMatrix {M} × {N}: row modes {W.row_modes}, column modes {W.col_modes}, "
            f"ranks {W.ranks}", fontsize=10)
    ax.text(-1.2, 1.65, f"{W.n_params:,} numbers instead of {M * N:,}; core shape "
            r"$(r_{k-1}, m_k, n_k, r_k)$", fontsize=10)
    ax.text(-1.2, -1.9, r"$W[i, j] = G_1[:, i_1, j_1, :]\,G_2[:, i_2, j_2, :] \cdots "
            r"G_d[:, i_d, j_d, :]$,  $i = (i_1, \dots, i_d)$, $j = (j_1, \dots, j_d)$ row-major",
            fontsize=10)
    _frame(ax, (-1.3, (d - 1) * step + 1.3), (-2.2, 2.3))
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def kernel_reshaping(path):
    """The paper's TT-matrix view of a conv kernel against the naive TT of the 4-D kernel."""
    S, C, l = 64, 64, 3
    modes, rank = (4, 4, 4), 8
    K = np.random.default_rng(0).standard_normal((S, C, l, l))
    paper = conv_kernel_to_tt(K, in_modes=modes, out_modes=modes, max_rank=rank)
    naive = conv_kernel_to_naive_tt(K, max_rank=rank)

    fig, (a, b) = plt.subplots(2, 1, figsize=(10, 7.6))
    step = 3.0
    a.text(-1.2, 2.3, f"(a) the paper's scheme (TT-conv): kernel (S, C, l, l) = {K.shape} read as the "
           f"S × l²C matrix", fontsize=11, weight="bold")
    a.text(-1.2, 1.9, r"$K_{mat}[s,\ (i\,l + j)\,C + c] = K[s, c, i, j]$; "
           f"{len(paper.cores)} cores, row modes {paper.row_modes}, column modes {paper.col_modes}",
           fontsize=10)
    for k, core in enumerate(paper.cores):
        x = k * step
        spatial = k == 0
        _core(a, x, 0, f"$G_{k}$", core.shape, color=SPATIAL if spatial else CORE, w=1.7)
        if spatial:
            _leg(a, x, -0.45, -1.0, f"$(i, j)$: $l^2={l * l}$")
        else:
            _leg(a, x, 0.45, 1.0, f"$s_{k}$ ({paper.row_modes[k]})", above=True)
            _leg(a, x, -0.45, -1.0, f"$c_{k}$ ({paper.col_modes[k]})")
        if k + 1 < len(paper.cores):
            _bond(a, x + 0.9, x + step - 0.9, 0, f"$r_{k}={paper.ranks[k + 1]}$")
    a.text(-1.2, -1.6, "the spatial part stays whole in one core; every other core pairs an "
           "output mode with an input mode", fontsize=10)
    a.text(-1.2, -2.0, f"{paper.n_params:,} parameters (dense kernel: {K.size:,})", fontsize=10)
    _frame(a, (-1.3, 3 * step + 1.3), (-2.3, 2.6))

    b.text(-1.2, 2.3, f"(b) the naive scheme: TT of the 4-D kernel with modes (l, l, C, S) = "
           f"{naive.shape}", fontsize=11, weight="bold")
    b.text(-1.2, 1.9, r"$K[s, c, i, j] = T[i, j, c, s] = H_1[i]\,H_2[j]\,H_3[c]\,H_4[s]$; "
           f"ranks {naive.ranks}", fontsize=10)
    names = ["i: l", "j: l", "c: C", "s: S"]
    for k, core in enumerate(naive.cores):
        x = k * step
        _core(b, x, 0, f"$H_{k + 1}$", core.shape, color=SPATIAL if k < 2 else CORE, w=1.7)
        _leg(b, x, -0.45, -1.0, f"${names[k].split(':')[0]}$ ({naive.shape[k]})")
        if k + 1 < len(naive.cores):
            _bond(b, x + 0.9, x + step - 0.9, 0, f"$r_{k + 1}={naive.ranks[k + 1]}$")
    b.text(-1.2, -1.6, f"channels are not factorised, and the first bond cannot exceed l = {l}",
           fontsize=10)
    b.text(-1.2, -2.0, f"{naive.n_params:,} parameters (rank cap {rank} on every bond in both "
           "schemes; random kernel, so both are truncated to the cap)", fontsize=10)
    _frame(b, (-1.3, 3 * step + 1.3), (-2.3, 2.6))
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


FIGURES = {"tt_chain.png": tt_chain, "tt_matrix_modes.png": tt_matrix_modes,
           "kernel_reshaping.png": kernel_reshaping}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "docs" / "figures",
                        help="directory to write the PNG files to (default: docs/figures)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        draw(args.out / name)
        print(args.out / name)


if __name__ == "__main__":
    main()
