"""Networks: PTQ, the QAT wrapper (gradient checks through the STE), size, the weights file."""

import copy

import numpy as np
import pytest

from ttnet import models
from ttnet.experiments import copy_weights
from ttnet.gradcheck import check_function, check_module
from ttnet.nn import (BatchNorm1d, Conv2d, Linear, Module, NaiveTTConv2d, ReLU, Sequential,
                      SoftmaxCrossEntropy, TTConv2d, TTLinear)
from ttnet.quant import QuantConfig, QuantizedLayer, choose_qparams, ptq, qat_model
from ttnet.train import SGD

F64 = np.float64


def _layers():
    """(layer, input) for every weight layer type, float64."""
    r = np.random.default_rng(3)
    return [
        (Linear(6, 4, dtype=F64, rng=0), r.standard_normal((5, 6))),
        (Conv2d(2, 3, 3, padding=1, dtype=F64, rng=0), r.standard_normal((2, 2, 5, 5))),
        (TTLinear((2, 3), (2, 2), 3, dtype=F64, rng=0), r.standard_normal((5, 6))),
        (TTConv2d((2, 2), (2, 3), 2, 3, padding=1, dtype=F64, rng=0),
         r.standard_normal((2, 4, 5, 5))),
        (NaiveTTConv2d(3, 4, 2, 3, padding=1, dtype=F64, rng=0), r.standard_normal((2, 3, 5, 5))),
    ]


@pytest.mark.parametrize("index", range(5))
def test_qat_layer_input_gradient_passes_gradcheck(index):
    layer, x = _layers()[index]
    qat = QuantizedLayer(layer, QuantConfig(4))
    result = check_module(qat, x, max_entries=30)
    input_row = [row for row in result.rows if row.name == "input"][0]
    assert input_row.max_error <= 1e-7, result


@pytest.mark.parametrize("symmetric", [True, False])
@pytest.mark.parametrize("index", range(5))
def test_qat_layer_weight_gradient_is_the_ste(index, symmetric):
    """Gradient check of a QAT layer: its weight gradient is the exact gradient of
    W ↦ layer(x; ŵ₀ + clip(W) − clip(W₀)) at W₀ (scales frozen at W₀), i.e. the
    inner layer's gradient at the quantized weights, passed inside the clipping
    range and zero outside. Entries near a clipping edge are moved off it."""
    layer, x = _layers()[index]
    config = QuantConfig(3, symmetric=symmetric, method="mse")
    qat = QuantizedLayer(layer, config)
    for _ in range(10):                     # move weights off the clipping edges
        qps = qat.quant_params()
        moved = False
        for name, qp in qps.items():
            w = qat.params[name]
            lo, hi = qp.clip_range
            near = (np.abs(w - lo) < 1e-4) | (np.abs(w - hi) < 1e-4)
            if near.any():
                w[...] = np.where(near, 0.9 * w, w)
                moved = True
        if not moved:
            break
    assert not moved
    names = qat.names
    w0 = {n: qat.params[n].copy() for n in names}
    qps = qat.quant_params()
    qat.forward(x)
    w_hat0 = {n: qat.inner.params[n].copy() for n in names}
    clip0 = {n: np.clip(w0[n], *qps[n].clip_range) for n in names}
    assert any((~((w0[n] >= qps[n].clip_range[0]) & (w0[n] <= qps[n].clip_range[1]))).any()
               for n in names), "the MSE rule should clip some entries"

    def forward(x, *ws):
        for n, w in zip(names, ws):
            qat.inner.params[n][...] = w_hat0[n] + np.clip(w, *qps[n].clip_range) - clip0[n]
        return qat.inner.forward(x), None

    def backward(dout, cache):
        qat.forward(x)
        dx = qat.backward(dout)
        return (dx, *[qat.grads[n].copy() for n in names])

    result = check_function(forward, {"x": x, **w0}, backward)
    assert result.passed(1e-7), result


def test_qat_model_keeps_names_trains_and_leaves_the_original_alone(rng):
    net = Sequential(Linear(6, 8, rng=0, dtype=F64), BatchNorm1d(8, dtype=F64), ReLU(),
                     TTLinear((2, 4), (2, 2), 2, rng=1, dtype=F64))
    before = {k: v.copy() for k, v in net.params.items()}
    qat = qat_model(net, 4)
    assert list(qat.params) == list(net.params) and list(qat.buffers) == list(net.buffers)
    x, y = rng.standard_normal((16, 6)), rng.integers(0, 4, 16)
    loss = SoftmaxCrossEntropy()
    opt = SGD(qat, lr=0.1)
    first = loss.forward(qat(x), y)
    for _ in range(20):
        loss.forward(qat(x), y)
        qat.backward(loss.backward())
        opt.step()
    assert loss.forward(qat(x), y) < first
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, before[k])
    # in eval mode the QAT model computes what PTQ of its master weights computes
    plain = copy.deepcopy(net)
    copy_weights(qat, plain)                  # same names: the masters go into a float model
    qat.eval()
    plain.eval()
    np.testing.assert_allclose(qat(x), ptq(plain, 4)(x), rtol=1e-12, atol=1e-12)
    assert not np.allclose(qat(x), plain(x))


def test_ptq_weights_take_few_values_and_approach_the_model_at_8_bits(rng):
    net = models.build("tt-conv-tt-fc", input_shape=(1, 16, 16), width=0.125, conv_ranks=2,
                       fc_ranks=2, rng=0)
    net.eval()
    x = rng.standard_normal((4, 1, 16, 16)).astype(np.float32)
    ref = net(x)
    q2 = ptq(net, 2)
    for name in q2.params:
        if name.split(".")[-1].startswith("core"):
            assert len(np.unique(q2.params[name])) <= 3        # ternary
    err8 = np.linalg.norm(ptq(net, 8)(x) - ref) / np.linalg.norm(ref)
    err4 = np.linalg.norm(ptq(net, 4)(x) - ref) / np.linalg.norm(ref)
    assert err8 < 0.05 and err8 < err4 / 4
    np.testing.assert_array_equal(net(x), ref)                 # the original is unchanged


def test_unsupported_layer_and_double_wrapping_are_refused():
    class Custom(Module):
        def __init__(self):
            super().__init__()
            self.add_param("weight", np.ones((2, 2)))

    with pytest.raises(ValueError, match="Custom.*does not know how to quantize"):
        ptq(Sequential(Linear(2, 2), Custom()), 4)
    qat = qat_model(Sequential(Linear(2, 2)), 4)
    with pytest.raises(ValueError, match="already holds QuantizedLayer"):
        qat_model(qat, 4)
    with pytest.raises(TypeError, match="layer must be one of"):
        QuantizedLayer(ReLU(), 4)
    with pytest.raises(ValueError, match="bits must be an integer from 2 to 8, got 9"):
        qat_model(Sequential(Linear(2, 2)), 9)


def test_scales_of_tt_cores_are_one_per_core_and_dense_per_channel():
    qat = QuantizedLayer(TTLinear((2, 3), (2, 2), 3, rng=0), 4)
    assert all(qp.n_scales == 1 for qp in qat.quant_params().values())
    qat = QuantizedLayer(Conv2d(2, 5, 3, rng=0), 4)
    assert qat.quant_params()["weight"].n_scales == 5
    qp = choose_qparams(np.ones((5, 2, 3, 3)), 4, axis=0)
    assert qp.scale.shape == (5, 1, 1, 1)
