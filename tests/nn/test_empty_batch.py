"""An empty batch (B = 0) is a valid batch: every layer maps it to an empty output, its backward
pass to an empty input gradient, and the parameter gradients it writes are zeros (a sum over no
examples), on the numba kernels and on their NumPy twins alike."""

import numpy as np
import pytest

from ttnet import nn
from ttnet.nn.tt_layers import NaiveTTConv2d, TTConv2d, TTLinear

LAYERS = {
    "Linear": (lambda: nn.Linear(5, 4), (0, 5), (0, 4)),
    "Conv2d": (lambda: nn.Conv2d(3, 4, 3, padding=1), (0, 3, 8, 8), (0, 4, 8, 8)),
    "Conv2d-winograd": (lambda: nn.Conv2d(3, 4, 3, padding=1, algorithm="winograd"),
                        (0, 3, 8, 8), (0, 4, 8, 8)),
    "Conv2d-stride-2": (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), (0, 3, 8, 8),
                        (0, 4, 4, 4)),
    "BatchNorm2d-eval": (lambda: nn.BatchNorm2d(3).eval(), (0, 3, 8, 8), (0, 3, 8, 8)),
    "ReLU": (lambda: nn.ReLU(), (0, 3, 8, 8), (0, 3, 8, 8)),
    "MaxPool2d": (lambda: nn.MaxPool2d(2), (0, 3, 8, 8), (0, 3, 4, 4)),
    "AvgPool2d": (lambda: nn.AvgPool2d(2), (0, 3, 8, 8), (0, 3, 4, 4)),
    "GlobalAvgPool2d": (lambda: nn.GlobalAvgPool2d(), (0, 3, 8, 8), (0, 3)),
    "Flatten": (lambda: nn.Flatten(), (0, 3, 2, 2), (0, 12)),
    "TTLinear": (lambda: TTLinear((2, 2), (2, 2), 2), (0, 4), (0, 4)),
    "NaiveTTConv2d": (lambda: NaiveTTConv2d(4, 4, 2, 3, padding=1), (0, 4, 8, 8), (0, 4, 8, 8)),
}
for _algorithm in ("full", "separable", "sequential"):
    LAYERS[f"TTConv2d-{_algorithm}"] = (
        lambda a=_algorithm: TTConv2d((2, 2), (2, 2), 2, 3, padding=1, algorithm=a),
        (0, 4, 8, 8), (0, 4, 8, 8))


@pytest.mark.parametrize("numba_flag", ["1", "0"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_an_empty_batch_goes_forward_and_back(name, numba_flag, monkeypatch):
    monkeypatch.setenv("TTNET_NUMBA", numba_flag)
    make, in_shape, out_shape = LAYERS[name]
    layer = make()
    for grad in layer.grads.values():          # so that "zeros" below is written, not left over
        grad[...] = np.nan
    out = layer.forward(np.zeros(in_shape, np.float32))
    assert out.shape == out_shape and out.dtype == np.float32
    dx = layer.backward(np.zeros(out_shape, np.float32))
    assert dx.shape == in_shape and dx.dtype == np.float32
    for key, grad in layer.grads.items():
        np.testing.assert_array_equal(grad, 0.0, err_msg=f"{name}: grads[{key!r}]")


def test_a_shape_with_an_empty_axis_other_than_the_batch_is_refused():
    with pytest.raises(ValueError, match=r"input_shape\[1\] must be >= 1, got 0 .*only the batch"):
        TTLinear((2, 2), (2, 2), 2).cost((3, 0))
    with pytest.raises(ValueError, match=r"input_shape\[0\] must be >= 0, got -1"):
        TTConv2d((2, 2), (2, 2), 2, 3).cost((-1, 4, 8, 8))
