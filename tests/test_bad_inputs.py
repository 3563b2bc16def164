"""Every bad input answered: one table of wrong arguments across the API and the CLI.

Each row is ``(case id, call, expected exception, substrings)``. ``call`` takes
a temporary directory (for crafted files and run directories) and must raise
the expected exception type (or a subclass) with a message containing every
substring -- at least the name of the argument at fault (for the CLI: the
option, e.g. ``--out``). The message is also checked for the absence of a
Python traceback's tell-tale phrasing: no bare ``KeyError`` / ``AttributeError``.

CLI rows run :func:`ttnet.cli.main` with an argv list: argparse usage errors
(exit status 2) surface as :class:`UsageError`, errors ttnet reports itself
(exit status 1) as :class:`CommandError`, both carrying what was printed to
stderr.

The whole module runs in a few seconds: no case trains a network or reads a
large file.

``ttnet.minimal`` has no rows here, on purpose: it is the reading version
(TT-SVD, TT-FC and TT-conv in about 200 lines), deliberately unvalidated so
that the maths stays on one screen; ``tests/test_minimal.py`` ties it to the
validated implementations.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import struct

import numpy as np
import pytest

from ttnet import data as ttdata
from ttnet import exercises, experiments, gradcheck, models, ops
from ttnet import nn as ttnn
from ttnet.cli import main
from ttnet.nn import functional as F
from ttnet.train import (EMA, SGD, Adam, CheckpointError, ConstantLR, CosineLR,
                         RunDirectoryError, StepLR, Trainer, evaluate, load_checkpoint,
                         save_checkpoint)
from ttnet.tt import TTMatrix, TTTensor, factorize, max_ranks, tt_round, tt_svd


class UsageError(Exception):
    """``ttnet`` exited with status 2 (argparse); the message is its stderr."""


class CommandError(Exception):
    """``ttnet`` exited with status 1 (an error ttnet reported); the message is its stderr."""


def cli(*argv: str) -> int:
    """Run ``ttnet ARGV``; raise UsageError / CommandError with the stderr text on failure."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code
    if code == 2:
        raise UsageError(err.getvalue())
    if code == 1:
        raise CommandError(err.getvalue())
    return code


# ------------------------------------------------------------------ small inputs
def f32(*shape):
    return np.ones(shape, dtype=np.float32)


def f64(*shape):
    return np.ones(shape, dtype=np.float64)


def images(n=4, c=1, h=8, w=8):
    return np.arange(n * c * h * w, dtype=np.uint8).reshape(n, c, h, w)


def forward_then_backward(layer, x, dout):
    layer.forward(x)
    return layer.backward(dout)


def tt3():
    return TTTensor.random((2, 3, 4), 2, rng=0)


def conv_cache():
    x, w = np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3))
    return F.conv2d_forward(x, w)[1]


def loss_cache():
    return F.softmax_cross_entropy_forward(np.zeros((2, 3)), np.array([0, 1]))[1]


def loss_backward(dout):
    loss = ttnn.SoftmaxCrossEntropy()
    loss.forward(f64(2, 3), np.array([0, 1]))
    return loss.backward(dout)


def identity_forward(x):
    return x * 1.0, None


def identity_backward(dout, cache):
    return dout


def tiny_model():
    return ttnn.Sequential(ttnn.Linear(3, 2, rng=0))


def trainer(tmp, **changes):
    model = tiny_model()
    kwargs = dict(model=model, optimizer=SGD(model, lr=0.1), schedule=ConstantLR(0.1),
                  prepare=lambda x, rng, training: x.astype(np.float32),
                  out_dir=tmp / "run", epochs=1, batch_size=2)
    kwargs.update(changes)
    return Trainer(**kwargs)


def fit(tmp, *arrays):
    return trainer(tmp).fit(*arrays)


# ------------------------------------------------------------------ crafted files
def write(tmp, name, data: bytes):
    path = tmp / name
    path.write_bytes(data)
    return path


def idx_header(code, dims):
    return struct.pack(">BBBB", 0, 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)


def checkpoint_with_meta(tmp, name, **changes):
    """A .npz that looks like a ttnet checkpoint except for ``changes`` to its meta entry."""
    meta = {"format": "ttnet-checkpoint", "version": 1, "epoch": 1, "config": {}, "metrics": [],
            "params": [], "buffers": [], "optimizer_type": None, "ema": False,
            "rng_states": {}, "environment": {}}
    for key, value in changes.items():
        if value is _DROP:
            meta.pop(key)
        else:
            meta[key] = value
    path = tmp / name
    np.savez(path, meta=np.array(json.dumps(meta)))
    return path


_DROP = object()


def run_checkpoint(tmp, **config_changes):
    """A checkpoint whose config looks like one of ttnet.experiments.train (a conv model)."""
    config = {"model": "conv", "width": 1.0, "conv_ranks": None, "fc_ranks": None,
              "data": "fashion-mnist-mini", "normalizer": {"mean": [0.0], "std": [1.0]},
              "input_shape": [1, 32, 32], "classes": [str(k) for k in range(10)]}
    config.update(config_changes)
    path = tmp / "run.npz"
    save_checkpoint(path, tiny_model(), config={"config": config})
    return path


def other_run_directory(tmp):
    """A run directory of a `ttnet train` run that is not the demo."""
    out = tmp / "other"
    out.mkdir()
    (out / "config.json").write_text(json.dumps(
        {"format": "ttnet-run", "run": {"config": {"model": "conv", "width": 1.0}}}))
    save_checkpoint(out / "last.npz", tiny_model(), config={"config": {"model": "conv"}})
    return out


def npz_plain(tmp):
    path = tmp / "plain.npz"
    np.savez(path, a=np.ones(3))
    return path


TINY_TRAIN = ("train", "--model", "tt-conv", "--width", "0.125", "--ranks", "2", "--epochs", "1",
              "--no-progress")


