"""Optimisers against updates computed by hand, dtype preservation, state round trips, errors."""

import numpy as np
import pytest

from ttnet.nn import Linear, Module
from ttnet.train import SGD, Adam


class Params(Module):
    """A module that only holds the given float64 parameters (their gradients are set by hand)."""

    def __init__(self, dtype=np.float64, **arrays):
        super().__init__()
        for name, value in arrays.items():
            self.add_param(name, np.array(value, dtype=dtype))


def step_with(opt, module, **grads):
    for name, g in grads.items():
        module.grads[name][...] = g
    opt.step()


def test_sgd_plain():
    m = Params(w=[1.0, -2.0])
    opt = SGD(m, lr=0.1)
    step_with(opt, m, w=[0.5, 0.25])
    np.testing.assert_allclose(m.params["w"], [0.95, -2.025], rtol=1e-15)


def test_sgd_momentum_two_steps():
    # v1 = g1 = (1, 2);           p1 = 0 − 0.1·v1 = (−0.1, −0.2)
    # v2 = 0.9·v1 + g2 = (1.4, 0.8); p2 = p1 − 0.1·v2 = (−0.24, −0.28)
    m = Params(w=[0.0, 0.0])
    opt = SGD(m, lr=0.1, momentum=0.9)
    step_with(opt, m, w=[1.0, 2.0])
    np.testing.assert_allclose(m.params["w"], [-0.1, -0.2], rtol=1e-15)
    step_with(opt, m, w=[0.5, -1.0])
    np.testing.assert_allclose(opt.velocity["w"], [1.4, 0.8], rtol=1e-15)
    np.testing.assert_allclose(m.params["w"], [-0.24, -0.28], rtol=1e-15)


def test_sgd_nesterov_two_steps():
    # v1 = (1, 2);  d1 = g1 + 0.9·v1 = (1.9, 3.8);   p1 = (−0.19, −0.38)
    # v2 = (1.4, 0.8); d2 = g2 + 0.9·v2 = (1.76, −0.28); p2 = (−0.366, −0.352)
    m = Params(w=[0.0, 0.0])
    opt = SGD(m, lr=0.1, momentum=0.9, nesterov=True)
    step_with(opt, m, w=[1.0, 2.0])
    np.testing.assert_allclose(m.params["w"], [-0.19, -0.38], rtol=1e-15)
    step_with(opt, m, w=[0.5, -1.0])
    np.testing.assert_allclose(m.params["w"], [-0.366, -0.352], rtol=1e-14)


def test_sgd_weight_decay():
    # zero gradient: g = λ·p = 0.1·(1, −2); p ← p − 0.5·g = (0.95, −1.9)
    m = Params(w=[1.0, -2.0])
    opt = SGD(m, lr=0.5, weight_decay=0.1)
    step_with(opt, m, w=[0.0, 0.0])
    np.testing.assert_allclose(m.params["w"], [0.95, -1.9], rtol=1e-15)


def test_sgd_weight_decay_enters_the_momentum_buffer():
    # g1 = ∇ + λp = 1 + 0.5·2 = 2; v1 = 2; p1 = 2 − 0.1·2 = 1.8
    # g2 = 1 + 0.5·1.8 = 1.9; v2 = 0.9·2 + 1.9 = 3.7; p2 = 1.8 − 0.37 = 1.43
    m = Params(w=[2.0])
    opt = SGD(m, lr=0.1, momentum=0.9, weight_decay=0.5)
    step_with(opt, m, w=[1.0])
    step_with(opt, m, w=[1.0])
    np.testing.assert_allclose(m.params["w"], [1.43], rtol=1e-14)


def test_adam_bias_correction():
    eps = 1e-8
    m = Params(w=[0.0, 0.0])
    opt = Adam(m, lr=0.01, betas=(0.9, 0.999), eps=eps)
    # step 1: m̂ = g, v̂ = g², so the step is lr·g/(|g| + ε) ≈ lr·sign(g) whatever |g|
    step_with(opt, m, w=[0.5, -3.0])
    p1 = -0.01 * np.array([0.5 / (0.5 + eps), -3.0 / (3.0 + eps)])
    np.testing.assert_allclose(m.params["w"], p1, rtol=1e-15)
    # step 2: m2 = 0.9·0.1·g1 + 0.1·g2 = (0.145, −0.17)
    #         v2 = 0.999·0.001·g1² + 0.001·g2² = (0.00124975, 0.009991)
    #         corrections 1 − 0.9² = 0.19 and 1 − 0.999² = 0.001999
    step_with(opt, m, w=[1.0, 1.0])
    m2, v2 = np.array([0.145, -0.17]), np.array([0.00124975, 0.009991])
    np.testing.assert_allclose(opt.m["w"], m2, rtol=1e-13)
    np.testing.assert_allclose(opt.v["w"], v2, rtol=1e-13)
    p2 = p1 - 0.01 / 0.19 * m2 / (np.sqrt(v2) / np.sqrt(0.001999) + eps)
    np.testing.assert_allclose(m.params["w"], p2, rtol=1e-12)
    assert opt.step_count == 2


