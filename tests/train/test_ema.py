"""EMA: the averaging formula, the warm-up decay, swapping weights in and out, state."""

import numpy as np
import pytest

from ttnet.nn import BatchNorm1d, Linear, Sequential
from ttnet.train import EMA


def test_update_formula_without_warmup():
    layer = Linear(2, 1, rng=0, dtype=np.float64)
    w0 = layer.params["weight"].copy()
    ema = EMA(layer, decay=0.9, warmup=False)
    layer.params["weight"][...] = 1.0
    ema.update()                      # s = 0.9·w0 + 0.1·1
    np.testing.assert_allclose(ema.shadow["weight"], 0.9 * w0 + 0.1, rtol=1e-15)
    layer.params["weight"][...] = 3.0
    ema.update()                      # s = 0.9·(0.9·w0 + 0.1) + 0.1·3
    np.testing.assert_allclose(ema.shadow["weight"], 0.81 * w0 + 0.09 + 0.3, rtol=1e-14)
    assert ema.num_updates == 2


def test_float32_updates_of_every_parameter_are_the_formula_bit_for_bit(rng):
    """The update's temporary s − p is one array reused across parameters and updates:
    each update equals ``s − (1 − δ)·(s − p)`` evaluated in float32 with fresh arrays."""
    model = Sequential(Linear(6, 4, rng=0), Linear(4, 9, rng=1))
    ema = EMA(model, decay=0.9, warmup=False)
    expected = {name: p.copy() for name, p in model.params.items()}
    for _ in range(3):
        for name, p in model.params.items():
            p[...] = rng.standard_normal(p.shape)
            expected[name] = expected[name] - np.float32(0.1) * (expected[name] - p)
        ema.update()
        for name in expected:
            assert np.array_equal(ema.shadow[name], expected[name]), name


def test_warmup_decay_follows_tensorflow_num_updates():
    ema = EMA(Linear(2, 1, rng=0), decay=0.999)
    decays = []
    for _ in range(3):
        decays.append(ema.current_decay())
        ema.update()
    assert decays == [1 / 10, 2 / 11, 3 / 12]
    ema.num_updates = 10**6
    assert ema.current_decay() == 0.999


def test_first_warm_update_mostly_forgets_the_initialisation():
    layer = Linear(2, 1, rng=0, dtype=np.float64)
    w0 = layer.params["weight"].copy()
    ema = EMA(layer, decay=0.999)
    layer.params["weight"][...] = 0.0
    ema.update()
    np.testing.assert_allclose(ema.shadow["weight"], 0.1 * w0, rtol=1e-15)


def test_applied_swaps_in_the_average_and_restores_bit_for_bit(rng):
    net = Sequential(Linear(3, 4, rng=0), BatchNorm1d(4), Linear(4, 2, rng=1))
    ema = EMA(net, decay=0.5)
    for _ in range(3):
        for p in net.params.values():
            p += rng.standard_normal(p.shape).astype(p.dtype)
        ema.update()
    live = {k: v.copy() for k, v in net.params.items()}
    net.buffers["1.running_mean"][...] = 7.0
    with ema.applied():
        for name, p in net.params.items():
            assert np.array_equal(p, ema.shadow[name])
        assert np.all(net.buffers["1.running_mean"] == 7.0)   # buffers are not averaged
    for name, p in net.params.items():
        assert np.array_equal(p, live[name])
    with pytest.raises(KeyError):
        with ema.applied():
            raise KeyError("boom")
    for name, p in net.params.items():
        assert np.array_equal(p, live[name])


def test_misuse_inside_applied():
    ema = EMA(Linear(2, 2, rng=0))
    with ema.applied():
        with pytest.raises(RuntimeError, match="inside ema.applied"):
            ema.update()
        with pytest.raises(RuntimeError, match="cannot be nested"):
            with ema.applied():
                pass


def test_state_round_trip_and_copy_to():
    a, b = Linear(3, 2, rng=0), Linear(3, 2, rng=5)
    ema_a, ema_b = EMA(a, 0.9), EMA(b, 0.9)
    a.params["bias"][...] = 2.0
    ema_a.update()
    ema_b.load_state_dict(ema_a.state_dict())
    assert ema_b.num_updates == 1
    for name in ema_a.shadow:
        assert np.array_equal(ema_a.shadow[name], ema_b.shadow[name])
    ema_b.copy_to(b)
    assert np.array_equal(b.params["bias"], ema_a.shadow["bias"])


def test_errors():
    with pytest.raises(TypeError, match="model must be a ttnet.nn Module"):
        EMA([1, 2])
    with pytest.raises(ValueError, match=r"decay must be in \[0.0, 1.0\)"):
        EMA(Linear(2, 2, rng=0), decay=1.0)
    with pytest.raises(TypeError, match="decay must be a real number"):
        EMA(Linear(2, 2, rng=0), decay="0.9")
    with pytest.raises(TypeError, match="warmup must be True or False"):
        EMA(Linear(2, 2, rng=0), warmup=None)
    ema = EMA(Linear(2, 2, rng=0))
    with pytest.raises(ValueError, match="the EMA state does not match the model's "
                                         "parameters: 'weight' has shape"):
        ema.load_state_dict(EMA(Linear(3, 2, rng=0)).state_dict())
    with pytest.raises(ValueError, match="num_updates"):
        ema.load_state_dict({})
    with pytest.raises(ValueError, match="'bias' is in the EMA but not in model.params"):
        ema.copy_to(Linear(2, 2, bias=False, rng=0))