# ------------------------------------------------------------------ the table
CASES = [
    # ---------------- ttnet.tt
    ("TTTensor-cores-str", lambda t: TTTensor("abc"), TypeError, "cores"),
    ("TTTensor-cores-empty", lambda t: TTTensor([]), ValueError, "cores"),
    ("TTTensor-core-2d", lambda t: TTTensor([f64(1, 2)]), ValueError, "cores[0]"),
    ("TTTensor-boundary-rank", lambda t: TTTensor([f64(2, 2, 1)]), ValueError, "cores[0]"),
    ("TTTensor-rank-mismatch", lambda t: TTTensor([f64(1, 2, 2), f64(3, 2, 1)]), ValueError,
     "cores[1]"),
    ("TTTensor-float16", lambda t: TTTensor([np.ones((1, 2, 1), np.float16)]), TypeError,
     ("cores[0]", "float16")),
    ("TTTensor-complex", lambda t: TTTensor([np.ones((1, 2, 1)) * 1j]), TypeError,
     ("cores[0]", "complex")),
    ("TTTensor-nan", lambda t: TTTensor([np.full((1, 2, 1), np.nan)]), ValueError, "cores[0]"),
    ("TTTensor-random-rank-0", lambda t: TTTensor.random((2, 3), 0), ValueError, "ranks"),
    ("TTTensor-random-shape-0", lambda t: TTTensor.random((2, 0), 1), ValueError, "shape"),
    ("TTTensor-random-int-dtype", lambda t: TTTensor.random((2, 3), 1, dtype=int), TypeError,
     "dtype"),
    ("TTTensor-random-rng", lambda t: TTTensor.random((2, 3), 1, rng="seed"), TypeError, "rng"),
    ("TTMatrix-cores-str", lambda t: TTMatrix("abc"), TypeError, "cores"),
    ("TTMatrix-core-3d", lambda t: TTMatrix([f64(1, 2, 1)]), ValueError, "cores[0]"),
    ("TTMatrix-from-dense-modes", lambda t: TTMatrix.from_dense(f64(4, 4), (2, 2), (2, 3)),
     ValueError, "col_modes"),
    ("TTMatrix-matmul-shape", lambda t: TTMatrix.random((2, 2), (2, 2), 1, rng=0) @ f32(5),
     ValueError, "x"),
    ("TTMatrix-matmul-complex", lambda t: TTMatrix.random((2, 2), (2, 2), 1, rng=0) @ (f64(4) * 1j),
     TypeError, "x"),
    ("tt_svd-str", lambda t: tt_svd("abc"), TypeError, "A"),
    ("tt_svd-complex", lambda t: tt_svd(f64(2, 3) * 1j), TypeError, ("A", "complex")),
    ("tt_svd-float16", lambda t: tt_svd(np.ones((2, 3), np.float16)), TypeError, "float16"),
    ("tt_svd-nan", lambda t: tt_svd(np.full((2, 3), np.nan)), ValueError, "A"),
    ("tt_svd-eps-big", lambda t: tt_svd(f64(2, 3), eps=1.5), ValueError, "eps"),
    ("tt_svd-eps-negative", lambda t: tt_svd(f64(2, 3), eps=-0.1), ValueError, "eps"),
    ("tt_svd-eps-str", lambda t: tt_svd(f64(2, 3), eps="0.1"), TypeError, "eps"),
    ("tt_svd-max-rank-0", lambda t: tt_svd(f64(2, 3), max_rank=0), ValueError, "max_rank"),
    ("tt_round-not-tt", lambda t: tt_round(f64(2, 3)), TypeError, "X"),
    ("tt_round-eps", lambda t: tt_round(tt3(), eps=2.0), ValueError, "eps"),
    ("tt_round-max-rank", lambda t: tt_round(tt3(), max_rank=-1), ValueError, "max_rank"),
    ("factorize-n-str", lambda t: factorize("12", 2), TypeError, "n"),
    ("factorize-n-float", lambda t: factorize(12.0, 2), TypeError, "n"),
    ("factorize-n-0", lambda t: factorize(0, 2), ValueError, "n"),
    ("factorize-d-0", lambda t: factorize(12, 0), ValueError, "d"),
    ("max_ranks-str", lambda t: max_ranks("ab"), TypeError, "modes"),
    ("TTTensor-add-shapes", lambda t: tt3() + TTTensor.random((2, 3), 1, rng=0), ValueError,
     "shape"),

    # ---------------- ttnet.ops
    ("im2col-3d", lambda t: ops.im2col(f32(2, 3, 4), 3), ValueError, "x"),
    ("im2col-str", lambda t: ops.im2col("x", 3), TypeError, "x"),
    ("im2col-complex", lambda t: ops.im2col(f64(1, 1, 3, 3) * 1j, 2), TypeError, "x"),
    ("im2col-kernel-0", lambda t: ops.im2col(f32(1, 1, 4, 4), 0), ValueError, "kernel_size"),
    ("im2col-kernel-float", lambda t: ops.im2col(f32(1, 1, 4, 4), 2.5), TypeError, "kernel_size"),
    ("im2col-kernel-triple", lambda t: ops.im2col(f32(1, 1, 4, 4), (3, 3, 3)), ValueError,
     "kernel_size"),
    ("im2col-kernel-too-big", lambda t: ops.im2col(f32(1, 1, 4, 4), 10), ValueError,
     "kernel_size"),
    ("im2col-stride-0", lambda t: ops.im2col(f32(1, 1, 4, 4), 3, stride=0), ValueError, "stride"),
    ("im2col-padding-negative", lambda t: ops.im2col(f32(1, 1, 4, 4), 3, padding=-1), ValueError,
     "padding"),
    ("im2col-out-shape", lambda t: ops.im2col(f32(1, 1, 4, 4), 3, out=f32(2, 2)), ValueError,
     "out"),
    ("col2im-cols-shape", lambda t: ops.col2im(f32(5, 5), (1, 1, 4, 4), 3), ValueError, "cols"),
    ("col2im-input-shape", lambda t: ops.col2im(f32(9, 4), (1, 1, 4), 3), ValueError,
     "input_shape"),
    ("conv_output_shape-0", lambda t: ops.conv_output_shape((0, 4), 3), ValueError, "input_hw"),
    ("window_params-stride", lambda t: ops.window_params(3, stride=(1, 2, 3)), ValueError,
     "stride"),
    ("max_pool2d-padding", lambda t: ops.max_pool2d(f32(1, 1, 4, 4), 2, padding=2), ValueError,
     "padding"),
    ("max_pool2d-3d", lambda t: ops.max_pool2d(f32(1, 4, 4), 2), ValueError, "x"),
    ("pool_window-kernel-0", lambda t: ops.pool_window(0), ValueError, "kernel_size"),
    ("kernel_to_matrix-2d", lambda t: ops.kernel_to_matrix(f32(3, 3)), ValueError, "kernel"),
    ("matrix_to_kernel-size-0", lambda t: ops.matrix_to_kernel(f32(4, 9), 0), ValueError,
     "kernel_size"),
    ("naive_tensor_to_kernel-2d", lambda t: ops.naive_tensor_to_kernel(f32(3, 3)), ValueError,
     "tensor"),
    ("conv_kernel_to_tt-modes", lambda t: ops.conv_kernel_to_tt(f64(4, 4, 3, 3), (2, 2), (4,)),
     ValueError, "modes"),

    # ---------------- ttnet.nn layers
    ("Linear-in-0", lambda t: ttnn.Linear(0, 2), ValueError, "in_features"),
    ("Linear-out-0", lambda t: ttnn.Linear(2, 0), ValueError, "out_features"),
    ("Linear-in-float", lambda t: ttnn.Linear(2.5, 2), TypeError, "in_features"),
    ("Linear-bias-int", lambda t: ttnn.Linear(2, 2, bias=1), TypeError, "bias"),
    ("Linear-dtype-int", lambda t: ttnn.Linear(2, 2, dtype=np.int32), TypeError, "dtype"),
    ("Linear-rng-str", lambda t: ttnn.Linear(2, 2, rng="a"), TypeError, "rng"),
    ("Linear-too-large", lambda t: ttnn.Linear(10 ** 7, 10 ** 7), ValueError,
     ("in_features", "100,000,010,000,000 parameters")),
    ("Linear-forward-features", lambda t: ttnn.Linear(2, 2, rng=0).forward(f32(3, 3)), ValueError,
     "x"),
    ("Linear-forward-float64", lambda t: ttnn.Linear(2, 2, rng=0).forward(f64(3, 2)), TypeError,
     ("x has dtype float64", "float32")),
    ("Linear-forward-int64", lambda t: ttnn.Linear(2, 2, rng=0).forward(np.ones((3, 2), np.int64)),
     TypeError, ("x has dtype int64", "float32")),
    ("Linear-forward-complex", lambda t: ttnn.Linear(2, 2, rng=0).forward(f32(3, 2) * 1j),
     TypeError, ("x", "complex")),
    ("Linear-backward-shape", lambda t: forward_then_backward(ttnn.Linear(2, 2, rng=0), f32(3, 2),
                                                              f32(3, 3)), ValueError, "dout"),
    ("Linear-backward-dtype", lambda t: forward_then_backward(ttnn.Linear(2, 2, rng=0), f32(3, 2),
                                                              f64(3, 2)), TypeError, "dout"),
    ("Linear-backward-first", lambda t: ttnn.Linear(2, 2, rng=0).backward(f32(3, 2)),
     RuntimeError, "forward"),
    ("Conv2d-in-0", lambda t: ttnn.Conv2d(0, 2, 3), ValueError, "in_channels"),
    ("Conv2d-out-str", lambda t: ttnn.Conv2d(1, "2", 3), TypeError, "out_channels"),
    ("Conv2d-kernel-0", lambda t: ttnn.Conv2d(1, 2, 0), ValueError, "kernel_size"),
    ("Conv2d-stride-0", lambda t: ttnn.Conv2d(1, 2, 3, stride=0), ValueError, "stride"),
    ("Conv2d-padding-negative", lambda t: ttnn.Conv2d(1, 2, 3, padding=-1), ValueError,
     "padding"),
    ("Conv2d-too-large", lambda t: ttnn.Conv2d(10 ** 6, 10 ** 6, 3), ValueError,
     ("in_channels", "9,000,001,000,000 parameters")),
    ("Conv2d-forward-int64", lambda t: ttnn.Conv2d(1, 2, 3, rng=0).forward(
        np.ones((1, 1, 4, 4), np.int64)), TypeError, ("x has dtype int64", "float32")),
    ("Conv2d-forward-uint8", lambda t: ttnn.Conv2d(1, 2, 3, rng=0).forward(images()), TypeError,
     ("x has dtype uint8", "float32")),
    ("Conv2d-forward-complex", lambda t: ttnn.Conv2d(1, 2, 3, rng=0).forward(
        f32(1, 1, 4, 4) * 1j), TypeError, ("x", "complex")),
    ("Conv2d-forward-channels", lambda t: ttnn.Conv2d(1, 2, 3, rng=0).forward(f32(1, 2, 5, 5)),
     ValueError, "channels"),
    ("Conv2d-forward-3d", lambda t: ttnn.Conv2d(1, 2, 3, rng=0).forward(f32(1, 5, 5)), ValueError,
     "x"),
    ("Conv2d-forward-small", lambda t: ttnn.Conv2d(1, 2, 5, rng=0).forward(f32(1, 1, 3, 3)),
     ValueError, "kernel_size"),
    ("BatchNorm1d-features-0", lambda t: ttnn.BatchNorm1d(0), ValueError, "num_features"),
    ("BatchNorm1d-eps-0", lambda t: ttnn.BatchNorm1d(2, eps=0), ValueError, "eps"),
    ("BatchNorm1d-momentum-2", lambda t: ttnn.BatchNorm1d(2, momentum=2), ValueError,
     "momentum"),
    ("BatchNorm1d-forward-4d", lambda t: ttnn.BatchNorm1d(2).forward(f32(2, 2, 1, 1)), ValueError,
     "x"),
    ("BatchNorm2d-forward-channels", lambda t: ttnn.BatchNorm2d(2).forward(f32(2, 3, 2, 2)),
     ValueError, "x"),
    ("BatchNorm2d-forward-float64", lambda t: ttnn.BatchNorm2d(2).forward(f64(2, 2, 2, 2)),
     TypeError, ("float64", "float32")),
    ("BatchNorm2d-forward-int64", lambda t: ttnn.BatchNorm2d(2).forward(
        np.ones((2, 2, 2, 2), np.int64)), TypeError, ("x has dtype int64", "float32")),
    ("BatchNorm2d-forward-complex", lambda t: ttnn.BatchNorm2d(2).forward(f32(2, 2, 2, 2) * 1j),
     TypeError, ("x", "complex")),
    ("MaxPool2d-kernel-0", lambda t: ttnn.MaxPool2d(0), ValueError, "kernel_size"),
    ("MaxPool2d-padding", lambda t: ttnn.MaxPool2d(2, padding=2), ValueError, "padding"),
    ("AvgPool2d-stride-0", lambda t: ttnn.AvgPool2d(2, stride=0), ValueError, "stride"),
    ("MaxPool2d-forward-3d", lambda t: ttnn.MaxPool2d(2).forward(f32(1, 4, 4)), ValueError, "x"),
    ("MaxPool2d-backward-shape", lambda t: forward_then_backward(
        ttnn.MaxPool2d(2), f32(1, 1, 4, 4), f32(1, 1, 3, 3)), ValueError, "dout"),
    ("GlobalAvgPool2d-3d", lambda t: ttnn.GlobalAvgPool2d().forward(f32(1, 4, 4)), ValueError,
     "x"),
    ("Dropout-p-1", lambda t: ttnn.Dropout(1.0), ValueError, "p"),
    ("Dropout-p-negative", lambda t: ttnn.Dropout(-0.1), ValueError, "p"),
    ("Dropout-p-str", lambda t: ttnn.Dropout("0.5"), TypeError, "p"),
    ("Flatten-1d", lambda t: ttnn.Flatten().forward(f32(3)), ValueError, "x"),
    ("ReLU-str", lambda t: ttnn.ReLU().forward("x"), TypeError, "x"),
    ("ReLU-complex", lambda t: ttnn.ReLU().forward(f32(2) * 1j), TypeError, ("x", "complex")),
    ("Sequential-non-module", lambda t: ttnn.Sequential(ttnn.ReLU(), "relu"), TypeError,
     "layers[1]"),
    ("TTLinear-ranks-0", lambda t: ttnn.TTLinear((2, 2), (2, 2), 0), ValueError, "ranks"),
    ("TTLinear-modes-length", lambda t: ttnn.TTLinear((2, 2), (4,), 2), ValueError, "modes"),
    ("TTLinear-forward-features", lambda t: ttnn.TTLinear((2, 2), (2, 2), 2, rng=0).forward(
        f32(3, 5)), ValueError, "x"),
    ("TTLinear-forward-int64", lambda t: ttnn.TTLinear((2, 2), (2, 2), 2, rng=0).forward(
        np.ones((3, 4), np.int64)), TypeError, ("x has dtype int64", "float32")),
    ("TTConv2d-kernel-not-square", lambda t: ttnn.TTConv2d((2,), (2,), 2, (3, 2)), ValueError,
     "kernel_size"),
    ("TTConv2d-forward-int64", lambda t: ttnn.TTConv2d((2,), (2,), 2, 3, rng=0).forward(
        np.ones((1, 2, 4, 4), np.int64)), TypeError, ("x has dtype int64", "float32")),
    ("NaiveTTConv2d-forward-int64", lambda t: ttnn.NaiveTTConv2d(2, 2, 2, 3, rng=0).forward(
        np.ones((1, 2, 4, 4), np.int64)), TypeError, ("x has dtype int64", "float32")),
    ("NaiveTTConv2d-ranks-count", lambda t: ttnn.NaiveTTConv2d(2, 2, (1, 2), 3), ValueError,
     "ranks"),
    ("SoftmaxCrossEntropy-float-labels", lambda t: ttnn.SoftmaxCrossEntropy().forward(
        f32(2, 3), np.array([0.0, 1.0])), TypeError, "labels"),
    ("SoftmaxCrossEntropy-label-range", lambda t: ttnn.SoftmaxCrossEntropy().forward(
        f32(2, 3), np.array([0, 3])), ValueError, "labels"),
    ("SoftmaxCrossEntropy-nan-logits", lambda t: ttnn.SoftmaxCrossEntropy().forward(
        np.full((2, 3), np.nan), np.array([0, 1])), ValueError, "logits"),

    # ---------------- ttnet.nn.functional
    ("linear_forward-mismatch", lambda t: F.linear_forward(f64(2, 3), f64(4, 2)), ValueError,
     "weight"),
    ("linear_forward-bias-shape", lambda t: F.linear_forward(f64(2, 3), f64(4, 3), f64(3)),
     ValueError, "bias"),
    ("linear_forward-bias-dtype", lambda t: F.linear_forward(f64(2, 3), f64(4, 3), f32(4)),
     TypeError, "bias"),
    ("linear_backward-cache", lambda t: F.linear_backward(f64(2, 4), "cache"), TypeError, "cache"),
    ("conv2d_forward-weight-3d", lambda t: F.conv2d_forward(f64(1, 1, 4, 4), f64(2, 3, 3)),
     ValueError, "weight"),
    ("conv2d_forward-workspace", lambda t: F.conv2d_forward(f64(1, 1, 4, 4), f64(2, 1, 3, 3),
                                                            workspace=[]), TypeError, "workspace"),
    ("conv2d_forward-int-weight-mismatch", lambda t: F.conv2d_forward(
        np.ones((1, 1, 4, 4), np.int32), f32(2, 1, 3, 3)), TypeError, "x has dtype int32"),
    ("conv2d_backward-dout-shape", lambda t: F.conv2d_backward(f64(1, 2, 3, 3), conv_cache()),
     ValueError, "dout"),
    ("batchnorm_forward-gamma-shape", lambda t: F.batchnorm_forward(f64(2, 3), f64(2), f64(3)),
     ValueError, "gamma"),
    ("batchnorm_forward-eps", lambda t: F.batchnorm_forward(f64(2, 3), f64(3), f64(3), eps=-1.0),
     ValueError, "eps"),
    ("batchnorm_forward-eps-complex", lambda t: F.batchnorm_forward(f64(2, 3), f64(3), f64(3),
                                                                    eps=1j), TypeError, "eps"),
    ("relu_backward-shape", lambda t: F.relu_backward(f64(3), F.relu_forward(f64(2))[1]),
     ValueError, "dout"),
    ("avgpool2d_forward-3d", lambda t: F.avgpool2d_forward(f64(1, 4, 4), 2), ValueError, "x"),
    ("dropout_forward-p", lambda t: F.dropout_forward(f64(2), 1.5, 0), ValueError, "p"),
    ("dropout_forward-training", lambda t: F.dropout_forward(f64(2), 0.5, 0, training=1),
     TypeError, "training"),
    ("softmax_forward-labels-length", lambda t: F.softmax_cross_entropy_forward(
        f64(2, 3), np.array([0])), ValueError, "labels"),
    ("softmax_forward-inf", lambda t: F.softmax_cross_entropy_forward(
        np.full((2, 3), np.inf), np.array([0, 1])), ValueError, "logits"),
    ("softmax_backward-complex", lambda t: F.softmax_cross_entropy_backward(1 + 1j, loss_cache()),
     TypeError, ("dout", "complex")),
    ("softmax_backward-none", lambda t: F.softmax_cross_entropy_backward(None, loss_cache()),
     TypeError, "dout"),
    ("softmax_backward-object", lambda t: F.softmax_cross_entropy_backward(object(),
                                                                           loss_cache()),
     TypeError, "dout"),
    ("softmax_backward-shape", lambda t: F.softmax_cross_entropy_backward(f64(3), loss_cache()),
     ValueError, "dout"),
    ("SoftmaxCrossEntropy-backward-complex", lambda t: loss_backward(2j), TypeError,
     ("dout", "complex")),
    ("SoftmaxCrossEntropy-backward-none", lambda t: loss_backward(None), TypeError, "dout"),

    # ---------------- ttnet.gradcheck
    ("check_function-forward", lambda t: gradcheck.check_function("f", [f64(2)],
                                                                  identity_backward),
     TypeError, "forward"),
    ("check_function-inputs-str", lambda t: gradcheck.check_function(
        identity_forward, "abc", identity_backward), TypeError, "inputs"),
    ("check_function-float32", lambda t: gradcheck.check_function(
        identity_forward, [f32(2)], identity_backward), TypeError, ("inputs['arg0']", "float64")),
    ("check_function-nan", lambda t: gradcheck.check_function(
        identity_forward, {"x": np.array([np.nan])}, identity_backward), ValueError,
     "inputs['x']"),
    ("check_function-step-0", lambda t: gradcheck.check_function(
        identity_forward, [f64(2)], identity_backward, step=0), ValueError, "step"),
    ("check_function-max-entries", lambda t: gradcheck.check_function(
        identity_forward, [f64(2)], identity_backward, max_entries=0), ValueError, "max_entries"),
    ("check_function-rng", lambda t: gradcheck.check_function(
        identity_forward, [f64(2)], identity_backward, rng="a"), TypeError, "rng"),
    ("check_function-gradient-shape", lambda t: gradcheck.check_function(
        identity_forward, {"x": f64(2)}, lambda d, c: f64(3)), ValueError, "x"),

    # ---------------- ttnet.data
    ("load-name", lambda t: ttdata.load("mnist"), ValueError, "name"),
    ("load-name-int", lambda t: ttdata.load(5), TypeError, "name"),
    ("load-split", lambda t: ttdata.load("fashion-mnist-mini", "valid"), ValueError, "split"),
    ("load-root", lambda t: ttdata.load("fashion-mnist", root=5), TypeError, "root"),
    ("load-download", lambda t: ttdata.load("fashion-mnist", download="yes"), TypeError,
     "download"),
    ("Normalizer-std-0", lambda t: ttdata.Normalizer([0.0], [0.0]), ValueError, "std"),
    ("Normalizer-lengths", lambda t: ttdata.Normalizer([0.0, 1.0], [1.0]), ValueError, "std"),
    ("Normalizer-mean-2d", lambda t: ttdata.Normalizer([[0.0]], [1.0]), ValueError, "mean"),
    ("Normalizer-mean-nan", lambda t: ttdata.Normalizer([np.nan], [1.0]), ValueError, "mean"),
    ("Normalizer-mean-str", lambda t: ttdata.Normalizer("a", [1.0]), TypeError, "mean"),
    ("Normalizer-mean-complex", lambda t: ttdata.Normalizer([1j], [1.0]), TypeError,
     ("mean", "complex")),
    ("Normalizer-fit-2d", lambda t: ttdata.Normalizer.fit(np.zeros((2, 3), np.uint8)), ValueError,
     "images"),
    ("Normalizer-fit-list", lambda t: ttdata.Normalizer.fit([[1]]), TypeError, "images"),
    ("Normalizer-fit-chunk", lambda t: ttdata.Normalizer.fit(images(), chunk_size=0), ValueError,
     "chunk_size"),
    ("Normalizer-call-channels", lambda t: ttdata.Normalizer([0.0], [1.0])(images(c=3)),
     ValueError, "images"),
    ("Normalizer-call-dtype", lambda t: ttdata.Normalizer([0.0], [1.0])(images(), dtype=int),
     TypeError, "dtype"),
    ("Normalizer-call-complex", lambda t: ttdata.Normalizer([0.0], [1.0])(f64(1, 1, 2, 2) * 1j),
     TypeError, ("images", "complex")),
    ("Normalizer-inverse-3d", lambda t: ttdata.Normalizer([0.0], [1.0]).inverse(f32(1, 2, 2)),
     ValueError, "x"),
    ("augment-3d", lambda t: ttdata.augment(np.zeros((2, 8, 8), np.uint8), 0, flip=False),
     ValueError, "images"),
    ("augment-flip-str", lambda t: ttdata.augment(images(), 0, flip="yes"), TypeError, "flip"),
    ("augment-pad", lambda t: ttdata.augment(images(), 0, flip=False, pad=-1), ValueError, "pad"),
    ("augment-contrast", lambda t: ttdata.augment(images(), 0, flip=False, contrast=(1.5, 0.5)),
     ValueError, "contrast"),
    ("augment-rng", lambda t: ttdata.augment(images(), "seed", flip=False), TypeError, "rng"),
    ("batches-size-0", lambda t: ttdata.batches(f32(4), 0), ValueError, "batch_size"),
    ("batches-str", lambda t: ttdata.batches("abc", 2), TypeError, "data"),
    ("batches-lengths", lambda t: ttdata.batches((f32(4), f32(3)), 2), ValueError, "data"),
    ("batches-shuffle", lambda t: ttdata.batches(f32(4), 2, shuffle=1), TypeError, "shuffle"),
    ("batches-start", lambda t: ttdata.batches(f32(4), 2, start=5), ValueError, "start"),
    ("num_batches-negative", lambda t: ttdata.num_batches(-1, 2), ValueError, "n"),
    ("balanced_subset-float", lambda t: ttdata.balanced_subset(np.array([0.0, 1.0]), 1),
     TypeError, "labels"),
    ("balanced_subset-per-class-0", lambda t: ttdata.balanced_subset(np.array([0, 1]), 0),
     ValueError, "per_class"),
    ("balanced_subset-too-many", lambda t: ttdata.balanced_subset(np.array([0, 1]), 5),
     ValueError, "per_class"),
    ("Dataset-float-images", lambda t: ttdata.Dataset(f32(2, 1, 2, 2), [0, 1]), TypeError,
     "images"),
    ("Dataset-labels-length", lambda t: ttdata.Dataset(images(n=2), [0]), ValueError, "labels"),
    ("Dataset-labels-complex", lambda t: ttdata.Dataset(images(n=2), np.array([0, 1]) + 0j),
     TypeError, "labels"),
    ("Dataset-classes-str", lambda t: ttdata.Dataset(images(n=2), [0, 1], classes="ab"),
     TypeError, "classes"),
    ("Dataset-subset-index", lambda t: ttdata.Dataset(images(n=2), [0, 1]).subset([100]),
     ValueError, "indices"),
    ("zero_pad-negative", lambda t: ttdata.zero_pad(images(), -1), ValueError, "pad"),
    ("zero_pad-complex", lambda t: ttdata.zero_pad(f64(1, 1, 2, 2) * 1j, 1), TypeError,
     "images"),
    ("read_idx-int-path", lambda t: ttdata.read_idx(5), TypeError, "path"),
    ("read_idx-empty-path", lambda t: ttdata.read_idx(""), ValueError, "path"),
    ("read_idx-missing", lambda t: ttdata.read_idx(t / "missing-idx1-ubyte"), FileNotFoundError,
     "missing-idx1-ubyte"),
    ("read_idx-directory", lambda t: ttdata.read_idx(t), OSError, str),
    ("read_idx-overflowing-header", lambda t: ttdata.read_idx(write(
        t, "huge-idx3-ubyte", idx_header(0x08, (2 ** 32 - 1,) * 3) + b"\0" * 8)),
     ttdata.DatasetError, "huge-idx3-ubyte"),
    ("read_idx-overflowing-header-int64-wrap", lambda t: ttdata.read_idx(write(
        t, "wrap-idx3-ubyte", idx_header(0x0E, (2 ** 31, 2 ** 31, 4)))),
     ttdata.DatasetError, "wrap-idx3-ubyte"),
    ("read_idx-truncated", lambda t: ttdata.read_idx(write(
        t, "short-idx1-ubyte", idx_header(0x08, (3,)) + b"\1\2")),
     ttdata.DatasetError, "short-idx1-ubyte"),
    ("read_idx-bad-magic", lambda t: ttdata.read_idx(write(t, "magic-idx", b"\1\0\x08\1\0\0\0\1a")),
     ttdata.DatasetError, "magic-idx"),
    ("read_idx-bad-gzip", lambda t: ttdata.read_idx(write(
        t, "broken.gz", gzip.compress(idx_header(0x08, (4,)) + b"abcd")[:-6])),
     ttdata.DatasetError, "broken.gz"),
    ("write_idx-complex", lambda t: ttdata.write_idx(t / "c-idx", f64(2) * 1j), TypeError,
     "array"),
    ("write_idx-0d", lambda t: ttdata.write_idx(t / "z-idx", np.uint8(3)), ValueError, "array"),
    ("parse_cifar_batch-junk", lambda t: ttdata.parse_cifar_batch(b"junk", "data_batch_1"),
     ttdata.DatasetError, "data_batch_1"),
    ("file_digest-missing", lambda t: ttdata.file_digest(t / "nothing.bin"), FileNotFoundError,
     "nothing.bin"),
    ("file_digest-algorithm", lambda t: ttdata.file_digest(write(t, "a.bin", b"x"), "nope"),
     ValueError, "algorithm"),

    # ---------------- ttnet.train
    ("SGD-model-str", lambda t: SGD("model"), TypeError, "model"),
    ("SGD-model-no-params", lambda t: SGD(ttnn.ReLU()), ValueError, "model"),
    ("SGD-lr-negative", lambda t: SGD(tiny_model(), lr=-1.0), ValueError, "lr"),
    ("SGD-lr-nan", lambda t: SGD(tiny_model(), lr=float("nan")), ValueError, "lr"),
    ("SGD-lr-complex", lambda t: SGD(tiny_model(), lr=0.1 + 1j), TypeError, "lr"),
    ("SGD-momentum-1", lambda t: SGD(tiny_model(), momentum=1.0), ValueError, "momentum"),
    ("SGD-momentum-negative", lambda t: SGD(tiny_model(), momentum=-0.1), ValueError, "momentum"),
    ("SGD-nesterov-no-momentum", lambda t: SGD(tiny_model(), nesterov=True), ValueError,
     "nesterov"),
    ("SGD-weight-decay", lambda t: SGD(tiny_model(), weight_decay=-1.0), ValueError,
     "weight_decay"),
    ("SGD-set-lr", lambda t: setattr(SGD(tiny_model()), "lr", -1.0), ValueError, "lr"),
    ("SGD-load-state-str", lambda t: SGD(tiny_model()).load_state_dict("x"), TypeError, "state"),
    ("SGD-load-state-empty", lambda t: SGD(tiny_model()).load_state_dict({}), ValueError,
     "state"),
    ("Adam-betas-length", lambda t: Adam(tiny_model(), betas=(0.9,)), TypeError, "betas"),
    ("Adam-beta1-1", lambda t: Adam(tiny_model(), betas=(1.0, 0.9)), ValueError, "betas[0]"),
    ("Adam-eps-0", lambda t: Adam(tiny_model(), eps=0.0), ValueError, "eps"),
    ("StepLR-lr", lambda t: StepLR(-0.1), ValueError, "lr"),
    ("StepLR-step-0", lambda t: StepLR(0.1, 0), ValueError, "step_epochs"),
    ("StepLR-gamma", lambda t: StepLR(0.1, 10, gamma=2.0), ValueError, "gamma"),
    ("CosineLR-total-0", lambda t: CosineLR(0.1, 0), ValueError, "total_epochs"),
    ("CosineLR-min-lr", lambda t: CosineLR(0.1, 10, min_lr=1.0), ValueError, "min_lr"),
    ("ConstantLR-str", lambda t: ConstantLR("0.1"), TypeError, "lr"),
    ("schedule-epoch-negative", lambda t: ConstantLR(0.1)(-1), ValueError, "epoch"),
    ("EMA-model-str", lambda t: EMA("model"), TypeError, "model"),
    ("EMA-decay-1", lambda t: EMA(tiny_model(), decay=1.0), ValueError, "decay"),
    ("EMA-warmup-str", lambda t: EMA(tiny_model(), warmup="no"), TypeError, "warmup"),
    ("EMA-load-state-empty", lambda t: EMA(tiny_model()).load_state_dict({}), ValueError,
     "num_updates"),
    ("save_checkpoint-model", lambda t: save_checkpoint(t / "c.npz", "model"), TypeError, "model"),
    ("save_checkpoint-epoch", lambda t: save_checkpoint(t / "c.npz", tiny_model(), epoch=-1),
     ValueError, "epoch"),
    ("save_checkpoint-config-json", lambda t: save_checkpoint(
        t / "c.npz", tiny_model(), config={"a": object()}), TypeError, "config"),
    ("save_checkpoint-optimizer", lambda t: save_checkpoint(t / "c.npz", tiny_model(),
                                                            optimizer="sgd"), TypeError,
     "optimizer"),
    ("load_checkpoint-missing", lambda t: load_checkpoint(t / "none.npz"), CheckpointError,
     "none.npz"),
    ("load_checkpoint-plain-npz", lambda t: load_checkpoint(npz_plain(t)), CheckpointError,
     "plain.npz"),
    ("load_checkpoint-text", lambda t: load_checkpoint(write(t, "notes.npz", b"hello")),
     CheckpointError, "notes.npz"),
    ("restore_model-other-model", lambda t: load_checkpoint(run_checkpoint(t)).restore_model(
        ttnn.Sequential(ttnn.Linear(4, 2, rng=0))), CheckpointError, "does not fit"),
    ("Trainer-model", lambda t: trainer(t, model="m"), TypeError, "model"),
    ("Trainer-optimizer", lambda t: trainer(t, optimizer="sgd"), TypeError, "optimizer"),
    ("Trainer-schedule", lambda t: trainer(t, schedule=0.1), TypeError, "schedule"),
    ("Trainer-prepare", lambda t: trainer(t, prepare="x"), TypeError, "prepare"),
    ("Trainer-resume-and-overwrite", lambda t: trainer(t, resume=True, overwrite=True),
     ValueError, "overwrite"),
    ("Trainer-epochs-0", lambda t: trainer(t, epochs=0), ValueError, "epochs"),
    ("Trainer-batch-size-0", lambda t: trainer(t, batch_size=0), ValueError, "batch_size"),
    ("Trainer-out-dir-int", lambda t: trainer(t, out_dir=5), TypeError, "out_dir"),
    ("Trainer-config-list", lambda t: trainer(t, config=[1]), TypeError, "config"),
    ("Trainer-seed-negative", lambda t: trainer(t, seed=-1), ValueError, "seed"),
    ("Trainer-fit-images", lambda t: fit(t, "images", np.array([0]), f32(2, 3), np.array([0, 1])),
     TypeError, "train_images"),
    ("Trainer-fit-labels", lambda t: fit(t, f32(2, 3), np.array([0.0, 1.0]), f32(2, 3),
                                         np.array([0, 1])), TypeError, "train_labels"),
    ("Trainer-fit-lengths", lambda t: fit(t, f32(2, 3), np.array([0, 1]), f32(2, 3),
                                          np.array([0])), ValueError, "test_"),
    ("evaluate-batch-size", lambda t: evaluate(tiny_model(), f32(2, 3), np.array([0, 1]),
                                               lambda x, r, tr: x, batch_size=0), ValueError,
     "batch_size"),

    # ---------------- ttnet.models
    ("build-name", lambda t: models.build("vgg"), ValueError, "name"),
    ("build-conv-ranks-unused", lambda t: models.build("conv", conv_ranks=4), ValueError,
     "conv_ranks"),
    ("build-fc-ranks-unused", lambda t: models.build("tt-conv", fc_ranks=4), ValueError,
     "fc_ranks"),
    ("build-conv-ranks-count", lambda t: models.build("tt-conv", conv_ranks=[4, 4]), ValueError,
     "conv_ranks"),
    ("build-conv-ranks-0", lambda t: models.build("tt-conv", conv_ranks=0), ValueError,
     "conv_ranks"),
    ("build-conv-ranks-float", lambda t: models.build("tt-conv", conv_ranks=2.5), TypeError,
     "conv_ranks"),
    ("build-fc-ranks-entry", lambda t: models.build("conv-tt-fc", fc_ranks=[(1, 2), 3]),
     ValueError, "fc_ranks[0]"),
    ("build-width-0", lambda t: models.build("conv", width=0), ValueError, "width"),
    ("build-width-nan", lambda t: models.build("conv", width=float("nan")), ValueError, "width"),
    ("build-width-str", lambda t: models.build("conv", width="1"), TypeError, "width"),
    ("build-input-shape-length", lambda t: models.build("conv", input_shape=(3, 32)), ValueError,
     "input_shape"),
    ("build-input-shape-small", lambda t: models.build("conv", input_shape=(3, 16, 16)),
     ValueError, "input_shape"),
    ("build-num-classes", lambda t: models.build("conv", num_classes=1), ValueError,
     "num_classes"),
    ("build-dtype", lambda t: models.build("conv", dtype=np.float16), TypeError, "dtype"),
    ("build-rng", lambda t: models.build("conv", rng=-1), ValueError, "rng"),
    ("build-huge-ranks", lambda t: models.build("tt-conv", conv_ranks=10 ** 10), ValueError,
     ("conv_ranks", "parameters")),
    ("build-huge-width", lambda t: models.build("conv", width=1000), ValueError,
     ("width", "parameters")),
    ("build-huge-fc-ranks", lambda t: models.build("conv-tt-fc", fc_ranks=10 ** 6), ValueError,
     ("fc_ranks", "parameters")),
    ("summary-model", lambda t: models.summary(ttnn.Linear(2, 2), (2,)), TypeError, "model"),
    ("summary-input-shape", lambda t: models.summary(models.build("conv", width=0.125, rng=0),
                                                     (3, 32)), ValueError, "input_shape"),
    ("summary-input-shape-channels", lambda t: models.summary(
        models.build("conv", width=0.125, rng=0), (1, 32, 32)), ValueError, "input_shape"),
    ("channel_modes-n", lambda t: models.channel_modes(0, 3), ValueError, "n"),

    # ---------------- ttnet.experiments
    ("train-config-dict", lambda t: experiments.train({"model": "conv"}, t / "r", 1), TypeError,
     "config"),
    ("train-config-model", lambda t: experiments.train(experiments.RunConfig(model="vgg"),
                                                       t / "r", 1), ValueError, "model"),
    ("train-subset-too-large", lambda t: experiments.train(
        experiments.RunConfig(subset=10 ** 6), t / "r", 1, log=None), ValueError,
     ("subset", "6000")),
    ("train-huge-activations", lambda t: experiments.train(
        experiments.RunConfig(model="tt-conv", width=1000), t / "r", 1, log=None), ValueError,
     ("width", "batch_size", "GB of activations")),
    ("train-subset-below-classes", lambda t: experiments.train(
        experiments.RunConfig(subset=5), t / "r", 1, log=None), ValueError, "subset"),
    ("evaluate_checkpoint-directory", lambda t: experiments.evaluate_checkpoint(t), ValueError,
     ("is a directory", "path")),
    ("evaluate_checkpoint-missing", lambda t: experiments.evaluate_checkpoint(t / "x.npz"),
     CheckpointError, ("x.npz", "does not exist")),
    ("evaluate_checkpoint-path-int", lambda t: experiments.evaluate_checkpoint(5), TypeError,
     "path"),
    ("evaluate_checkpoint-plain-npz", lambda t: experiments.evaluate_checkpoint(npz_plain(t)),
     CheckpointError, "plain.npz"),
    ("evaluate_checkpoint-no-params", lambda t: experiments.evaluate_checkpoint(
        checkpoint_with_meta(t, "np.npz", params=_DROP)), CheckpointError, ("np.npz", "params")),
    ("evaluate_checkpoint-params-int", lambda t: experiments.evaluate_checkpoint(
        checkpoint_with_meta(t, "pi.npz", params=5)), CheckpointError, ("pi.npz", "params")),
    ("evaluate_checkpoint-params-dict", lambda t: experiments.evaluate_checkpoint(
        checkpoint_with_meta(t, "pd.npz", params={"a": 1})), CheckpointError, "params"),
    ("evaluate_checkpoint-config-list", lambda t: experiments.evaluate_checkpoint(
        checkpoint_with_meta(t, "cl.npz", config=[1])), CheckpointError, ("cl.npz", "config")),
    ("evaluate_checkpoint-epoch-str", lambda t: experiments.evaluate_checkpoint(
        checkpoint_with_meta(t, "es.npz", epoch="x")), CheckpointError, ("es.npz", "epoch")),
    ("evaluate_checkpoint-rng-list", lambda t: experiments.evaluate_checkpoint(
        checkpoint_with_meta(t, "rl.npz", rng_states=[1])), CheckpointError, "rng_states"),
    ("evaluate_checkpoint-config-lacks", lambda t: experiments.evaluate_checkpoint(
        checkpoint_with_meta(t, "cf.npz")), CheckpointError, "lacks model"),
    ("evaluate_checkpoint-config-model", lambda t: experiments.evaluate_checkpoint(
        run_checkpoint(t, model="vgg")), CheckpointError, ("run.npz", "model")),
    ("evaluate_checkpoint-config-shape", lambda t: experiments.evaluate_checkpoint(
        run_checkpoint(t, input_shape="abc")), CheckpointError, ("run.npz", "input_shape")),
    ("evaluate_checkpoint-split", lambda t: experiments.evaluate_checkpoint(
        run_checkpoint(t), split="valid"), ValueError, "split"),
    ("evaluate_checkpoint-data", lambda t: experiments.evaluate_checkpoint(
        run_checkpoint(t), data="mnist"), ValueError, "data"),
    ("evaluate_checkpoint-other-model", lambda t: experiments.evaluate_checkpoint(
        run_checkpoint(t)), CheckpointError, "does not fit"),
    ("demo-other-run", lambda t: experiments.demo(other_run_directory(t), epochs=1, log=None),
     RunDirectoryError, ("out_dir", "not a previous demo")),
    ("demo-foreign-files", lambda t: experiments.demo(write(t, "notes.txt", b"x").parent,
                                                      epochs=1, log=None),
     RunDirectoryError, ("out_dir", "notes.txt")),
    ("demo-out-dir-int", lambda t: experiments.demo(5), TypeError, "out_dir"),
    ("demo-out-dir-empty", lambda t: experiments.demo(""), ValueError, "out_dir"),
    ("demo-epochs-0", lambda t: experiments.demo(t / "d", epochs=0), ValueError, "epochs"),
    ("make_prepare-normalizer", lambda t: experiments.make_prepare("n", augment=True, flip=False),
     TypeError, "normalizer"),

    # ---------------- the ttnet command
    ("cli-unknown-command", lambda t: cli("frobnicate"), UsageError, "frobnicate"),
    ("cli-train-no-model", lambda t: cli("train", "--epochs", "1", "--out", str(t)), UsageError,
     "--model"),
    ("cli-train-no-out", lambda t: cli("train", "--model", "conv", "--epochs", "1"), UsageError,
     "--out"),
    ("cli-train-out-empty", lambda t: cli(*TINY_TRAIN, "--out", ""), UsageError, "--out"),
    ("cli-train-out-file", lambda t: cli(*TINY_TRAIN, "--out", str(write(t, "f.txt", b"x"))),
     CommandError, "f.txt"),
    ("cli-train-out-other", lambda t: cli(*TINY_TRAIN, "--out", str(other_run_directory(t))),
     CommandError, "--resume"),
    ("cli-train-model", lambda t: cli("train", "--model", "vgg", "--epochs", "1", "--out", "x"),
     UsageError, "--model"),
    ("cli-train-epochs-0", lambda t: cli("train", "--model", "conv", "--epochs", "0", "--out",
                                         "x"), UsageError, "--epochs"),
    ("cli-train-epochs-str", lambda t: cli("train", "--model", "conv", "--epochs", "many",
                                           "--out", "x"), UsageError, "--epochs"),
    ("cli-train-batch-size-0", lambda t: cli(*TINY_TRAIN, "--batch-size", "0", "--out", "x"),
     UsageError, "--batch-size"),
    ("cli-train-lr-negative", lambda t: cli(*TINY_TRAIN, "--lr", "-1", "--out", "x"), UsageError,
     "--lr"),
    ("cli-train-lr-nan", lambda t: cli(*TINY_TRAIN, "--lr", "nan", "--out", "x"), UsageError,
     "--lr"),
    ("cli-train-lr-inf", lambda t: cli(*TINY_TRAIN, "--lr", "inf", "--out", "x"), UsageError,
     "--lr"),
    ("cli-train-width-0", lambda t: cli(*TINY_TRAIN, "--width", "0", "--out", "x"), UsageError,
     "--width"),
    ("cli-train-width-inf", lambda t: cli(*TINY_TRAIN, "--width", "inf", "--out", "x"),
     UsageError, "--width"),
    ("cli-train-momentum-1.5", lambda t: cli(*TINY_TRAIN, "--momentum", "1.5", "--out", "x"),
     UsageError, "--momentum"),
    ("cli-train-momentum-str", lambda t: cli(*TINY_TRAIN, "--momentum", "fast", "--out", "x"),
     UsageError, "--momentum"),
    ("cli-train-weight-decay", lambda t: cli(*TINY_TRAIN, "--weight-decay", "-1", "--out", "x"),
     UsageError, "--weight-decay"),
    ("cli-train-ema-1", lambda t: cli(*TINY_TRAIN, "--ema", "1", "--out", "x"), UsageError,
     "--ema"),
    ("cli-train-lr-step-0", lambda t: cli(*TINY_TRAIN, "--lr-step", "0", "--out", "x"),
     UsageError, "--lr-step"),
    ("cli-train-seed-negative", lambda t: cli(*TINY_TRAIN, "--seed", "-1", "--out", "x"),
     UsageError, "--seed"),
    ("cli-train-subset-0", lambda t: cli(*TINY_TRAIN, "--subset", "0", "--out", "x"), UsageError,
     "--subset"),
    ("cli-train-subset-too-large", lambda t: cli(*TINY_TRAIN, "--subset", "100000", "--out",
                                                 str(t / "r")), CommandError, "subset"),
    ("cli-train-data", lambda t: cli(*TINY_TRAIN, "--data", "mnist", "--out", "x"), UsageError,
     "--data"),
    ("cli-train-schedule", lambda t: cli(*TINY_TRAIN, "--schedule", "linear", "--out", "x"),
     UsageError, "--schedule"),
    ("cli-train-ranks-letters", lambda t: cli(*TINY_TRAIN, "--ranks", "a", "--out", "x"),
     UsageError, "--ranks"),
    ("cli-train-ranks-0", lambda t: cli(*TINY_TRAIN, "--ranks", "0", "--out", "x"), UsageError,
     "--ranks"),
    ("cli-train-ranks-count", lambda t: cli(*TINY_TRAIN, "--ranks", "2,2", "--out", "x"),
     UsageError, "--ranks"),
    ("cli-train-ranks-unused", lambda t: cli("train", "--model", "conv", "--ranks", "4",
                                             "--epochs", "1", "--out", "x"), UsageError,
     "--ranks"),
    ("cli-train-fc-ranks-unused", lambda t: cli(*TINY_TRAIN, "--fc-ranks", "4", "--out", "x"),
     UsageError, "--fc-ranks"),
    ("cli-train-resume-and-overwrite", lambda t: cli(*TINY_TRAIN, "--out", "x", "--resume",
                                                     "--overwrite"), UsageError, "--overwrite"),
    ("cli-train-resume-nothing", lambda t: cli(*TINY_TRAIN, "--out", str(write(
        t, "notes.txt", b"x").parent), "--resume"), CommandError, "cannot resume"),
    ("cli-eval-no-checkpoint", lambda t: cli("eval"), UsageError, "--checkpoint"),
    ("cli-eval-checkpoint-empty", lambda t: cli("eval", "--checkpoint", ""), UsageError,
     "--checkpoint"),
    ("cli-eval-missing", lambda t: cli("eval", "--checkpoint", str(t / "none.npz")), CommandError,
     ("--checkpoint", "does not exist")),
    ("cli-eval-directory", lambda t: cli("eval", "--checkpoint", str(t)), CommandError,
     ("--checkpoint", "is a directory")),
    ("cli-eval-no-params", lambda t: cli("eval", "--checkpoint", str(
        checkpoint_with_meta(t, "np.npz", params=_DROP))), CommandError, ("--checkpoint",
                                                                           "params")),
    ("cli-eval-params-int", lambda t: cli("eval", "--checkpoint", str(
        checkpoint_with_meta(t, "pi.npz", params=7))), CommandError, ("--checkpoint", "params")),
    ("cli-eval-config-list", lambda t: cli("eval", "--checkpoint", str(
        checkpoint_with_meta(t, "cl.npz", config=[1]))), CommandError, ("--checkpoint",
                                                                         "config")),
    ("cli-eval-plain-npz", lambda t: cli("eval", "--checkpoint", str(npz_plain(t))),
     CommandError, ("--checkpoint", "not a ttnet checkpoint")),
    ("cli-eval-split", lambda t: cli("eval", "--checkpoint", "x.npz", "--split", "valid"),
     UsageError, "--split"),
    ("cli-eval-data", lambda t: cli("eval", "--checkpoint", "x.npz", "--data", "mnist"),
     UsageError, "--data"),
    ("cli-summary-huge-ranks", lambda t: cli("summary", "--model", "tt-conv", "--ranks",
                                             "10000000000"), CommandError,
     ("ranks", "parameters")),
    ("cli-summary-huge-width", lambda t: cli("summary", "--model", "conv", "--width", "1000"),
     CommandError, ("width", "parameters")),
    ("cli-train-huge-activations", lambda t: cli(*TINY_TRAIN, "--width", "1000", "--out",
                                                 str(t / "r")), CommandError,
     ("width", "batch_size", "GB of activations")),
    ("cli-summary-input-shape-letters", lambda t: cli("summary", "--model", "conv",
                                                      "--input-shape", "a,b,c"), UsageError,
     "--input-shape"),
    ("cli-summary-input-shape-length", lambda t: cli("summary", "--model", "conv",
                                                     "--input-shape", "3,32"), UsageError,
     "--input-shape"),
    ("cli-summary-input-shape-0", lambda t: cli("summary", "--model", "conv", "--input-shape",
                                                "3,0,32"), UsageError, "--input-shape"),
    ("cli-summary-classes-1", lambda t: cli("summary", "--model", "conv", "--classes", "1"),
     UsageError, "--classes"),
    ("cli-summary-ranks-unused", lambda t: cli("summary", "--model", "conv", "--ranks", "4"),
     UsageError, "--ranks"),
    ("cli-summary-fc-ranks-count", lambda t: cli("summary", "--model", "conv-tt-fc",
                                                 "--fc-ranks", "4/4/4"), UsageError,
     "--fc-ranks"),
    ("cli-tour-seed-negative", lambda t: cli("tour", "--seed", "-1"), UsageError, "--seed"),
    ("cli-tour-seed-str", lambda t: cli("tour", "--seed", "one"), UsageError, "--seed"),
    ("cli-demo-out-empty", lambda t: cli("demo", "--out", ""), UsageError, "--out"),
    ("cli-demo-epochs-0", lambda t: cli("demo", "--epochs", "0"), UsageError, "--epochs"),
    # ---------------- added after the branches met: factorize bounds, RunConfig, loss, reproduce
    ("factorize-n-huge", lambda t: factorize(2 ** 65, 2), ValueError, ("n", "2**64")),
    ("factorize-d-huge", lambda t: factorize(12, 10 ** 5), ValueError, ("d", "10,000")),
    ("RunConfig-momentum-1", lambda t: experiments.RunConfig(momentum=1.0).validate(), ValueError,
     "momentum"),
    ("RunConfig-lr-gamma-2", lambda t: experiments.RunConfig(lr_gamma=2.0).validate(),
     ValueError, "lr_gamma"),
    ("loss-empty-batch", lambda t: ttnn.SoftmaxCrossEntropy()(np.zeros((0, 10), np.float32),
                                                             np.zeros(0, np.int64)),
     ValueError, "logits"),
    ("Row-epochs-0", lambda t: experiments.Row("r", "conv", experiments.RunConfig(), 0),
     ValueError, "epochs"),
    ("Row-config-dict", lambda t: experiments.Row("r", "conv", {"model": "conv"}, 1), TypeError,
     "config"),
    ("get_suite-unknown", lambda t: experiments.get_suite("nope"), ValueError, "suite"),
    ("cli-reproduce-only-unknown", lambda t: cli("reproduce", "--list", "--no-estimate",
                                                 "--only", "nope"), CommandError, "nope"),
    ("cli-reproduce-suite-unknown", lambda t: cli("reproduce", "--suite", "nope", "--list"),
     CommandError, "suite"),
    ("cli-reproduce-out-empty", lambda t: cli("reproduce", "--out", "", "--list"), UsageError,
     "--out"),
    ("cli-reproduce-list-and-report", lambda t: cli("reproduce", "--list", "--report"),
     UsageError, "--report"),
    ("cli-demo-other-run", lambda t: cli("demo", "--out", str(other_run_directory(t)),
                                         "--no-progress"), CommandError,
     ("--out", "not a previous demo")),
    # ---------------- ttnet.exercises
    ("exercises-check-unknown-name", lambda t: exercises.check("tt_svdd", len), ValueError,
     ("name", "tt_svdd", "tt_svd")),
    ("exercises-check-name-not-str", lambda t: exercises.check(3, len), TypeError, "name"),
    ("exercises-check-func-not-callable", lambda t: exercises.check("tt_svd", "my_tt_svd"),
     TypeError, "func"),
    ("exercises-check-verbose-str", lambda t: exercises.check("tt_svd", len, verbose="no"),
     TypeError, "verbose"),
    ("exercises-list-verbose-int", lambda t: exercises.list_exercises(verbose=1), TypeError,
     "verbose"),
    ("tt_normal_std-variance-0", lambda t: ttnn.init.tt_normal_std([(1, 2, 1)], 0.0), ValueError,
     "variance"),
    ("tt_normal_std-no-shapes", lambda t: ttnn.init.tt_normal_std([], 1.0), ValueError,
     "core_shapes"),
]


@pytest.mark.parametrize("call, exc, expected", [pytest.param(c, e, m, id=i)
                                                  for i, c, e, m in CASES])
def test_bad_input_is_answered_with_a_clear_error(call, exc, expected, tmp_path):
    with pytest.raises(exc) as info:
        call(tmp_path)
    message = str(info.value)
    if expected is str:             # only the type is fixed (an OS-dependent message)
        assert message
        return
    for part in (expected,) if isinstance(expected, str) else expected:
        assert part in message, f"{part!r} not in the message: {message}"
    assert "Traceback" not in message


def test_the_table_is_large_and_its_ids_are_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 150
