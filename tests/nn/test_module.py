"""Module and Sequential: dotted parameter names, shared arrays, modes, and a whole network."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ttnet.gradcheck import check_module
from ttnet.nn import (BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU,
                      Sequential, SoftmaxCrossEntropy)
from ttnet.nn import functional as F


def small_net(C=2, S=3, H=6, W=5, classes=4, dtype=np.float64, seed=0):
    """conv (no bias, as in the paper) - bn - relu - pool - flatten - linear."""
    rng = np.random.default_rng(seed)
    Ho, Wo = H // 2, W // 2
    return Sequential(Conv2d(C, S, 3, padding=1, bias=False, dtype=dtype, rng=rng),
                      BatchNorm2d(S, dtype=dtype), ReLU(), MaxPool2d(2), Flatten(),
                      Linear(S * Ho * Wo, classes, dtype=dtype, rng=rng))


def kink_margin(net, x):
    """Distance of the ReLU inputs from 0 and of each positive pooling window's top-2 gap."""
    h = x
    for layer in net.layers[:2]:
        h = layer.forward(h)
    relu_margin = np.abs(h).min()
    h = np.maximum(h, 0)
    B, S, H, W = h.shape
    windows = h[:, :, :H // 2 * 2, :W // 2 * 2].reshape(B, S, H // 2, 2, W // 2, 2)
    windows = windows.transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    top2 = np.sort(windows, axis=1)[:, -2:]
    positive = top2[:, 1] > 0
    gap = (top2[positive, 1] - top2[positive, 0]).min(initial=np.inf)
    return min(relu_margin, gap)


@given(B=st.integers(2, 4), C=st.integers(1, 2), S=st.integers(1, 3),
       H=st.integers(2, 6), W=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_whole_network_gradient_check_end_to_end(B, C, S, H, W, seed):
    net = small_net(C, S, H, W, seed=seed)
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((B, C, H, W))
    labels = rng.integers(0, 4, B)
    assume(kink_margin(net, x) > 1e-3)       # ReLU and max-pool: stay away from the kinks
    result = check_module(net, x, loss=SoftmaxCrossEntropy(), labels=labels, max_entries=40,
                          rng=seed + 2)
    assert result.passed(1e-7), str(result)
    assert [row.name for row in result.rows] == list(net.params) + ["input"]


def test_float32_network_stays_float32():
    net = small_net(dtype=np.float32)
    x = np.random.default_rng(0).standard_normal((3, 2, 6, 5)).astype(np.float32)
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn(net(x), np.array([0, 1, 3]))
    dx = net.backward(loss_fn.backward())
    assert loss.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in net.grads.values())
    assert all(b.dtype == np.float32 for b in net.buffers.values())


def test_dotted_names_share_the_children_arrays():
    net = small_net()
    assert list(net.params) == ["0.weight", "1.gamma", "1.beta", "5.weight", "5.bias"]
    assert list(net.buffers) == ["1.running_mean", "1.running_var"]
    assert net.params["0.weight"] is net[0].params["weight"]
    assert net.grads["5.bias"] is net[5].grads["bias"]
    assert net.buffers["1.running_var"] is net[1].running_var
    assert net.n_params == sum(layer.n_params for layer in net.layers)


def test_in_place_update_through_sequential_reaches_the_child():
    net = small_net()
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 5))
    net.backward(np.ones_like(net(x)))
    before = net[5].params["weight"].copy()
    for name, p in net.params.items():
        p -= 0.1 * net.grads[name]
    np.testing.assert_allclose(net[5].params["weight"], before - 0.1 * net[5].grads["weight"])


def test_nested_sequential_names():
    inner = Sequential(Linear(3, 3, rng=0), ReLU())
    outer = Sequential(inner, Linear(3, 2, rng=1))
    assert list(outer.params) == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]
    assert outer.params["0.0.weight"] is inner[0].params["weight"]


def test_train_and_eval_reach_every_child():
    net = Sequential(Linear(2, 2, rng=0), Sequential(Dropout(0.5, rng=0), BatchNorm2d(2)))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_same_seed_reproduces_the_network():
    a, b = small_net(seed=5), small_net(seed=5)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])


def test_backward_matches_manual_chain_of_functional_calls():
    net = Sequential(Linear(4, 3, dtype=np.float64, rng=0), ReLU())
    x = np.random.default_rng(1).standard_normal((5, 4))
    dy = np.random.default_rng(2).standard_normal((5, 3))
    net(x)
    dx = net.backward(dy)
    h, c1 = F.linear_forward(x, net[0].params["weight"], net[0].params["bias"])
    _, c2 = F.relu_forward(h)
    dx_ref, dw_ref, _ = F.linear_backward(F.relu_backward(dy, c2), c1)
    np.testing.assert_allclose(dx, dx_ref)
    np.testing.assert_allclose(net.grads["0.weight"], dw_ref)


def test_base_module_is_abstract_and_call_is_forward():
    with pytest.raises(NotImplementedError):
        Module()(np.ones(2))
    with pytest.raises(NotImplementedError):
        Module().backward(np.ones(2))
    relu = ReLU()
    np.testing.assert_array_equal(relu(np.array([-1.0, 1.0])), relu.forward(np.array([-1.0, 1.0])))
    assert "Conv2d(2, 3" in repr(small_net()) and Module().n_params == 0


@pytest.mark.parametrize("call, error, words", [
    (lambda: Sequential(Linear(2, 2), np.ones(2)), TypeError, r"layers\[1\] must be a ttnet.nn"),
    (lambda: Linear(2, 2).train("yes"), TypeError, "mode must be a bool"),
])
def test_bad_input_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()
