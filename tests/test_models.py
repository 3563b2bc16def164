"""The model zoo: architectures, parameter counts of the paper, ranks, width, summary."""

import io
import math
import warnings

import numpy as np
import pytest

import ttnet._checks
from ttnet import models
from ttnet.gradcheck import check_module
from ttnet.models import (MODEL_NAMES, CompressionWarning, _dense_twin_params, build,
                          channel_modes, summary)
from ttnet.nn.layers import Conv2d, Dropout, Linear, ReLU, Sequential
from ttnet.nn.losses import SoftmaxCrossEntropy
from ttnet.nn.tt_layers import NaiveTTConv2d, TTConv2d, TTLinear

PAPER_RANKS = [(22, 20, 20), (27, 22, 22), (23, 23, 23), (23, 23, 23), (23, 23, 23)]


def test_baselines_have_the_papers_parameter_counts():
    # docs/paper.md: 557,248 (conv) and 13,934,538 (conv-fc), BatchNorm included
    assert build("conv", rng=0).n_params == 557_248
    assert build("conv-fc", rng=0).n_params == 13_934_538


@pytest.mark.parametrize("name, kwargs, expected", [
    ("tt-conv", dict(conv_ranks=PAPER_RANKS), 3.23),       # the paper's third TT-conv row
    ("tt-conv-tt-fc", dict(), 41.65),                       # ranks 16 / 40, 30: the paper's 41.65x
])
def test_compression_matches_the_paper(name, kwargs, expected):
    s = summary(build(name, rng=0, **kwargs), (3, 32, 32), verbose=False)
    assert round(s.compression, 2) == expected


def test_layer_types_follow_the_names():
    for name in MODEL_NAMES:
        model = build(name, rng=0)
        convs = [m for m in model.children() if isinstance(m, (Conv2d, TTConv2d, NaiveTTConv2d))]
        assert len(convs) == 6 and isinstance(convs[0], Conv2d)
        expected = {"tt": TTConv2d, "na": NaiveTTConv2d}.get(name[:2], Conv2d)
        assert all(type(c) is expected for c in convs[1:]), name
        fcs = [m for m in model.children() if isinstance(m, (Linear, TTLinear))]
        assert len(fcs) == (3 if name.endswith("fc") else 1)
        if name.endswith("tt-fc"):
            assert [type(f) for f in fcs] == [TTLinear, TTLinear, Linear]
            assert (fcs[0].in_modes, fcs[0].out_modes) == ((8, 8, 8, 16), (4, 6, 8, 8))
            assert fcs[1].out_modes == (4, 4, 4, 8)
        assert all("bias" not in c.params for c in convs)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("channels", [1, 3])
def test_every_model_maps_images_to_logits(name, channels):
    model = build(name, input_shape=(channels, 32, 32), num_classes=7, width=0.125,
                  conv_ranks=2 if "tt-conv" in name else None,
                  fc_ranks=2 if name.endswith("tt-fc") else None, rng=0)
    x = np.random.default_rng(0).standard_normal((3, channels, 32, 32)).astype(np.float32)
    y = model.forward(x)
    assert y.shape == (3, 7) and y.dtype == np.float32
    assert model.backward(np.ones_like(y)).shape == x.shape


def test_width_scales_channels_and_picks_modes():
    with pytest.warns(CompressionWarning):        # rank 16 is too large for 16 -> 16 channels
        model = build("tt-conv", width=0.25, rng=0)
    tt = [m for m in model.children() if isinstance(m, TTConv2d)]
    assert tt[0].in_channels == 16 and tt[1].out_channels == 32
    assert tt[0].in_modes == channel_modes(16, 3) == (2, 2, 4)
    assert channel_modes(128, 3) == (4, 8, 4) and channel_modes(8192, 4) == (8, 8, 8, 16)


def test_ranks_per_layer():
    model = build("tt-conv-tt-fc", conv_ranks=PAPER_RANKS, fc_ranks=[(5, 6, 7), 3], rng=0)
    tt = [m for m in model.children() if isinstance(m, TTConv2d)]
    assert [t.ranks[1:-1] for t in tt] == PAPER_RANKS
    fcs = [m for m in model.children() if isinstance(m, TTLinear)]
    assert fcs[0].ranks == (1, 5, 6, 7, 1) and fcs[1].ranks == (1, 3, 3, 3, 1)


def test_seed_reproduces_the_network():
    a, b = build("tt-conv", width=0.25, rng=3, conv_ranks=4), build("tt-conv", width=0.25, rng=3,
                                                                     conv_ranks=4)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


def test_tiny_network_passes_an_end_to_end_gradient_check():
    model = build("tt-conv-tt-fc", input_shape=(1, 8, 8), width=1 / 32, conv_ranks=2,
                  fc_ranks=2, dtype=np.float64, rng=0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 1, 8, 8))
    result = check_module(model, x, loss=SoftmaxCrossEntropy(), labels=rng.integers(0, 10, 4),
                          max_entries=5, rng=0)
    assert result.passed(1e-6), str(result)


