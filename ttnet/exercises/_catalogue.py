"""The exercises: for each, the generated cases and how the student's function is graded.

Every grader draws its inputs from a fixed seed, so a check gives the same table every run. The
reference is always the library (never the notebook's solution), so a solution that drifts from
the library fails its check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..nn import functional as F
from ..nn import tt_functional as TF
from ..nn.init import tt_normal_std
from ..nn.module import Module
from ..ops import col2im, im2col
from ..ops.kernel_layouts import kernel_to_matrix, kernel_to_naive_tensor
from ..quant import fake_quantize
from ..train import EMA, SGD
from ..tt import TTMatrix, TTTensor, tt_round, tt_svd
from ..tt.cores import interleave_axes
from ._grader import Grader, Reported, cores_ok

__all__ = ["Exercise", "EXERCISES"]


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    Attributes
    ----------
    name : str
        What :func:`ttnet.exercises.check` is called with.
    notebook : str
        The solution notebook that holds the exercise, e.g. ``"01_tensor_train"``.
    description : str
        One line: what the student writes.
    signature : str
        The function the student writes, with shapes.
    checked_by : str
        How the grader checks it (for the docs).
    grade : callable
        ``grade(func, grader)``: runs the cases and records the rows.
    """

    name: str
    notebook: str
    description: str
    signature: str
    checked_by: str
    grade: Callable[[Callable, Grader], None]


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _tt_tensor(shape: tuple[int, ...], ranks: int, seed: int) -> np.ndarray:
    """A dense tensor of low TT-rank (a random TT-tensor)."""
    return TTTensor.random(shape, ranks, rng=seed, dtype=np.float64).full()


def _ranks(cores: list[np.ndarray]) -> tuple[int, ...]:
    return tuple(c.shape[0] for c in cores) + (cores[-1].shape[-1],)


def _ranks_row(g: Grader, case: str, got: tuple[int, ...], reference: tuple[int, ...]) -> None:
    ok = len(got) == len(reference) and all(a <= b for a, b in zip(got, reference))
    g.add(case, "ranks <= the library's", None, None, ok,
          f"ranks {got}, the library's {reference}: discard every singular value the "
          f"budget allows")


# ---------------------------------------------------------------- 01 tensor train
def _grade_tt_svd(func: Callable, g: Grader) -> None:
    noisy = _tt_tensor((4, 5, 6), 3, 1) + 1e-2 * _rng(2).standard_normal((4, 5, 6))
    grid = np.meshgrid(*[np.linspace(0, 1, n) for n in (4, 5, 3, 6)], indexing="ij")
    sine = np.sin(sum(grid))                                   # TT-rank 2 exactly
    cases = [(f"noisy rank-3 (4, 5, 6), eps 0.1", noisy, 0.1),
             ("rank-3 (3, 4, 5, 6) + noise, eps 0.01",
              _tt_tensor((3, 4, 5, 6), 3, 3) + 1e-3 * _rng(4).standard_normal((3, 4, 5, 6)), 0.01),
             ("matrix (6, 7), eps 0.3", _rng(5).standard_normal((6, 7)), 0.3),
             ("sin(sum) (4, 5, 3, 6), eps 1e-10 (edge: exact rank 2)", sine, 1e-10),
             ("vector (5,), eps 0.1 (edge: d = 1)", _rng(6).standard_normal(5), 0.1)]
    for case, A, eps in cases:
        ran, out = g.call(case, func, A, eps)
        if not ran:
            continue
        cores = cores_ok(g, case, out, 3, A.shape)
        if cores is None:
            continue
        error = float(np.linalg.norm(TTTensor(cores).full() - A) / np.linalg.norm(A))
        g.add(case, "||A - TT|| / ||A|| <= eps", error, eps, error <= eps * (1 + 1e-9),
              f"relative error {error:.3g} is above eps = {eps}: each of the d - 1 steps may "
              f"discard at most eps ||A|| / sqrt(d - 1)")
        _ranks_row(g, case, _ranks(cores), tt_svd(A, eps=eps).ranks)


