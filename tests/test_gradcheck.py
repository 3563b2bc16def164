"""ttnet.gradcheck: it passes correct gradients, catches wrong ones, and leaves modules as found."""

import functools

import numpy as np
import pytest

from ttnet.gradcheck import GradCheckResult, check_function, check_module
from ttnet.nn import BatchNorm1d, Dropout, Linear, Module, Sequential, SoftmaxCrossEntropy
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


def test_error_is_relative_to_the_largest_derivative_of_the_check():
    """f(x, y) = (x, 1e-3·y): a right y-gradient of 1e-3 passes, a 2x wrong one does not."""
    def forward(x, y):
        return np.concatenate([x, 1e-3 * y]), None

    def backward(dout, cache, factor=1.0):
        return dout[:2], factor * 1e-3 * dout[2:]

    inputs = {"x": np.ones(2), "y": np.ones(2)}
    good = check_function(forward, inputs, backward)
    bad = check_function(forward, inputs, functools.partial(backward, factor=2.0))
    assert good.passed() and good.scale == pytest.approx(max(abs(good["x"].analytic), 1e-3),
                                                         rel=1)
    assert bad.errors["y"] > 1e-4 and bad.errors["x"] < 1e-9
    assert GradCheckResult([]).max_error == 0.0


def test_zero_gradient_passes():
    """A convolution bias before BatchNorm (training mode) has gradient exactly 0."""
    from ttnet.nn import BatchNorm2d, Conv2d
    net = Sequential(Conv2d(2, 3, 3, dtype=np.float64, rng=0), BatchNorm2d(3, dtype=np.float64))
    result = check_module(net, np.random.default_rng(1).standard_normal((2, 2, 4, 4)))
    assert abs(result["0.bias"].analytic) < 1e-12 and result.passed()


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
