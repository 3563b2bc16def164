"""ONNX export checked with ONNX Runtime: every layer type of ttnet.models, float and int8."""

import os
import sys

import numpy as np
import pytest

from ttnet import models
from ttnet.export import SUPPORTED_LAYERS, export_onnx, tt_einsum_equation
from ttnet.nn import Linear, Module, NaiveTTConv2d, Sequential, TTConv2d, TTLinear
from ttnet.quant import model_size, ptq, qat_model

from ..helpers import small_data

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

SHAPE = (1, 20, 20)


def _model(name, seed=0):
    """A small network with non-trivial BatchNorm statistics, biases and γ (eval mode)."""
    kw = {}
    if "tt-conv" in name:
        kw["conv_ranks"] = 2
    if name.endswith("tt-fc"):
        kw["fc_ranks"] = 2
    net = models.build(name, input_shape=SHAPE, width=0.125, rng=seed, **kw)
    r = np.random.default_rng(seed + 1)
    for n, b in net.buffers.items():
        b[...] = r.uniform(0.5, 1.5, b.shape) if n.endswith("var") else 0.1 * r.standard_normal(
            b.shape)
    for n, p in net.params.items():
        if n.endswith(("beta", "bias")):
            p[...] = 0.1 * r.standard_normal(p.shape)
        elif n.endswith("gamma"):
            p[...] = r.uniform(0.5, 1.5, p.shape)
    return net.eval()


def _run(path, x):
    return ort.InferenceSession(str(path)).run(None, {"input": x})[0]