def _grade_tt_round(func: Callable, g: Grader) -> None:
    X = TTTensor.random((4, 5, 6, 7), 3, rng=10, dtype=np.float64)
    smooth = tt_svd(1.0 / (1.0 + sum(np.meshgrid(*[np.arange(n) for n in (6, 5, 6, 5)],
                                                  indexing="ij"))), eps=1e-10)
    perturbed = smooth + 1e-4 * TTTensor.random(smooth.shape, 2, rng=11, dtype=np.float64)
    pair = TTTensor.random((8, 9), 4, rng=12, dtype=np.float64)
    cases = [("X + X, X of ranks 3, eps 1e-8", X + X, 1e-8),
             ("smooth + 1e-4 perturbation, eps 1e-2", perturbed, 1e-2),
             ("smooth + 1e-4 perturbation, eps 1e-6", perturbed, 1e-6),
             ("matrix X + X (8, 9), eps 0.5 (edge: d = 2)", pair + pair, 0.5)]
    for case, T, eps in cases:
        ran, out = g.call(case, func, [c.copy() for c in T.cores], eps)
        if not ran:
            continue
        cores = cores_ok(g, case, out, 3, T.shape)
        if cores is None:
            continue
        full = T.full()
        error = float(np.linalg.norm(TTTensor(cores).full() - full) / np.linalg.norm(full))
        g.add(case, "||X - Y|| / ||X|| <= eps", error, eps, error <= eps * (1 + 1e-9),
              f"relative error {error:.3g} is above eps = {eps}: orthogonalise right to left "
              f"first, then truncate left to right with delta = eps ||X|| / sqrt(d - 1)")
        _ranks_row(g, case, _ranks(cores), tt_round(T, eps=eps).ranks)


# ---------------------------------------------------------------- 02 im2col
def _im2col_cases() -> list[tuple[str, tuple[int, ...], int, int, int]]:
    return [("x (2, 3, 5, 5), k 3, stride 1, pad 1", (2, 3, 5, 5), 3, 1, 1),
            ("x (1, 2, 6, 7), k 3, stride 2, pad 0", (1, 2, 6, 7), 3, 2, 0),
            ("x (2, 2, 5, 6), k 2, stride 3, pad 1", (2, 2, 5, 6), 2, 3, 1),
            ("x (2, 3, 4, 4), k 1 (edge: 1x1 kernel)", (2, 3, 4, 4), 1, 1, 0),
            ("x (1, 1, 3, 3), k 3 (edge: one window)", (1, 1, 3, 3), 3, 1, 0)]


def _grade_im2col(func: Callable, g: Grader) -> None:
    for k, (case, shape, kernel, stride, pad) in enumerate(_im2col_cases()):
        x = _rng(20 + k).standard_normal(shape)
        ran, out = g.call(case, func, x, kernel, stride, pad)
        if ran:
            g.compare(case, "cols", out, im2col(x, kernel, stride, pad), tol=1e-12)


def _grade_col2im(func: Callable, g: Grader) -> None:
    for k, (case, shape, kernel, stride, pad) in enumerate(_im2col_cases()):
        rows = shape[1] * kernel * kernel
        cols = _rng(30 + k).standard_normal((rows, im2col(np.zeros(shape), kernel, stride,
                                                          pad).shape[1]))
        ran, out = g.call(case, func, cols, shape, kernel, stride, pad)
        if ran:
            g.compare(case, "x", out, col2im(cols, shape, kernel, stride, pad), tol=1e-12)


# ---------------------------------------------------------------- 03 backprop
def _grade_conv2d_backward(func: Callable, g: Grader) -> None:
    cases = [("x (2, 3, 5, 5), w (4, 3, 3, 3), stride 1, pad 1", (2, 3, 5, 5), (4, 3, 3, 3), 1, 1),
             ("x (1, 2, 6, 7), w (3, 2, 2, 2), stride 2, pad 0", (1, 2, 6, 7), (3, 2, 2, 2), 2, 0),
             ("x (2, 2, 5, 5), w (3, 2, 3, 3), stride 2, pad 1", (2, 2, 5, 5), (3, 2, 3, 3), 2, 1),
             ("x (2, 3, 4, 4), w (2, 3, 1, 1) (edge: 1x1 kernel)", (2, 3, 4, 4), (2, 3, 1, 1),
              1, 0)]
    for k, (case, xs, ws, stride, pad) in enumerate(cases):
        r = _rng(40 + k)
        inputs = {"x": r.standard_normal(xs), "weight": r.standard_normal(ws),
                  "bias": r.standard_normal(ws[0])}

        def forward(x, w, b, stride=stride, pad=pad):
            return F.conv2d_forward(x, w, b, stride, pad)[0], (x.copy(), w.copy())

        def backward(dout, cache, stride=stride, pad=pad):
            ran, out = g.call(case, func, dout, cache[0], cache[1], stride, pad)
            if not ran:
                raise Reported()
            return _as_tuple(out, 3, "(dx, dweight, dbias)")

        g.gradient_check(case, forward, inputs, backward)


