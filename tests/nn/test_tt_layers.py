"""TT layers: gradient checks, dense twins, both TT-conv algorithms, compression, init, errors."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from ttnet.gradcheck import check_module
from ttnet.nn import functional as F
from ttnet.nn import tt_functional as TF
from ttnet.nn.layers import Conv2d, Linear
from ttnet.nn.tt_layers import NaiveTTConv2d, TTConv2d, TTLinear
from ttnet.ops.kernel_layouts import naive_tensor_to_kernel, tt_to_conv_kernel
from ttnet.tt import AccuracyWarning, TTMatrix, TTTensor, achievable_eps

from ..helpers import rel_err

TOL = 1e-7


@st.composite
def channel_modes(draw, max_d=4):
    """d = 1..4 pairs of modes (input, output) with small products."""
    d = draw(st.integers(1, max_d))
    cap = 3 if d <= 2 else 2
    in_modes = tuple(draw(st.lists(st.integers(1, cap), min_size=d, max_size=d)))
    out_modes = tuple(draw(st.lists(st.integers(1, cap), min_size=d, max_size=d)))
    return in_modes, out_modes


@st.composite
def conv_geometry(draw):
    """Kernel 1..5, stride 1..3, padding 0..2 and an input at least as large as the kernel."""
    l = draw(st.integers(1, 5))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, min(2, l - 1)))
    low = max(1, l - 2 * padding)
    H = draw(st.integers(low, low + 3))
    W = draw(st.integers(low, low + 4))
    return l, stride, padding, H, W


def _perturb_params(layer, rng):
    """Random non-zero biases so their gradients are checked on generic values."""
    if "bias" in layer.params:
        layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)


# ---------------------------------------------------------------- TTLinear
@given(modes=channel_modes(), r=st.integers(1, 3), batch=st.integers(1, 3),
       algorithm=st.sampled_from(["full", "sequential"]), bias=st.booleans(),
       seed=st.integers(0, 1000))
def test_tt_linear_gradients_and_dense_twin(modes, r, batch, algorithm, bias, seed):
    in_modes, out_modes = modes
    rng = np.random.default_rng(seed)
    layer = TTLinear(in_modes, out_modes, r, bias=bias, dtype=np.float64, rng=rng,
                     algorithm=algorithm)
    _perturb_params(layer, rng)
    x = rng.standard_normal((batch, layer.in_features))
    result = check_module(layer, x, max_entries=40, rng=seed)
    assert result.passed(TOL), str(result)
    # the dense layer built from weight(): same output and input gradient
    W = layer.weight()
    assert W.shape == (layer.out_features, layer.in_features)
    y = layer.forward(x)
    y_dense, cache = F.linear_forward(x, W, layer.params.get("bias"))
    assert rel_err(y, y_dense) < 1e-12
    g = rng.standard_normal(y.shape)
    assert rel_err(layer.backward(g), F.linear_backward(g, cache)[0]) < 1e-12


def test_tt_linear_algorithms_agree(rng):
    layer = TTLinear((2, 3, 4), (4, 3, 2), (3, 4), dtype=np.float64, rng=rng)
    _perturb_params(layer, rng)
    x = rng.standard_normal((5, 24))
    g = rng.standard_normal((5, 24))
    results = {}
    for algorithm in ("full", "sequential"):
        layer.algorithm = algorithm
        y = layer.forward(x)
        dx = layer.backward(g)
        results[algorithm] = (y, dx, {k: v.copy() for k, v in layer.grads.items()})
    (y1, dx1, g1), (y2, dx2, g2) = results["full"], results["sequential"]
    assert rel_err(y1, y2) < 1e-13 and rel_err(dx1, dx2) < 1e-13
    assert all(rel_err(g1[k], g2[k]) < 1e-12 for k in g1)


# ---------------------------------------------------------------- TTConv2d
@given(modes=channel_modes(), r=st.integers(1, 3), geom=conv_geometry(),
       algorithm=st.sampled_from(["full", "sequential", "separable"]), bias=st.booleans(),
       seed=st.integers(0, 1000))
def test_tt_conv_gradients_and_dense_twin(modes, r, geom, algorithm, bias, seed):
    in_modes, out_modes = modes
    l, stride, padding, H, W = geom
    rng = np.random.default_rng(seed)
    layer = TTConv2d(in_modes, out_modes, r, l, stride, padding, bias=bias,
                     algorithm=algorithm, dtype=np.float64, rng=rng)
    _perturb_params(layer, rng)
    x = rng.standard_normal((2, layer.in_channels, H, W))
    result = check_module(layer, x, max_entries=30, rng=seed)
    assert result.passed(TOL), str(result)
    K = layer.weight()
    assert K.shape == (layer.out_channels, layer.in_channels, l, l)
    y = layer.forward(x)
    y_dense, cache = F.conv2d_forward(x, K, layer.params.get("bias"), stride, padding)
    assert rel_err(y, y_dense) < 1e-12
    g = rng.standard_normal(y.shape)
    assert rel_err(layer.backward(g), F.conv2d_backward(g, cache)[0]) < 1e-12


@given(modes=channel_modes(), ranks=st.lists(st.integers(1, 4), min_size=4,
                                                           max_size=4),
       geom=conv_geometry(), seed=st.integers(0, 1000))
def test_the_three_tt_conv_algorithms_agree(modes, ranks, geom, seed):
    in_modes, out_modes = modes
    l, stride, padding, H, W = geom
    rng = np.random.default_rng(seed)
    layer = TTConv2d(in_modes, out_modes, ranks[:len(in_modes)], l, stride, padding,
                     dtype=np.float64, rng=rng)
    _perturb_params(layer, rng)
    x = rng.standard_normal((3, layer.in_channels, H, W))
    outputs = {}
    for algorithm in ("full", "sequential", "separable"):
        layer.algorithm = algorithm
        y = layer.forward(x)
        g = np.random.default_rng(seed).standard_normal(y.shape)
        dx = layer.backward(g)
        outputs[algorithm] = (y, dx, {k: v.copy() for k, v in layer.grads.items()})
    y1, dx1, g1 = outputs["full"]
    for algorithm in ("sequential", "separable"):
        y2, dx2, g2 = outputs[algorithm]
        assert rel_err(y2, y1) < 1e-12 and rel_err(dx2, dx1) < 1e-12, algorithm
        for k in g1:
            assert rel_err(g2[k], g1[k]) < 1e-11, (algorithm, k)


def test_one_by_one_tt_conv_is_a_tt_fc_over_channels(rng):
    conv = TTConv2d((2, 3), (3, 2), (1, 4), kernel_size=1, dtype=np.float64, rng=rng)
    _perturb_params(conv, rng)
    # the 1x1 spatial core is a (1, 1, 1, r_0) scalar row; with r_0 = 1 it is one number,
    # which folds into the first channel core of the equivalent TT-FC layer
    fc = TTLinear((2, 3), (3, 2), 4, dtype=np.float64, rng=rng)
    fc.params["core0"][...] = conv.params["core1"] * conv.params["core0"].item()
    fc.params["core1"][...] = conv.params["core2"]
    fc.params["bias"][...] = conv.params["bias"]
    x = rng.standard_normal((2, 6, 4, 5))
    rows = x.transpose(0, 2, 3, 1).reshape(-1, 6)          # every pixel is a sample
    for algorithm in ("full", "sequential", "separable"):
        conv.algorithm, fc.algorithm = algorithm, "full" if algorithm == "separable" else algorithm
        y = conv.forward(x)
        y_fc = fc.forward(rows).reshape(2, 4, 5, 6).transpose(0, 3, 1, 2)
        assert rel_err(y, y_fc) < 1e-13
        g = rng.standard_normal(y.shape)
        dx = conv.backward(g)
        dx_fc = fc.backward(g.transpose(0, 2, 3, 1).reshape(-1, 6))
        assert rel_err(dx, dx_fc.reshape(2, 4, 5, 6).transpose(0, 3, 1, 2)) < 1e-13


# ---------------------------------------------------------------- NaiveTTConv2d
@given(C=st.integers(1, 4), S=st.integers(1, 4), ranks=st.lists(st.integers(1, 3), min_size=3,
                                                                  max_size=3),
       geom=conv_geometry(), bias=st.booleans(), seed=st.integers(0, 1000))
def test_naive_tt_conv_gradients_and_dense_twin(C, S, ranks, geom, bias, seed):
    l, stride, padding, H, W = geom
    rng = np.random.default_rng(seed)
    layer = NaiveTTConv2d(C, S, ranks, l, stride, padding, bias=bias, dtype=np.float64, rng=rng)
    _perturb_params(layer, rng)
    x = rng.standard_normal((2, C, H, W))
    result = check_module(layer, x, max_entries=30, rng=seed)
    assert result.passed(TOL), str(result)
    K = layer.weight()
    assert K.shape == (S, C, l, l)
    y_dense = F.conv2d_forward(x, K, layer.params.get("bias"), stride, padding)[0]
    assert rel_err(layer.forward(x), y_dense) < 1e-12


# ---------------------------------------------------------------- compression of dense layers
def test_from_linear_reproduces_and_bounds_the_error(rng):
    dense = Linear(24, 12, dtype=np.float64, rng=rng)
    dense.params["bias"][...] = rng.standard_normal(12)
    exact = TTLinear.from_linear(dense, (2, 3, 4), (2, 3, 2), eps=1e-12)
    assert rel_err(exact.weight(), dense.weight()) < 1e-12
    x = rng.standard_normal((3, 24))
    assert rel_err(exact.forward(x), dense.forward(x)) < 1e-12
    loose = TTLinear.from_linear(dense, (2, 3, 4), (2, 3, 2), eps=0.3)
    assert rel_err(loose.weight(), dense.weight()) <= 0.3
    assert loose.n_params < exact.n_params
    capped = TTLinear.from_linear(dense, (2, 3, 4), (2, 3, 2), max_rank=2)
    assert max(capped.ranks) <= 2
    assert np.array_equal(capped.params["bias"], dense.params["bias"])


def test_from_conv_reproduces_and_bounds_the_error(rng):
    dense = Conv2d(8, 12, 3, stride=2, padding=1, dtype=np.float64, rng=rng)
    dense.params["bias"][...] = rng.standard_normal(12)
    x = rng.standard_normal((2, 8, 7, 6))
    exact = TTConv2d.from_conv(dense, (2, 4), (3, 4), eps=1e-12)
    assert (exact.stride, exact.padding) == ((2, 2), (1, 1))
    assert rel_err(exact.weight(), dense.weight()) < 1e-12
    assert rel_err(exact.forward(x), dense.forward(x)) < 1e-12
    assert rel_err(TTConv2d.from_conv(dense, (2, 4), (3, 4), eps=0.3).weight(),
                   dense.weight()) <= 0.3
    naive = NaiveTTConv2d.from_conv(dense, eps=1e-12)
    assert rel_err(naive.weight(), dense.weight()) < 1e-12
    assert rel_err(naive.forward(x), dense.forward(x)) < 1e-12
    assert rel_err(NaiveTTConv2d.from_conv(dense, eps=0.3).weight(), dense.weight()) <= 0.3
    assert NaiveTTConv2d.from_conv(dense, max_rank=2).ranks == (1, 2, 2, 2, 1)


# ---------------------------------------------------------------- compression in float32: the eps bound
def _with_noise(dense, noise, rng):
    """float32 ``dense`` plus Gaussian noise of relative Frobenius norm ``noise``."""
    N = rng.standard_normal(dense.shape)
    return (dense + noise * np.linalg.norm(dense) / np.linalg.norm(N) * N).astype(np.float32)


@pytest.mark.parametrize("eps", [2e-4, 1e-3])
def test_from_linear_float32_meets_the_bound_on_the_paper_fc_first_unfolding(eps):
    # modes (8, 1024) -> (4, 384): TT-SVD sees the 32 x 393216 first unfolding of the paper's
    # 8192 -> 1536 layer, here rank 5 plus 1e-3 noise (a floor of 4.2e-4 used to break eps = 2e-4)
    rng = np.random.default_rng(0)
    M = rng.standard_normal((32, 5)) @ rng.standard_normal((5, 393216))
    W = _with_noise(M, 1e-3, rng).reshape(4, 8, 384, 1024).transpose(0, 2, 1, 3).reshape(1536, 8192)
    dense = Linear(8192, 1536, dtype=np.float32, rng=0)
    dense.params["weight"][...] = W
    layer = TTLinear.from_linear(dense, (8, 1024), (4, 384), eps=eps)
    assert layer.params["core0"].dtype == np.float32
    cores64 = [c.astype(np.float64) for c in layer.cores]
    assert rel_err(TTMatrix(cores64).full(), W) <= eps


def test_from_conv_float32_meets_the_bound_on_a_long_unfolding():
    # 512 -> 512 channels as single modes: TT-SVD sees the 9 x 262144 unfolding, here rank 3
    # plus 2e-4 noise (a floor of u sqrt(mn) = 1.8e-4 used to break eps = 1e-4)
    rng = np.random.default_rng(1)
    low = TTMatrix([rng.standard_normal((1, 1, 9, 3)), rng.standard_normal((3, 512, 512, 1))])
    K = _with_noise(tt_to_conv_kernel(low), 2e-4, rng)
    conv = Conv2d(512, 512, 3, padding=1, bias=False, dtype=np.float32, rng=0)
    conv.params["weight"][...] = K
    layer = TTConv2d.from_conv(conv, (512,), (512,), eps=1e-4)
    assert layer.params["core0"].dtype == np.float32
    cores64 = [c.astype(np.float64) for c in layer.cores]
    assert rel_err(tt_to_conv_kernel(TTMatrix(cores64)), K) <= 1e-4


def test_naive_from_conv_float32_meets_the_bound_on_a_long_unfolding():
    # the naive (3, 3, 128, 128) tensor: first unfolding 3 x 49152, TT-ranks 2 plus 1e-4 noise
    rng = np.random.default_rng(2)
    low = TTTensor.random((3, 3, 128, 128), 2, rng=rng).full()
    K = _with_noise(naive_tensor_to_kernel(low), 1e-4, rng)
    conv = Conv2d(128, 128, 3, dtype=np.float32, rng=0)
    conv.params["weight"][...] = K
    for eps in (3e-5, 1e-3):
        layer = NaiveTTConv2d.from_conv(conv, eps=eps)
        cores64 = [c.astype(np.float64) for c in layer.cores]
        assert rel_err(naive_tensor_to_kernel(TTTensor(cores64).full()), K) <= eps


def test_from_linear_below_the_float32_floor_warns_with_the_bound():
    dense = Linear(64, 48, dtype=np.float32, rng=0)
    floor = achievable_eps((6 * 8, 8 * 8), np.float32)
    with pytest.warns(AccuracyWarning, match=f"below .*{floor:.2g}") as record:
        layer = TTLinear.from_linear(dense, (8, 8), (6, 8), eps=1e-9)
    assert record[0].filename == __file__
    cores64 = [c.astype(np.float64) for c in layer.cores]
    assert rel_err(TTMatrix(cores64).full(), dense.params["weight"]) <= floor
    with pytest.warns(AccuracyWarning):
        TTConv2d.from_conv(Conv2d(8, 8, 3, dtype=np.float32, rng=0), (2, 4), (2, 4), eps=1e-9)
    with pytest.warns(AccuracyWarning):
        NaiveTTConv2d.from_conv(Conv2d(8, 8, 3, dtype=np.float32, rng=0), eps=1e-9)


# ---------------------------------------------------------------- initialisation
@pytest.mark.parametrize("make, fan_in", [
    (lambda s, r: TTLinear((4, 4, 4), (4, 4, 2), r, rng=s), 64),
    (lambda s, r: TTConv2d((4, 4), (4, 2), r, 3, rng=s), 16 * 9),
    (lambda s, r: NaiveTTConv2d(16, 8, r, 3, rng=s), 16 * 9),
])
@pytest.mark.parametrize("r", [1, 4, 16])
def test_reconstructed_weight_has_the_he_variance_whatever_the_ranks(make, fan_in, r):
    # v_s = mean squared weight of seed s estimates Var[W]; accept 5 standard errors.
    # A per-core Xavier scale or a 1/prod(r) scale misses 2/fan_in by orders of magnitude.
    v = np.array([np.mean(make(s, r).weight().astype(np.float64) ** 2) for s in range(300)])
    target = 2.0 / fan_in
    stderr = v.std(ddof=1) / math.sqrt(len(v))
    assert abs(v.mean() - target) < 5 * stderr, (v.mean(), target, stderr)
    assert stderr < 0.2 * target


# ---------------------------------------------------------------- interface and dtypes
def test_interface_cores_ranks_and_parameter_count():
    layer = TTConv2d((4, 4, 4), (4, 4, 4), (5, 6, 7), 3, padding=1, rng=0)
    assert list(layer.params) == ["core0", "core1", "core2", "core3", "bias"]
    assert all(c is layer.params[f"core{k}"] for k, c in enumerate(layer.cores))
    assert layer.ranks == (1, 5, 6, 7, 1)
    assert [c.shape for c in layer.cores] == [(1, 1, 9, 5), (5, 4, 4, 6), (6, 4, 4, 7),
                                              (7, 4, 4, 1)]
    assert layer.n_params == 45 + 480 + 672 + 112 + 64
    assert layer.to_tt_matrix().shape == (64, 9 * 64)
    fc = TTLinear((8, 8, 8, 16), (4, 6, 8, 8), 40, bias=False, rng=0)
    assert fc.ranks == (1, 40, 40, 40, 1)  # layers keep over-parametrised ranks
    assert "bias" not in fc.params and fc.to_tt_matrix().shape == (1536, 8192)


def test_float32_stays_float32(rng):
    layers = [TTLinear((2, 3), (3, 2), 2, rng=0),
              TTConv2d((2, 3), (3, 2), 2, 3, padding=1, algorithm="sequential", rng=0),
              TTConv2d((2, 3), (3, 2), 2, 3, padding=1, algorithm="full", rng=0),
              NaiveTTConv2d(6, 6, 2, 3, padding=1, rng=0)]
    inputs = [rng.standard_normal((4, 6)), rng.standard_normal((2, 6, 5, 5)),
              rng.standard_normal((2, 6, 5, 5)), rng.standard_normal((2, 6, 5, 5))]
    for layer, x in zip(layers, inputs):
        y = layer.forward(x.astype(np.float32))
        dx = layer.backward(np.ones_like(y))
        assert y.dtype == dx.dtype == layer.weight().dtype == np.float32
        assert all(g.dtype == np.float32 for g in layer.grads.values())
        with pytest.raises(TypeError, match="ttnet does not convert silently"):
            layer.forward(x)                      # float64 input to a float32 layer


def test_auto_picks_the_algorithm_the_time_model_predicts_fastest():
    conv = TTConv2d((4, 4, 4), (4, 4, 4), 16, 3, padding=1, rng=0)
    costs = conv.cost((128, 64, 32, 32))
    assert set(costs) == {"full", "sequential", "separable"}
    for name, cost in costs.items():
        assert cost["seconds"] == TF.estimated_seconds(cost["flops"], cost["wide_flops"],
                                                       cost["traffic"]), name
    assert conv.choose_algorithm((128, 64, 32, 32)) == TF.fastest_algorithm(costs) == "full"
    # ranks 4: the sequential algorithm does the fewest operations, but its narrow core steps
    # move the most memory; operations alone would pick it, the time model picks the dense
    # kernel (measured fastest by benchmarks/bench_tt_algorithms.py)
    low = TTConv2d((4, 4, 4), (4, 4, 4), 4, 3, padding=1, rng=0)
    costs = low.cost((128, 64, 32, 32))
    assert min(costs, key=lambda name: costs[name]["flops"]) == "sequential"
    assert costs["sequential"]["traffic"] == max(cost["traffic"] for cost in costs.values())
    assert low.choose_algorithm((128, 64, 32, 32)) == "full"
    fc = TTLinear((8, 8, 8, 16), (4, 6, 8, 8), 40, rng=0)
    assert set(fc.cost((128, 8192))) == {"full", "sequential"}
    assert fc.choose_algorithm((128, 8192)) == "full"
    assert TTLinear((8, 8, 8, 16), (4, 6, 8, 8), 2, rng=0).choose_algorithm((1, 8192)) == \
        "sequential"
    fc.forward(np.zeros((2, 8192), np.float32))
    assert fc.last_algorithm in ("full", "sequential")


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, exc, match", [
    (lambda: TTLinear((2, 3), (2,), 2), ValueError, "in_modes and out_modes must have the same length"),
    (lambda: TTLinear((2, 3), (2, 3), (2, 2)), ValueError, "ranks must have 1 entries"),
    (lambda: TTLinear((2, 3), (2, 3), 0), ValueError, "ranks must be >= 1"),
    (lambda: TTLinear((2, 3), (2, 3), None), TypeError, "ranks must be an int or a sequence"),
    (lambda: NaiveTTConv2d(4, 4, 2.5, 3), TypeError, "ranks must be an int or a sequence of 3"),
    (lambda: TTLinear((2, 0), (2, 3), 2), ValueError, r"in_modes\[1\] must be >= 1"),
    (lambda: TTLinear((2, 3), (2, 3), 2, algorithm="fast"), ValueError, "algorithm must be one of"),
    (lambda: TTConv2d((2, 3), (2, 3), (2,), 3), ValueError, "ranks must have 2 entries"),
    (lambda: TTConv2d((2, 3), (2, 3), 2, 3, algorithm="fft"), ValueError, "algorithm must be one of"),
    (lambda: TTConv2d((2, 3), (2, 3), 2, (3, 2)), ValueError, "kernel_size must be square"),
    (lambda: TTConv2d((2, 3), (2, 3), 2, 0), ValueError, "kernel_size must be >= 1"),
    (lambda: NaiveTTConv2d(4, 4, (2, 2), 3), ValueError, "ranks must have 3 entries"),
    (lambda: NaiveTTConv2d(4, 0, 2, 3), ValueError, "out_channels must be >= 1"),
    (lambda: TTConv2d((2, 3), (2, 3), 2, 3, stride=0), ValueError, "stride must be >= 1"),
])
def test_bad_construction_is_rejected(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


def test_bad_from_arguments_are_rejected():
    dense = Linear(6, 4, rng=0)
    with pytest.raises(ValueError, match=r"in_modes \(2, 2\) multiply to 4, but linear has 6"):
        TTLinear.from_linear(dense, (2, 2), (2, 2))
    with pytest.raises(ValueError, match=r"out_modes \(2, 3\) multiply to 6, but linear has 4"):
        TTLinear.from_linear(dense, (2, 3), (2, 3))
    with pytest.raises(TypeError, match="linear must be a ttnet.nn.Linear"):
        TTLinear.from_linear(Conv2d(1, 1, 1), (1,), (1,))
    conv = Conv2d(6, 4, 3, rng=0)
    with pytest.raises(ValueError, match=r"in_modes \(2, 2\) multiply to 4, but kernel"):
        TTConv2d.from_conv(conv, (2, 2), (2, 2))
    with pytest.raises(TypeError, match="conv must be a ttnet.nn.Conv2d"):
        NaiveTTConv2d.from_conv(dense)
    with pytest.raises(ValueError, match=r"eps must be in \[0, 1\)"):
        TTConv2d.from_conv(conv, (2, 3), (2, 2), eps=1.5)


def test_bad_forward_input_is_rejected():
    fc = TTLinear((2, 3), (2, 3), 2, dtype=np.float64, rng=0)
    with pytest.raises(ValueError, match=r"x has 5 features but the input modes \(2, 3\) multiply to 6"):
        fc.forward(np.ones((2, 5)))
    with pytest.raises(ValueError, match="x must have 2 dimensions"):
        fc.forward(np.ones((2, 2, 3)))
    conv = TTConv2d((2, 3), (2, 3), 2, 3, dtype=np.float64, rng=0)
    with pytest.raises(ValueError, match=r"x has 4 channels but the input modes \(2, 3\) multiply to 6"):
        conv.forward(np.ones((1, 4, 5, 5)))
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        conv.forward(np.ones((6, 5, 5)))
    naive = NaiveTTConv2d(6, 4, 2, 3, dtype=np.float64, rng=0)
    with pytest.raises(ValueError, match="x has 4 channels but the cores' channel mode is 6"):
        naive.forward(np.ones((1, 4, 5, 5)))
    with pytest.raises(RuntimeError, match="backward was called before forward"):
        TTLinear((2, 3), (2, 3), 2, rng=0).backward(np.ones((1, 6), np.float32))


# ---------------------------------------------------------------- one algorithm per function
@pytest.mark.parametrize("algorithm", ["full", "sequential", "separable"])
def test_layers_call_the_function_of_their_algorithm(algorithm, monkeypatch):
    """TTLinear / TTConv2d forward and backward call the named pair, nothing else."""
    calls = []
    for name, algorithms in (("tt_linear", TF.ALGORITHMS), ("tt_conv2d", TF.CONV_ALGORITHMS)):
        for alg in algorithms:
            for step in ("forward", "backward"):
                fname = f"{name}_{alg}_{step}"
                original = getattr(TF, fname)
                monkeypatch.setattr(TF, fname, lambda *a, _f=original, _n=fname, **k:
                                    calls.append(_n) or _f(*a, **k))
    expected = []
    if algorithm in TF.ALGORITHMS:
        lin = TTLinear((2, 3), (3, 2), 2, dtype=np.float64, rng=0, algorithm=algorithm)
        lin.backward(lin.forward(np.ones((2, 6))))
        expected = [f"tt_linear_{algorithm}_forward", f"tt_linear_{algorithm}_backward"]
    conv = TTConv2d((2,), (3,), 2, 3, padding=1, dtype=np.float64, rng=0, algorithm=algorithm)
    conv.backward(conv.forward(np.ones((1, 2, 4, 4))))
    assert calls == expected + [f"tt_conv2d_{algorithm}_forward", f"tt_conv2d_{algorithm}_backward"]