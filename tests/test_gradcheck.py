"""ttnet.gradcheck: it passes correct gradients, catches wrong ones, and leaves modules as found."""

import functools

import numpy as np
import pytest

from ttnet.gradcheck import UNIT_ROUNDOFF, GradCheckResult, check_function, check_module
from ttnet.nn import (BatchNorm1d, Dropout, Linear, Module, Sequential, SoftmaxCrossEntropy,
                      TTLinear)
from ttnet.nn import functional as F


def square_forward(x):
    return x * x, {"x": x}


def square_backward(dout, cache):
    return 2 * cache["x"] * dout


def wrong_square_backward(dout, cache):
    return 2.1 * cache["x"] * dout


class WrongLinear(Linear):
    """A Linear layer whose bias gradient is off by a factor of 2."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["bias"] *= 2
        return dx


def test_correct_gradient_passes_and_wrong_one_fails():
    x = np.random.default_rng(0).standard_normal((3, 4))
    good = check_function(square_forward, [x], square_backward)
    bad = check_function(square_forward, [x], wrong_square_backward)
    assert good.passed(1e-7) and good.max_error < 1e-8
    assert not bad.passed(1e-7) and bad.max_error > 1e-2


def test_wrong_module_gradient_is_caught_in_the_right_row():
    layer = WrongLinear(3, 2, dtype=np.float64, rng=0)
    result = check_module(layer, np.random.default_rng(1).standard_normal((4, 3)))
    assert result.errors["bias"] > 0.1
    assert result.errors["weight"] < 1e-8 and result.errors["input"] < 1e-8
    assert not result.passed()


def test_names_from_dict_and_sequence_and_none_entries_skipped():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    by_name = check_function(F.linear_forward, {"x": x, "weight": w, "bias": None},
                             F.linear_backward)
    assert [row.name for row in by_name.rows] == ["x", "weight"]
    by_position = check_function(F.linear_forward, [x, w, None], F.linear_backward)
    assert [row.name for row in by_position.rows] == ["arg0", "arg1"]
    assert by_name.passed() and by_position.passed()


def test_inputs_are_not_modified():
    x = np.random.default_rng(0).standard_normal((2, 2))
    copy = x.copy()
    check_function(square_forward, [x], square_backward)
    np.testing.assert_array_equal(x, copy)


def test_large_arrays_are_sampled():
    result = check_function(square_forward, {"x": np.ones((30, 30))}, square_backward,
                            max_entries=25)
    row = result["x"]
    assert (row.checked, row.total, row.shape) == (25, 900, (30, 30))


def test_result_table_text_and_html():
    result = check_module(Linear(3, 2, dtype=np.float64, rng=0), np.ones((2, 3)))
    text = str(result)
    assert text.splitlines()[0].split()[:3] == ["name", "shape", "checked"]
    assert all(name in text for name in ("weight", "bias", "input"))
    html = result._repr_html_()
    assert html.startswith("<table>") and "<td>weight</td>" in html
    assert "max_error" in repr(result)
    with pytest.raises(KeyError, match="checked: "):
        result["gamma"]


def test_buffers_are_restored_and_grads_hold_the_analytic_gradient():
    bn = BatchNorm1d(3, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((5, 3)) + 2
    before = {k: v.copy() for k, v in bn.buffers.items()}
    result = check_module(bn, x)
    assert result.passed()
    for name, value in bn.buffers.items():
        np.testing.assert_array_equal(value, before[name])
    bn(x)
    bn.backward(np.zeros((5, 3)))
    assert not np.any(bn.grads["gamma"])                          # grads are live arrays


def test_dropout_masks_are_replayed():
    net = Sequential(Linear(4, 4, dtype=np.float64, rng=0), Dropout(0.5, rng=1))
    state = net[1].rng.bit_generator.state
    assert check_module(net, np.random.default_rng(2).standard_normal((3, 4))).passed()
    assert net[1].rng.bit_generator.state == state


def test_loss_mode_checks_the_scalar_objective():
    net = Linear(3, 4, dtype=np.float64, rng=0)
    x = np.random.default_rng(1).standard_normal((5, 3))
    result = check_module(net, x, loss=SoftmaxCrossEntropy(), labels=np.array([0, 1, 2, 3, 0]))
    assert result.passed()


def test_error_is_relative_to_each_arrays_own_scale():
    """f(x, y) = (x, 1e-3·y): a right y-gradient of 1e-3 passes, a 2x wrong one does not."""
    def forward(x, y):
        return np.concatenate([x, 1e-3 * y]), None

    def backward(dout, cache, factor=1.0):
        return dout[:2], factor * 1e-3 * dout[2:]

    inputs = {"x": np.ones(2), "y": np.ones(2)}
    good = check_function(forward, inputs, backward)
    bad = check_function(forward, inputs, functools.partial(backward, factor=2.0))
    assert good.passed() and bad.errors["x"] < 1e-9
    assert bad.errors["y"] > 1e-2 and not bad.passed()
    # result.scale is the largest derivative of the whole check (here one of x's)
    assert good.scale == max(abs(good["x"].analytic), abs(good["x"].numeric))
    assert GradCheckResult([]).max_error == 0.0 and GradCheckResult([]).passed()


# Two arrays whose derivatives differ by 1e8, as a rescaling of TT cores can make them, with
# outputs of order one: f(x, y) = (1e4·x, 1e-4·y) at x ~ 1e-4, y ~ 1.
GAUGE = {"x": 1e-4 * np.random.default_rng(3).standard_normal(4),
         "y": np.random.default_rng(4).standard_normal(4)}


def gauged_forward(x, y):
    return np.concatenate([1e4 * x, 1e-4 * y]), None


def gauged_backward(dout, cache, wrong=None):
    dx, dy = 1e4 * dout[:4], 1e-4 * dout[4:]
    if wrong == "scaled":
        dy = 1.01 * dy
    elif wrong == "sign":
        dy[2] = -dy[2]
    return dx, dy


def test_correct_gradient_of_a_small_scale_array_passes():
    result = check_function(gauged_forward, GAUGE, gauged_backward)
    assert result.passed(1e-7), str(result)
    # derivatives eight orders of magnitude apart
    assert abs(result["y"].analytic) < 1e-7 * abs(result["x"].analytic)


@pytest.mark.parametrize("wrong", ["scaled", "sign"])
def test_wrong_gradient_of_a_small_scale_array_fails(wrong):
    """1% off, or one entry of the wrong sign, in an array whose derivatives are 1e-4."""
    result = check_function(gauged_forward, GAUGE, functools.partial(gauged_backward, wrong=wrong))
    assert not result.passed(1e-7), str(result)
    assert result.errors["y"] > 1e-5 and result.errors["x"] < 1e-9
    # measured against the largest derivative of the whole check it would have passed
    assert result.check_scale_errors["y"] < 1e-7


class ZeroCore0(TTLinear):
    """A TTLinear layer that forgets the gradient of its first core."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["core0"][...] = 0
        return dx