def _distinct(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Values spaced at least 4 / size apart: no max-pool window has a tie near the step."""
    size = math.prod(shape)
    return (_rng(seed).permutation(size) * (4.0 / size) - 2.0).reshape(shape)


def _grade_maxpool2d_backward(func: Callable, g: Grader) -> None:
    cases = [("x (2, 3, 4, 4), k 2, stride 2", (2, 3, 4, 4), 2, 2),
             ("x (1, 2, 5, 5), k 3, stride 2 (overlapping windows)", (1, 2, 5, 5), 3, 2),
             ("x (2, 1, 5, 6), k 2, stride 1 (overlapping windows)", (2, 1, 5, 6), 2, 1),
             ("x (1, 2, 3, 3), k 3 (edge: one window)", (1, 2, 3, 3), 3, 3),
             ("x (1, 1, 5, 5), k 2, stride 2 (edge: last row and column unused)",
              (1, 1, 5, 5), 2, 2)]
    for k, (case, xs, kernel, stride) in enumerate(cases):
        def forward(x, kernel=kernel, stride=stride):
            return F.maxpool2d_forward(x, kernel, stride)[0], x.copy()

        def backward(dout, x, kernel=kernel, stride=stride):
            ran, out = g.call(case, func, dout, x, kernel, stride)
            if not ran:
                raise Reported()
            return out

        g.gradient_check(case, forward, {"x": _distinct(xs, 50 + k)}, backward)


def _grade_sgd_momentum_ema_step(func: Callable, g: Grader) -> None:
    cases = [("first step (velocity 0, average = param), lr 0.1, mu 0.9, decay 0.99",
              True, 0.1, 0.9, 0.99),
             ("mid-training step, lr 0.05, mu 0.9, decay 0.999", False, 0.05, 0.9, 0.999),
             ("lr 0.1, mu 0 (edge: no momentum), decay 0.9", False, 0.1, 0.0, 0.9),
             ("lr 0.01, mu 0.5, decay 0 (edge: the average is the new param)",
              False, 0.01, 0.5, 0.0)]
    for k, (case, first, lr, mu, decay) in enumerate(cases):
        r = _rng(60 + k)
        param, grad = r.standard_normal((3, 4)), r.standard_normal((3, 4))
        velocity = np.zeros((3, 4)) if first else r.standard_normal((3, 4))
        shadow = param.copy() if first else param + 0.1 * r.standard_normal((3, 4))
        # the reference: the library's SGD and EMA on a one-parameter model
        model = Module()
        model.add_param("w", param.copy())
        model.grads["w"][...] = grad
        opt = SGD(model, lr=lr, momentum=mu)
        if mu:
            opt.velocity["w"][...] = velocity
        ema = EMA(model, decay=decay, warmup=False)
        ema.shadow["w"][...] = shadow
        opt.step()
        ema.update()
        expected_velocity = opt.velocity["w"] if mu else grad
        ran, out = g.call(case, func, param, grad, velocity, shadow, lr, mu, decay)
        if not ran:
            continue
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            g.add(case, "returns (param, velocity, average)", None, None, False,
                  f"returned {type(out).__name__}, expected a tuple of 3 arrays")
            continue
        g.compare(case, "new param", out[0], model.params["w"], tol=1e-12)
        g.compare(case, "new velocity", out[1], expected_velocity, tol=1e-12)
        g.compare(case, "new average", out[2], ema.shadow["w"], tol=1e-12)


# ---------------------------------------------------------------- 04 TT-FC
def _tt_matrix_cores(in_modes, out_modes, ranks, seed) -> list[np.ndarray]:
    return TTMatrix.random(out_modes, in_modes, ranks, rng=seed, dtype=np.float64).cores


_FC_CASES = [("modes (3, 4, 2) -> (2, 3, 2), ranks (2, 3)", (3, 4, 2), (2, 3, 2), (2, 3)),
             ("modes (4, 6) -> (3, 5), rank 4", (4, 6), (3, 5), (4,)),
             ("modes (2, 2, 2, 2) -> (2, 1, 3, 2), rank 2", (2, 2, 2, 2), (2, 1, 3, 2),
              (2, 2, 2)),
             ("modes (6,) -> (4,) (edge: d = 1)", (6,), (4,), ())]


def _grade_tt_init_std(func: Callable, g: Grader) -> None:
    cases = [("modes (4, 6, 5) -> (3, 2, 4), ranks (3, 3)", (4, 6, 5), (3, 2, 4), (3, 3)),
             ("the paper's 8192 -> 1536, rank 40", (8, 8, 8, 16), (4, 6, 8, 8), (40, 40, 40)),
             ("modes (2, 3, 4, 5) -> (5, 4, 3, 2), ranks (2, 7, 3)", (2, 3, 4, 5), (5, 4, 3, 2),
              (2, 7, 3)),
             ("modes (10,) -> (7,) (edge: d = 1, a dense layer)", (10,), (7,), ())]
    for case, in_modes, out_modes, ranks in cases:
        full = (1,) + tuple(ranks) + (1,)
        shapes = [(full[k], out_modes[k], in_modes[k], full[k + 1]) for k in range(len(in_modes))]
        expected = tt_normal_std(shapes, 2.0 / math.prod(in_modes))
        ran, out = g.call(case, func, in_modes, out_modes, ranks)
        if ran:
            g.compare(case, "std", out, np.float64(expected), tol=1e-12)


def _grade_tt_matvec(func: Callable, g: Grader) -> None:
    for k, (case, in_modes, out_modes, ranks) in enumerate(_FC_CASES):
        cores = _tt_matrix_cores(in_modes, out_modes, ranks, 70 + k)
        x = _rng(80 + k).standard_normal(math.prod(in_modes))
        ran, out = g.call(case, func, cores, x)
        if ran:
            g.compare(case, "W @ x", out, TTMatrix(cores).full() @ x)


def _grade_tt_linear_forward(func: Callable, g: Grader) -> None:
    for k, (case, in_modes, out_modes, ranks) in enumerate(_FC_CASES):
        cores = _tt_matrix_cores(in_modes, out_modes, ranks, 90 + k)
        x = _rng(100 + k).standard_normal((3 - k % 2 * 2, math.prod(in_modes)))  # B = 3 or 1
        ran, out = g.call(f"{case}, batch {x.shape[0]}", func, x, cores)
        if ran:
            g.compare(f"{case}, batch {x.shape[0]}", "y", out, TF.tt_linear_forward(x, cores)[0])


def _grade_tt_linear_backward(func: Callable, g: Grader) -> None:
    for k, (case, in_modes, out_modes, ranks) in enumerate(_FC_CASES):
        cores = _tt_matrix_cores(in_modes, out_modes, ranks, 110 + k)
        x = _rng(120 + k).standard_normal((2, math.prod(in_modes)))
        d = len(cores)
        inputs = {"x": x, **{f"core{i}": c for i, c in enumerate(cores)}}

        def forward(x, *cores):
            return TF.tt_linear_forward(x, list(cores))[0], (x.copy(), [c.copy() for c in cores])

        def backward(dout, cache, case=case, d=d):
            ran, out = g.call(case, func, dout, cache[0], cache[1])
            if not ran:
                raise Reported()
            dx, dcores = _as_tuple(out, 2, "(dx, dcores)")
            return (dx, *_as_tuple(dcores, d, f"a list of {d} core gradients"))

        g.gradient_check(case, forward, inputs, backward)


# ---------------------------------------------------------------- 05 TT-conv
def _reshaped_reference(kernel: np.ndarray, in_modes, out_modes) -> np.ndarray:
    """The kernel as the (d + 1)-way tensor whose TT-SVD gives the TT-conv cores."""
    S, C, l, _ = kernel.shape
    rows, cols = (1,) + tuple(out_modes), (l * l,) + tuple(in_modes)
    d = len(rows)
    merged = kernel_to_matrix(kernel).reshape(rows + cols).transpose(interleave_axes(d))
    return merged.reshape([m * n for m, n in zip(rows, cols)])


_KERNEL_CASES = [("kernel (4, 6, 3, 3), in (2, 3), out (2, 2)", (4, 6, 3, 3), (2, 3), (2, 2)),
                 ("kernel (8, 8, 3, 3), in (2, 2, 2), out (2, 2, 2)", (8, 8, 3, 3), (2, 2, 2),
                  (2, 2, 2)),
                 ("kernel (6, 4, 5, 5), in (4,), out (6,)", (6, 4, 5, 5), (4,), (6,)),
                 ("kernel (6, 4, 1, 1), in (2, 2), out (3, 2) (edge: 1x1 kernel)",
                  (6, 4, 1, 1), (2, 2), (3, 2))]


def _grade_tt_conv_kernel_reshape(func: Callable, g: Grader) -> None:
    for k, (case, shape, in_modes, out_modes) in enumerate(_KERNEL_CASES):
        K = _rng(130 + k).standard_normal(shape)
        ran, out = g.call(case, func, K, in_modes, out_modes)
        if ran:
            g.compare(case, "reshaped kernel", out, _reshaped_reference(K, in_modes, out_modes),
                      tol=1e-12)


def _grade_naive_kernel_reshape(func: Callable, g: Grader) -> None:
    for k, (case, shape, _, _) in enumerate(_KERNEL_CASES):
        K = _rng(140 + k).standard_normal(shape)
        ran, out = g.call(case.split(", in")[0], func, K)
        if ran:
            g.compare(case.split(", in")[0], "(l, l, C, S) tensor", out,
                      kernel_to_naive_tensor(K), tol=1e-12)


_CONV_CASES = [("x (2, 6, 5, 5), in (2, 3), out (3, 2), ranks (2, 3), l 3, stride 1, pad 1",
                (2, 6, 5, 5), (2, 3), (3, 2), (2, 3), 3, 1, 1),
               ("x (1, 4, 6, 6), in (2, 2), out (2, 2), ranks (3, 2), l 3, stride 2, pad 0",
                (1, 4, 6, 6), (2, 2), (2, 2), (3, 2), 3, 2, 0),
               ("x (2, 8, 4, 4), in (2, 2, 2), out (2, 1, 2), ranks (2, 2, 2), l 2, stride 1, "
                "pad 1", (2, 8, 4, 4), (2, 2, 2), (2, 1, 2), (2, 2, 2), 2, 1, 1),
               ("x (2, 3, 4, 5), in (3,), out (2,), ranks (1,), l 1 (edge: 1x1 kernel, d = 1)",
                (2, 3, 4, 5), (3,), (2,), (1,), 1, 1, 0)]


def _tt_conv_cores(in_modes, out_modes, ranks, l, seed) -> list[np.ndarray]:
    r = _rng(seed)
    full = tuple(ranks) + (1,)
    cores = [r.standard_normal((1, 1, l * l, full[0]))]
    cores += [r.standard_normal((full[k], out_modes[k], in_modes[k], full[k + 1]))
              for k in range(len(in_modes))]
    return cores


def _grade_tt_conv_sequential_forward(func: Callable, g: Grader) -> None:
    for k, (case, xs, in_modes, out_modes, ranks, l, stride, pad) in enumerate(_CONV_CASES):
        cores = _tt_conv_cores(in_modes, out_modes, ranks, l, 150 + k)
        x = _rng(160 + k).standard_normal(xs)
        ran, out = g.call(case, func, x, cores, stride, pad)
        if ran:
            g.compare(case, "y", out, TF.tt_conv2d_forward(x, cores, None, stride, pad)[0])


def _grade_tt_conv_sequential_backward(func: Callable, g: Grader) -> None:
    for k, (case, xs, in_modes, out_modes, ranks, l, stride, pad) in enumerate(_CONV_CASES):
        cores = _tt_conv_cores(in_modes, out_modes, ranks, l, 170 + k)
        inputs = {"x": _rng(180 + k).standard_normal(xs),
                  **{f"core{i}": c for i, c in enumerate(cores)}}
        d = len(cores)

        def forward(x, *cores, stride=stride, pad=pad):
            y = TF.tt_conv2d_forward(x, list(cores), None, stride, pad)[0]
            return y, (x.copy(), [c.copy() for c in cores])

        def backward(dout, cache, case=case, d=d, stride=stride, pad=pad):
            ran, out = g.call(case, func, dout, cache[0], cache[1], stride, pad)
            if not ran:
                raise Reported()
            dx, dcores = _as_tuple(out, 2, "(dx, dcores)")
            return (dx, *_as_tuple(dcores, d, f"a list of {d} core gradients"))

        g.gradient_check(case, forward, inputs, backward, max_entries=40)


# ---------------------------------------------------------------- 08 quantization
def _grade_fake_quantize(func: Callable, g: Grader) -> None:
    cases = [("w (4, 5), 8 bits", (4, 5), 8, 1.0),
             ("w (3, 3, 3), 4 bits", (3, 3, 3), 4, 0.05),
             ("w (20,), 2 bits (ternary)", (20,), 2, 3.0),
             ("w (1,), 3 bits (edge: one value)", (1,), 3, 1.0),
             ("w (3, 4) all zero, 8 bits (edge: scale 0)", (3, 4), 8, 0.0)]
    for k, (case, shape, bits, size) in enumerate(cases):
        w = size * _rng(190 + k).standard_normal(shape)
        ran, out = g.call(case, func, w, bits)
        if ran:
            g.compare(case, "fake-quantized w", out, fake_quantize(w, bits), tol=1e-6)


# ---------------------------------------------------------------- helpers
def _as_tuple(value: Any, n: int, what: str) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != n:
        got = f"{type(value).__name__} of length {len(value)}" if isinstance(
            value, (tuple, list)) else type(value).__name__
        raise ValueError(f"returned {got}, expected {what}")
    return tuple(value)


# ---------------------------------------------------------------- the catalogue
_EXERCISES = [
    Exercise("tt_svd", "01_tensor_train",
             "TT-SVD by hand: a left-to-right sweep of truncated SVDs with the eps bound",
             "tt_svd(tensor, eps) -> list of cores (r_{k-1}, n_k, r_k)",
             "relative error <= eps and ranks no larger than ttnet.tt_svd's, on 5 tensors",
             _grade_tt_svd),
    Exercise("tt_round", "01_tensor_train",
             "TT rounding: orthogonalise right to left, truncate left to right",
             "tt_round(cores, eps) -> list of cores",
             "relative error <= eps and ranks no larger than ttnet.tt_round's, on 4 TT-tensors",
             _grade_tt_round),
    Exercise("im2col", "02_im2col_convolution",
             "the patch matrix of an NCHW batch",
             "im2col(x (B, C, H, W), kernel_size, stride, padding) -> cols (C k k, B H' W')",
             "equal to ttnet.ops.im2col on 5 shapes", _grade_im2col),
    Exercise("col2im", "02_im2col_convolution",
             "the adjoint of im2col: add every patch entry back onto its pixel",
             "col2im(cols (C k k, B H' W'), input_shape, kernel_size, stride, padding) -> x",
             "equal to ttnet.ops.col2im on 5 shapes", _grade_col2im),
    Exercise("conv2d_backward", "03_backprop_and_gradient_checks",
             "the gradients of the convolution: dx, dweight, dbias",
             "conv2d_backward(dout (B, S, H', W'), x, weight (S, C, k, k), stride, padding) "
             "-> (dx, dweight, dbias)",
             "finite-difference gradient check against ttnet's conv2d_forward, 4 shapes",
             _grade_conv2d_backward),
    Exercise("maxpool2d_backward", "03_backprop_and_gradient_checks",
             "max-pool backward: route each window's gradient to its maximum",
             "maxpool2d_backward(dout (B, C, H', W'), x (B, C, H, W), kernel_size, stride) -> dx",
             "finite-difference gradient check against ttnet's maxpool2d_forward, 5 shapes",
             _grade_maxpool2d_backward),
    Exercise("sgd_momentum_ema_step", "03_backprop_and_gradient_checks",
             "one SGD-with-momentum step and the EMA update of the weights",
             "sgd_momentum_ema_step(param, grad, velocity, average, lr, momentum, decay) "
             "-> (param, velocity, average)",
             "equal to ttnet.train.SGD + EMA(warmup=False) on 4 steps",
             _grade_sgd_momentum_ema_step),
    Exercise("tt_init_std", "04_tt_fc_layer",
             "the TT-aware initialisation: the per-core std that gives W the He variance",
             "tt_init_std(in_modes, out_modes, ranks) -> float",
             "equal to ttnet.nn.init.tt_normal_std for He variance 2 / N, 4 layers",
             _grade_tt_init_std),
    Exercise("tt_matvec", "04_tt_fc_layer",
             "TT-matrix times vector, one core at a time",
             "tt_matvec(cores [(r_{k-1}, m_k, n_k, r_k)], x (N,)) -> y (M,)",
             "equal to TTMatrix(cores).full() @ x, 4 TT-matrices", _grade_tt_matvec),
    Exercise("tt_linear_forward", "04_tt_fc_layer",
             "the TT-FC layer's forward pass y = x W^T",
             "tt_linear_forward(x (B, N), cores) -> y (B, M)",
             "equal to ttnet.nn.tt_functional.tt_linear_forward, 4 layers",
             _grade_tt_linear_forward),
    Exercise("tt_linear_backward", "04_tt_fc_layer",
             "the TT-FC layer's backward pass: dx and the core gradients",
             "tt_linear_backward(dout (B, M), x (B, N), cores) -> (dx, dcores)",
             "finite-difference gradient check against ttnet's tt_linear_forward, 4 layers",
             _grade_tt_linear_backward),
    Exercise("tt_conv_kernel_reshape", "05_tt_conv_layer",
             "the paper's reshaping of a conv kernel into a (d + 1)-way tensor",
             "tt_conv_kernel_reshape(kernel (S, C, l, l), in_modes, out_modes) "
             "-> (l^2, s_1 c_1, ..., s_d c_d)",
             "equal to the tensor TTMatrix.from_dense decomposes for conv_kernel_to_tt, 4 kernels",
             _grade_tt_conv_kernel_reshape),
    Exercise("naive_kernel_reshape", "05_tt_conv_layer",
             "the naive scheme: the kernel as a 4-way (l, l, C, S) tensor",
             "naive_kernel_reshape(kernel (S, C, l, l)) -> (l, l, C, S)",
             "equal to ttnet.ops.kernel_to_naive_tensor, 4 kernels", _grade_naive_kernel_reshape),
    Exercise("tt_conv_sequential_forward", "05_tt_conv_layer",
             "the TT-conv forward pass by the sequential algorithm (no dense kernel)",
             "tt_conv_sequential_forward(x (B, C, H, W), cores, stride, padding) "
             "-> y (B, S, H', W')",
             "equal to ttnet.nn.tt_functional.tt_conv2d_forward, 4 layers",
             _grade_tt_conv_sequential_forward),
    Exercise("tt_conv_sequential_backward", "05_tt_conv_layer",
             "the TT-conv backward pass by the sequential algorithm",
             "tt_conv_sequential_backward(dout, x, cores, stride, padding) -> (dx, dcores)",
             "finite-difference gradient check against ttnet's tt_conv2d_forward, 4 layers",
             _grade_tt_conv_sequential_backward),
    Exercise("fake_quantize", "08_quantization_and_deployment",
             "symmetric uniform k-bit fake-quantization with the max-abs scale",
             "fake_quantize(w, bits) -> w_hat (same shape)",
             "equal to ttnet.quant.fake_quantize (symmetric, max), 5 arrays", _grade_fake_quantize),
]

#: name -> Exercise, in notebook order.
EXERCISES: dict[str, Exercise] = {e.name: e for e in _EXERCISES}