def _rel(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("name", models.MODEL_NAMES)
def test_float_export_matches_ttnet_logits(name, tmp_path):
    net = _model(name)
    x = np.random.default_rng(2).standard_normal((6, *SHAPE)).astype(np.float32)
    path = tmp_path / "m.onnx"
    info = export_onnx(net, path, SHAPE)
    out = _run(path, x)
    ref = net(x)
    assert out.shape == ref.shape and np.abs(ref).max() > 0.1
    assert _rel(out, ref) < 1e-4
    assert info["file_bytes"] == os.path.getsize(path)
    counted = model_size(net, inference=True).total
    assert info["counted_bytes"] == counted
    assert abs(info["file_bytes"] - counted) < 20 * 1024


@pytest.mark.parametrize("name", ["tt-conv", "naive-tt-conv", "conv-tt-fc", "tt-conv-tt-fc",
                                  "conv-fc"])
def test_int8_export_agrees_with_the_quantized_ttnet_model(name, tmp_path):
    net = _model(name)
    x = np.random.default_rng(3).standard_normal((32, *SHAPE)).astype(np.float32)
    path = tmp_path / "q.onnx"
    info = export_onnx(net, path, SHAPE, bits=8)
    out = _run(path, x)
    quantized = ptq(net, 8)
    ref = quantized(x)
    assert _rel(out, ref) < 1e-4              # the same integers and scales
    np.testing.assert_array_equal(out.argmax(1), ref.argmax(1))
    assert abs(info["file_bytes"] - model_size(net, 8, inference=True).total) < 20 * 1024
    # the TT cores are stored as int8 initializers, dequantized in the graph
    graph = onnx.load(str(path)).graph
    ops = {n.op_type for n in graph.node}
    assert "DequantizeLinear" in ops
    int8 = [t for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    n_cores = sum(len(layer.cores) for layer in net.layers if hasattr(layer, "cores"))
    assert len(int8) >= n_cores


def test_tt_layers_stay_factored_in_the_file(tmp_path):
    net = _model("tt-conv-tt-fc")
    path = tmp_path / "m.onnx"
    export_onnx(net, path, SHAPE)
    graph = onnx.load(str(path)).graph
    shapes = [tuple(t.dims) for t in graph.initializer]
    tt_layers = [layer for layer in net.layers if hasattr(layer, "cores")]
    for layer in tt_layers:
        assert layer.weight().shape not in shapes               # no dense TT weight stored
        for core in layer.cores:
            assert core.shape in shapes                         # the cores are
    stored = sum(int(np.prod(t.dims)) for t in graph.initializer)
    dense_weights = [layer.weight().size for layer in tt_layers]
    assert stored < sum(dense_weights) / 5
    assert sum(n.op_type == "Einsum" for n in graph.node) == len(dense_weights)


@pytest.mark.parametrize("layer", [
    TTLinear((2, 3, 2), (3, 2, 2), (3, 2), rng=0),
    TTConv2d((2, 2), (3, 2), (2, 3), 3, rng=0),
    NaiveTTConv2d(3, 5, (2, 3, 2), 3, rng=0),
])
def test_einsum_equation_rebuilds_the_weight(layer):
    equation, shape = tt_einsum_equation(layer)
    np.testing.assert_allclose(np.einsum(equation, *layer.cores).reshape(shape), layer.weight(),
                               rtol=1e-5, atol=1e-6)


def test_normalizer_in_the_graph(tmp_path):
    net = _model("tt-conv")
    raw = np.random.default_rng(4).uniform(0, 255, (3, *SHAPE)).astype(np.float32)
    path = tmp_path / "n.onnx"
    export_onnx(net, path, SHAPE, normalizer={"mean": [72.9], "std": [90.0]})
    assert _rel(_run(path, raw), net((raw - 72.9) / 90.0)) < 1e-4


def test_unsupported_layers_and_bad_bits_are_refused(tmp_path):
    class Custom(Module):
        def forward(self, x):
            return x

    with pytest.raises(ValueError, match="does not support: layer 1, Custom"):
        export_onnx(Sequential(Linear(4, 2), Custom()), tmp_path / "x.onnx", (4, 1, 1))
    with pytest.raises(ValueError, match="QuantizedLayer"):
        export_onnx(qat_model(Sequential(Linear(4, 2)), 8), tmp_path / "x.onnx", (4, 1, 1))
    with pytest.raises(ValueError, match="bits must be None .* or 8"):
        export_onnx(Sequential(Linear(4, 2)), tmp_path / "x.onnx", (4, 1, 1), bits=4)
    assert not (tmp_path / "x.onnx").exists()
    assert Custom not in SUPPORTED_LAYERS


def test_cli_export_round_trip(tmp_path, monkeypatch, capsys):
    from ttnet.cli import main
    from ttnet.experiments import load_model

    real_load = small_data(monkeypatch, 100)
    run = tmp_path / "run"
    assert main(["train", "--model", "tt-conv", "--width", "0.125", "--ranks", "2", "--subset",
                 "100", "--batch-size", "50", "--no-progress", "--epochs", "1", "--out",
                 str(run)]) == 0
    ckpt = run / "last.npz"
    loaded = load_model(ckpt)
    model, cfg = loaded["model"].eval(), loaded["config"]
    test = real_load("fashion-mnist-mini", "test").subset(np.arange(50))
    mean = np.asarray(cfg["normalizer"]["mean"], dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(cfg["normalizer"]["std"], dtype=np.float32).reshape(-1, 1, 1)
    raw = test.images.astype(np.float32)
    for bits in (None, 8):
        out = tmp_path / f"m{bits}.onnx"
        argv = ["export", "--checkpoint", str(ckpt), "--onnx", str(out), "--normalize"]
        assert main(argv + ([] if bits is None else ["--bits", "8"])) == 0
        ref = (model if bits is None else ptq(model, 8))((raw - mean) / std)
        got = _run(out, raw)
        assert _rel(got, ref) < 1e-4
    capsys.readouterr()
    qfile = tmp_path / "q.npz"
    assert main(["quantize", "--checkpoint", str(ckpt), "--bits", "8", "--out", str(qfile)]) == 0
    assert main(["export", "--checkpoint", str(qfile), "--onnx", str(tmp_path / "q.onnx")]) == 1
    assert "is a quantized weights file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["export", "--checkpoint", str(ckpt), "--onnx", "x.onnx", "--bits", "4"])
    assert info.value.code == 2
    assert "--bits" in capsys.readouterr().err


def test_cli_export_without_onnx_names_the_extra(tmp_path, monkeypatch, capsys):
    from ttnet.cli import main

    monkeypatch.setitem(sys.modules, "onnx", None)       # import onnx now raises ImportError
    assert main(["export", "--checkpoint", str(tmp_path / "c.npz"), "--onnx",
                 str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert "ttnet[deploy]" in err and "onnx" in err