def test_adam_weight_decay_is_added_to_the_gradient():
    # g = 0 + 0.1·2 = 0.2 > 0, so the first step is −lr·0.2/(0.2 + ε)
    m = Params(w=[2.0])
    opt = Adam(m, lr=0.01, weight_decay=0.1)
    step_with(opt, m, w=[0.0])
    np.testing.assert_allclose(m.params["w"], [2.0 - 0.01 * 0.2 / (0.2 + 1e-8)], rtol=1e-15)


@pytest.mark.parametrize("make", [
    lambda m: SGD(m, lr=0.1),
    lambda m: SGD(m, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda m: Adam(m, lr=0.01, weight_decay=1e-3),
])
def test_float32_stays_float32(make, rng):
    layer = Linear(5, 3, rng=0)
    opt = make(layer)
    opt.lr = np.float64(0.1)      # a float64 scalar must not promote the update either
    for _ in range(3):
        for g in layer.grads.values():
            g[...] = rng.standard_normal(g.shape)
        opt.step()
    for name in layer.params:
        assert layer.params[name].dtype == np.float32
    for value in opt.state_dict().values():
        assert value.dtype in (np.float32, np.int64)


def test_float32_update_is_the_float32_formula():
    layer = Linear(4, 2, rng=0)
    before = layer.params["weight"].copy()
    layer.grads["weight"][...] = np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)
    opt = SGD(layer, lr=0.3)
    opt.step()
    expected = before - np.float32(0.3) * layer.grads["weight"]
    assert np.array_equal(layer.params["weight"], expected)


def test_momentum_updates_of_many_shapes_are_the_float32_formula_bit_for_bit(rng):
    """The update's temporary is one array reused across parameters of different sizes
    (larger before smaller and back) and steps: every step equals the textbook expression."""
    m = Params(np.float32, big=np.zeros((6, 5)), small=np.zeros(3), mid=np.zeros((2, 7)))
    opt = SGD(m, lr=0.1, momentum=0.9)
    params = {k: v.copy() for k, v in m.params.items()}
    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    for _ in range(4):
        for name, g in m.grads.items():
            g[...] = rng.standard_normal(g.shape)
            velocity[name] = np.float32(0.9) * velocity[name] + g
            params[name] = params[name] - np.float32(0.1) * velocity[name]
        opt.step()
        for name in params:
            assert np.array_equal(m.params[name], params[name]), name


def test_updates_are_in_place_so_views_follow():
    layer = Linear(3, 2, rng=0)
    weight = layer.params["weight"]
    layer.grads["weight"][...] = 1.0
    SGD(layer, lr=0.5).step()
    assert layer.params["weight"] is weight


@pytest.mark.parametrize("make", [lambda m: SGD(m, lr=0.1, momentum=0.9, nesterov=True),
                                  lambda m: Adam(m, lr=0.01)])
def test_state_dict_round_trip(make, rng):
    a, b = Linear(4, 3, rng=0), Linear(4, 3, rng=0)
    opt_a, opt_b = make(a), make(b)
    grads = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(5)]
    for g in grads[:3]:
        a.grads["weight"][...] = g
        opt_a.step()
    state = opt_a.state_dict()
    for name in a.params:
        b.params[name][...] = a.params[name]
    opt_b.load_state_dict(state)
    for g in grads[3:]:
        for model, opt in ((a, opt_a), (b, opt_b)):
            model.grads["weight"][...] = g
            opt.step()
    for name in a.params:
        assert np.array_equal(a.params[name], b.params[name])


def test_load_state_dict_rejects_other_state():
    opt = SGD(Linear(4, 3, rng=0), momentum=0.9)
    other = SGD(Linear(5, 3, rng=0), momentum=0.9).state_dict()
    with pytest.raises(ValueError, match="momentum/0|momentum/weight.*shape"):
        opt.load_state_dict(other)
    with pytest.raises(ValueError, match="missing"):
        opt.load_state_dict({"step_count": np.array(0)})
    with pytest.raises(TypeError, match="state must be a dict"):
        opt.load_state_dict([1, 2])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(lr=-0.1), ValueError, "lr must be in"),
    (dict(lr="0.1"), TypeError, "lr must be a real number"),
    (dict(momentum=1.0), ValueError, "momentum must be in"),
    (dict(momentum=True), TypeError, "momentum must be a real number"),
    (dict(nesterov=True), ValueError, "nesterov=True requires momentum > 0"),
    (dict(momentum=0.9, nesterov=1), TypeError, "nesterov must be True or False"),
    (dict(weight_decay=-1e-4), ValueError, "weight_decay must be in"),
])
def test_sgd_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        SGD(Linear(2, 2, rng=0), **kwargs)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(betas=(0.9,)), TypeError, "betas must be a pair"),
    (dict(betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be in"),
    (dict(eps=0.0), ValueError, "eps must be > 0"),
    (dict(lr=float("nan")), ValueError, "lr must be finite"),
])
def test_adam_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        Adam(Linear(2, 2, rng=0), **kwargs)


def test_model_errors():
    with pytest.raises(TypeError, match="model must be a ttnet.nn Module"):
        SGD({"w": np.zeros(2)})
    with pytest.raises(ValueError, match="model must have trainable parameters"):
        SGD(Module())
    opt = SGD(Linear(2, 2, rng=0))
    with pytest.raises(ValueError, match="lr must be in"):
        opt.lr = -1.0
