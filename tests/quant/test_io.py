"""quant/io.py: the quantized weights file of ``ttnet quantize`` (round trip and refusals)."""

import numpy as np
import pytest

from ttnet import models
from ttnet.nn import Linear, Sequential
from ttnet.quant import QuantConfig, QuantizedFileError, load_quantized, ptq, save_quantized
from ttnet.train import save_checkpoint


def test_quantized_file_round_trip_and_float_checkpoint_refused(tmp_path, rng):
    net = models.build("tt-conv", input_shape=(1, 20, 20), width=0.125, conv_ranks=2, rng=0)
    for b in net.buffers.values():
        b[...] = rng.uniform(0.5, 1.5, b.shape)
    net.eval()
    path = tmp_path / "q.npz"
    save_quantized(path, net, 4, config={"model": "tt-conv"}, symmetric=False, method="mse")
    loaded = load_quantized(path)
    assert loaded.quant == QuantConfig(4, symmetric=False, method="mse")
    for name, (q, qp) in loaded.integers.items():
        assert q.dtype == np.uint8
    other = models.build("tt-conv", input_shape=(1, 20, 20), width=0.125, conv_ranks=2, rng=5)
    loaded.restore_model(other)
    other.eval()
    x = rng.standard_normal((3, 1, 20, 20)).astype(np.float32)
    np.testing.assert_array_equal(other(x), ptq(net, 4, symmetric=False, method="mse")(x))
    ckpt = tmp_path / "float.npz"
    save_checkpoint(ckpt, net)
    with pytest.raises(QuantizedFileError, match="float ttnet checkpoint.*ttnet quantize"):
        load_quantized(ckpt)
    with pytest.raises(QuantizedFileError, match="does not exist"):
        load_quantized(tmp_path / "none.npz")
    with pytest.raises(QuantizedFileError, match="do not fit"):
        loaded.restore_model(Sequential(Linear(2, 2)))