def gauged_tt_layer(cls):
    """TTLinear((3,4),(2,3), ranks=3) with core0 x 1e4 and core1 x 1e-4: the same weight."""
    layer = cls((3, 4), (2, 3), ranks=3, dtype=np.float64, rng=0)
    weight = layer.weight()
    layer.params["core0"][...] *= 1e4
    layer.params["core1"][...] *= 1e-4
    np.testing.assert_allclose(layer.weight(), weight, rtol=1e-12, atol=1e-15)
    return layer


def test_gauge_cannot_hide_a_zeroed_core_gradient():
    x = np.random.default_rng(1).standard_normal((5, 12))
    good = check_module(gauged_tt_layer(TTLinear), x)
    bad = check_module(gauged_tt_layer(ZeroCore0), x)
    assert good.passed(1e-7), str(good)
    assert not bad.passed(1e-7), str(bad)
    assert bad.errors["core0"] > 1e-4 and bad["core0"].analytic == 0
    assert bad.check_scale_errors["core0"] < 1e-7          # the global measure is fooled
    assert max(v for k, v in bad.errors.items() if k != "core0") < 1e-8


def test_zero_gradient_passes_against_the_floor():
    """A convolution bias before BatchNorm (training mode) has gradient exactly 0."""
    from ttnet.nn import BatchNorm2d, Conv2d
    net = Sequential(Conv2d(2, 3, 3, dtype=np.float64, rng=0), BatchNorm2d(3, dtype=np.float64))
    result = check_module(net, np.random.default_rng(1).standard_normal((2, 2, 4, 4)))
    row = result["0.bias"]
    assert abs(row.analytic) < 1e-12 and result.passed(1e-7), str(result)
    assert row.scale == row.floor > 1e3 * abs(row.numeric)   # the floor, not the round-off