def test_summary_prints_shapes_and_compression():
    out = io.StringIO()
    s = summary(build("tt-conv", rng=0), (3, 32, 32), file=out)
    text = out.getvalue()
    assert "(128, 4, 4)" in text and "compression: 6.32x" in text
    assert s.n_params == 88_208 and s.dense_params == 557_248


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(name="vgg"), ValueError, "name must be one of conv, conv-fc"),
    (dict(name="conv", conv_ranks=4), ValueError, "conv_ranks is only used by models with TT-conv"),
    (dict(name="tt-conv", fc_ranks=4), ValueError, "fc_ranks is only used by models with TT-FC"),
    (dict(name="tt-conv", conv_ranks=[4, 4]), ValueError, "conv_ranks must be one int or 5 tuples"),
    (dict(name="tt-conv", conv_ranks=[(4, 4)] * 5), ValueError, r"conv_ranks\[0\] must have 3 entries"),
    (dict(name="tt-conv", conv_ranks=0), ValueError, "conv_ranks must be >= 1"),
    (dict(name="conv", width=0), ValueError, "width must be > 0"),
    (dict(name="conv", input_shape=(3, 32)), ValueError, "input_shape must have 3 entries"),
    (dict(name="conv", input_shape=(3, 16, 16)), ValueError, "too small"),
    (dict(name="conv", num_classes=1), ValueError, "num_classes must be >= 2"),
])
def test_bad_arguments_are_rejected(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        build(**kwargs)


def test_summary_rejects_non_sequential():
    with pytest.raises(TypeError, match="model must be a ttnet.nn.Sequential"):
        summary(Linear(2, 2), (2,))


CONFIGS = [(name, kwargs) for name in MODEL_NAMES for kwargs in (
    dict(), dict(width=0.125, input_shape=(1, 32, 32), num_classes=7,
                 conv_ranks=3 if "tt-conv" in name else None,
                 fc_ranks=[(2, 3, 4), 5] if name.endswith("tt-fc") else None))]


@pytest.mark.parametrize("name, kwargs", CONFIGS)
def test_arithmetic_counts_and_shapes_match_the_built_network(name, kwargs):
    # build() counts parameters before allocating and summary() infers shapes without running
    # the network: both must agree with the layers actually built and a real forward pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompressionWarning)
        model = build(name, rng=0, **kwargs)
    shape = kwargs.get("input_shape", (3, 32, 32))
    s = summary(model, shape, verbose=False)
    assert s.n_params == model.n_params == sum(p.size for p in model.params.values())
    model.eval()
    x = np.zeros((2, *shape), dtype=np.float32)
    for layer, (_, kind, out_shape, n, dense) in zip(model.children(), s.rows):
        x = layer.forward(x)
        assert out_shape == x.shape[1:], kind
        weight = getattr(layer, "weight", None)
        if callable(weight):                       # dense twin: the reconstructed weight's size
            bias = layer.params["bias"].size if "bias" in layer.params else 0
            assert dense == weight().size + bias, kind


def test_summary_of_a_wide_tt_network_never_forms_the_dense_weights():
    # width 1000: the TT network has 9.4 million parameters, its dense twin 5.5e11 (2.2 TB in
    # float32), counted from the sizes
    model = build("tt-conv", width=1000, rng=0)
    s = summary(model, (3, 32, 32), verbose=False)
    c64, c128 = 64_000, 128_000
    assert s.dense_params == (3 * c64 * 9 + c64 * c64 * 9 + c64 * c128 * 9 + 3 * c128 * c128 * 9
                              + 2 * (2 * c64) + 4 * (2 * c128) + c128 * 10)
    assert s.n_params == model.n_params


def test_summary_runs_a_forward_pass_only_for_unknown_layers():
    class Doubler(ReLU):
        pass

    class Widen(Dropout):   # a custom layer: its shape comes from a forward pass
        def forward(self, x):
            return np.concatenate([x, x], axis=1)

    model = Sequential(Linear(3, 4, rng=0), Widen(0.0), Doubler(), Linear(8, 2, rng=0))
    s = summary(model, (3,), verbose=False)
    assert [row[2] for row in s.rows] == [(4,), (8,), (8,), (2,)]
    with pytest.raises(ValueError, match=r"input_shape \(5,\) does not fit this model: layer 0 "
                                         r"\(Linear\): it expects 3 features"):
        summary(model, (5,), verbose=False)


def test_oversized_ranks_warn_with_both_parameter_counts():
    # the example: ranks 100 at width 0.25 give "compression 0.04x"
    with pytest.warns(CompressionWarning) as record:
        model = build("tt-conv", width=0.25, conv_ranks=100, rng=0)
    text = str(record[0].message)
    assert len(record) == 1
    layer3 = model[3]
    n, dense = layer3.n_params, _dense_twin_params(layer3)
    assert n > dense
    assert f"layer 3, TTConv2d 16 -> 16 channels, ranks (100, 100, 100) (conv_ranks=100): " \
           f"{n:,} parameters, its dense twin {dense:,}" in text
    assert text.count("\n  layer ") == 5          # all five TT-conv layers
    with pytest.warns(CompressionWarning, match=r"fc_ranks=\[1000, 2\]"):
        build("conv-tt-fc", fc_ranks=[1000, 2], width=0.125, rng=0)


@pytest.mark.parametrize("name, kwargs", [
    ("tt-conv", dict()), ("tt-conv-tt-fc", dict()), ("naive-tt-conv", dict(conv_ranks=16)),
    ("tt-conv", dict(conv_ranks=PAPER_RANKS)), ("tt-conv", dict(width=0.25, conv_ranks=8)),
])
def test_compressing_ranks_do_not_warn(name, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompressionWarning)
        build(name, rng=0, **kwargs)


def test_networks_too_large_for_memory_are_refused_before_allocating(monkeypatch):
    # conv-fc has 13,934,538 parameters (the paper's count): 8 bytes each with their float32
    # gradients. One byte less memory than that is refused with the exact count.
    need = 8 * 13_934_538
    monkeypatch.setattr(ttnet._checks, "memory_bytes", lambda: need - 1)
    with pytest.raises(ValueError, match=r"'conv-fc' with width=1, input_shape=\(3, 32, 32\) "
                                         r"would have 13,934,538 parameters: 0.1115 GB"):
        build("conv-fc", rng=0)
    monkeypatch.setattr(ttnet._checks, "memory_bytes", lambda: need)
    assert build("conv-fc", rng=0).n_params == 13_934_538
    # a partial count when the network is refused before its last layer
    monkeypatch.setattr(ttnet._checks, "memory_bytes", lambda: 300_000)   # < 8 · 38,720
    with pytest.raises(ValueError, match=r"\(in its first 4 layers\) would have at least "
                                         r"38,720 parameters"):
        build("conv", rng=0)
    assert 3 * 64 * 9 + 2 * 64 + 64 * 64 * 9 == 38_720      # conv, BatchNorm, (ReLU), conv


def test_absurd_sizes_are_refused_without_running_out_of_memory():
    for kwargs, part in ((dict(name="tt-conv", conv_ranks=10 ** 10), "conv_ranks=10000000000"),
                         (dict(name="conv", width=1000), "width=1000"),
                         (dict(name="conv-fc", input_shape=(3, 10 ** 5, 10 ** 5)),
                          "input_shape=(3, 100000, 100000)")):
        with pytest.raises(ValueError, match="parameters") as info:
            build(**kwargs)
        assert part in str(info.value) and "memory" in str(info.value)
    assert math.prod((10 ** 10,) * 2) > ttnet._checks.memory_bytes()


def test_model_parts_says_which_rank_options_a_model_takes():
    assert models.model_parts("conv") == (False, False, False)
    assert models.model_parts("naive-tt-conv") == models.ModelParts(False, True, False)
    assert models.model_parts("conv-tt-fc") == models.ModelParts(True, False, True)
    assert models.model_parts("tt-conv-tt-fc").tt_conv
    with pytest.raises(ValueError, match="name must be one of"):
        models.model_parts("resnet")


def test_each_entry_of_the_architecture_table_is_the_network_built():
    """Conv and Hidden become three layers (with BatchNorm and ReLU), the other specs one."""
    layer_of = {models.Conv: {"dense": "Conv2d", "tt": "TTConv2d", "naive-tt": "NaiveTTConv2d"},
                models.Hidden: {"dense": "Linear", "tt": "TTLinear"}}
    plain = {models.Pool: "MaxPool2d", models.GlobalPool: "GlobalAvgPool2d",
             models.Flat: "Flatten", models.Classifier: "Linear"}
    assert models.MODEL_NAMES == tuple(models.ARCHITECTURES)
    for name, specs in models.ARCHITECTURES.items():
        expected = []
        for spec in specs:
            if type(spec) in layer_of:
                norm = "BatchNorm2d" if isinstance(spec, models.Conv) else "BatchNorm1d"
                expected += [layer_of[type(spec)][spec.kind], norm, "ReLU"]
            else:
                expected.append(plain[type(spec)])
        parts = models.model_parts(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", models.CompressionWarning)
            net = models.build(name, input_shape=(1, 32, 32), width=0.125, rng=0,
                               conv_ranks=2 if parts.tt_conv else None,
                               fc_ranks=2 if parts.tt_fc else None)
        assert [type(layer).__name__ for layer in net.children()] == expected, name
