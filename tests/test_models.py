"""The model zoo: architectures, parameter counts of the paper, ranks, width, summary."""

import io

import numpy as np
import pytest

from ttnet.gradcheck import check_module
from ttnet.models import MODEL_NAMES, build, channel_modes, summary
from ttnet.nn.layers import Conv2d, Linear
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
    a, b = build("tt-conv", width=0.25, rng=3), build("tt-conv", width=0.25, rng=3)
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