class NonzeroBias(Sequential):
    """Conv2d + BatchNorm2d whose conv-bias gradient is 1e-3 instead of exactly 0."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["0.bias"][...] = 1e-3
        return dx


def test_nonzero_gradient_where_the_true_one_is_zero_fails():
    from ttnet.nn import BatchNorm2d, Conv2d
    net = NonzeroBias(Conv2d(2, 3, 3, dtype=np.float64, rng=0), BatchNorm2d(3, dtype=np.float64))
    result = check_module(net, np.random.default_rng(1).standard_normal((2, 2, 4, 4)))
    assert not result.passed(1e-7) and result.errors["0.bias"] > 1e-4


def test_floor_is_sqrt_u_times_the_terms_of_L_over_the_step():
    """With a loss, L is the loss itself, so T = |L| (up to the O(h) perturbation)."""
    net = Linear(3, 4, dtype=np.float64, rng=0)
    x, labels = np.random.default_rng(1).standard_normal((5, 3)), np.array([0, 1, 2, 3, 0])
    loss = SoftmaxCrossEntropy()
    value = float(loss(net(x), labels))
    for step in (1e-6, 1e-4):
        result = check_module(net, x, loss=loss, labels=labels, step=step)
        for row in result.rows:
            assert row.floor == pytest.approx(np.sqrt(UNIT_ROUNDOFF) * value / step, rel=1e-3)
        for name, grad in net.grads.items():              # every entry of weight and bias checked
            expected = max(result[name].floor, np.abs(grad).max())
            assert result[name].scale == pytest.approx(expected, rel=1e-6)


def test_non_finite_derivatives_fail():
    def nan_backward(dout, cache):
        return np.full_like(cache, np.nan)

    x = np.ones(3)
    result = check_function(lambda v: (v * v, v), [x], nan_backward)
    assert result.errors["arg0"] == np.inf and not result.passed(1.0)
    with np.errstate(over="ignore"):                       # exp(800) overflows in the forward
        overflow = check_function(lambda v: (np.exp(v), v), [np.full(2, 800.0)],
                                  lambda dout, v: dout * np.exp(v))
    assert overflow.errors["arg0"] == np.inf and not overflow.passed(1.0)


def test_table_shows_the_error_against_both_scales():
    x = np.random.default_rng(1).standard_normal((5, 12))
    result = check_module(gauged_tt_layer(ZeroCore0), x)
    lines = str(result).splitlines()
    header = lines[0]
    assert "error/array scale" in header and "error/check scale" in header
    assert header.index("error/array scale") < header.index("error/check scale")
    row = result["core0"]
    assert f"{row.max_error:.1e}" != f"{row.check_scale_error:.1e}"
    line = next(line for line in lines if line.startswith("core0"))
    cells = line.split()
    # name, shape (4 tokens), checked, error/array scale, error/check scale, ...
    assert cells[6] == f"{row.max_error:.1e}" and cells[7] == f"{row.check_scale_error:.1e}"
    html = result._repr_html_()
    assert "<th>error/array scale</th><th>error/check scale</th>" in html
    assert f"<td>{row.max_error:.1e}</td><td>{row.check_scale_error:.1e}</td>" in html


class BadShape(Module):
    def __init__(self):
        super().__init__()
        self.add_param("w", np.ones(3))

    def forward(self, x):
        return x * self.params["w"]

    def backward(self, dout):
        self.grads["w"][...] = dout.sum(axis=0)
        return dout[:, :2]


@pytest.mark.parametrize("call, error, words", [
    (lambda: check_module(Linear(2, 2, rng=0), np.ones((1, 2), np.float32)), TypeError,
     "must be float64"),
    (lambda: check_module(Linear(2, 2, dtype=np.float64, rng=0), np.ones((1, 2), np.float32)),
     TypeError, "x must be float64"),
    (lambda: check_module(np.ones(2), np.ones(2)), TypeError, "module must be a ttnet.nn Module"),
    (lambda: check_module(Linear(2, 2, dtype=np.float64), np.ones((1, 2)), loss="mse"), TypeError,
     "loss must be"),
    (lambda: check_function(square_forward, "x", square_backward), TypeError, "inputs must be"),
    (lambda: check_function(square_forward, [np.ones(2)], None), TypeError, "callables"),
    (lambda: check_function(square_forward, [np.ones(2)], square_backward, step=0), ValueError,
     "step must be in"),
    (lambda: GradCheckResult([]).passed(-1e-7), ValueError, "tol must be in"),
    (lambda: GradCheckResult([]).passed("1e-7"), TypeError, "tol must be a real number"),
    (lambda: check_function(square_forward, [np.ones(2)], square_backward, max_entries=0),
     ValueError, "max_entries must be >= 1"),
    (lambda: check_function(functools.partial(F.linear_forward, bias=None),
                            [np.ones((1, 2)), np.ones((2, 2))], F.linear_backward), ValueError,
     "backward returned 3 gradient"),
    (lambda: check_module(BadShape(), np.ones((2, 3))), ValueError, "gradient of shape"),
])
def test_bad_input_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()
