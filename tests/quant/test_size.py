"""quant/size.py: the bytes of a model at k bits, by hand and against the model summary."""

import math

from ttnet import models
from ttnet.nn import BatchNorm1d, Linear, ReLU, Sequential, TTLinear
from ttnet.quant import model_size, qat_model


def test_model_size_by_hand():
    net = Sequential(Linear(4, 3, bias=True), BatchNorm1d(3), ReLU(),
                     TTLinear((2, 2), (3, 1), 2, bias=False))
    other = 4 * (3 + 4 * 3)                       # bias + gamma, beta, running mean, var
    cores = (1 * 3 * 2 * 2, 2 * 1 * 2 * 1)       # core shapes (1,3,2,2), (2,1,2,1)
    tt = sum(cores)
    f32 = model_size(net)
    assert (f32.weights, f32.scales, f32.other) == (4 * (12 + tt), 0, other)
    s4 = model_size(net, 4)
    assert s4.weights == math.ceil(4 * 12 / 8) + sum(math.ceil(4 * n / 8) for n in cores)
    assert s4.scales == 4 * (3 + 2)               # 3 channel scales + one per core
    assert s4.other == other and s4.total == s4.weights + s4.scales + s4.other
    s3a = model_size(net, 3, symmetric=False, per_channel=False)
    assert s3a.weights == math.ceil(3 * 12 / 8) + sum(math.ceil(3 * n / 8) for n in cores)
    assert s3a.scales == 5 * 3                    # one scale + zero point per tensor, 3 tensors
    twin = model_size(net, 4, dense_twin=True)
    assert twin.weights == math.ceil(4 * 12 / 8) + math.ceil(4 * 12 / 8)
    assert twin.scales == 4 * (3 + 3)
    assert model_size(qat_model(net, 4), 4) == s4
    assert model_size(net, 4, inference=True).other == 4 * (3 + 2 * 3)   # bias, BN as a·x + c


def test_model_size_dense_twin_matches_the_summary():
    net = models.build("tt-conv-tt-fc", input_shape=(1, 28, 28), width=0.25, conv_ranks=4,
                       fc_ranks=4, rng=0)
    s = models.summary(net, (1, 28, 28), verbose=False)
    n_buffers = sum(b.size for b in net.buffers.values())
    assert model_size(net).total == 4 * (s.n_params + n_buffers)
    assert model_size(net, dense_twin=True).total == 4 * (s.dense_params + n_buffers)
