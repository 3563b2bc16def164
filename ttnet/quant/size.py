"""Model size in bytes at a bit width, counted from the arrays' shapes.

At ``bits = k`` a model stores

* every quantized weight / TT core as ``k`` bits per entry, packed:
  ``ceil(k · n / 8)`` bytes for an array of n entries;
* one float32 scale (4 bytes) per tensor or per slice, and with an
  asymmetric grid one 1-byte zero point per scale;
* everything else in float32: biases, BatchNorm γ, β and running mean and
  variance (4 bytes each).

With ``inference=True`` each BatchNorm counts as the affine map it is in eval
mode, ``a·x + c`` (2 numbers per channel instead of γ, β, μ, σ²): what an
inference file such as the ONNX export stores at most.

``bits=None`` counts the float32 model: 4 bytes for every parameter and buffer.
The *dense twin* of a TT model is the model with every TT layer replaced by
the dense layer whose weight it reconstructs (``layer.weight()``); its size is
counted by arithmetic, without forming the dense weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._checks import check_bool, describe
from ..nn.layers import Conv2d, Linear
from ..nn.module import Module
from ..nn.tt_layers import NaiveTTConv2d, TTConv2d, TTLinear
from .core import check_bits
from .model import QuantConfig, QuantizedLayer, leaf_layers, quant_config, quantized_names

__all__ = ["ModelSize", "model_size"]

FLOAT_BYTES = 4


@dataclass(frozen=True)
class ModelSize:
    """Bytes of a model at a bit width (module docstring).

    Attributes
    ----------
    bits : int or None (float32)
    weights : int
        Quantized weights and TT cores (float32 when ``bits`` is None).
    scales : int
        Scales and zero points.
    other : int
        Biases, BatchNorm parameters and running statistics, float32.
    """

    bits: int | None
    weights: int
    scales: int
    other: int

    @property
    def total(self) -> int:
        return self.weights + self.scales + self.other

    def __str__(self) -> str:
        what = "float32" if self.bits is None else f"{self.bits}-bit"
        return (f"{what}: {self.total:,} bytes ({self.total / 1024:,.1f} KB; weights "
                f"{self.weights:,}, scales {self.scales:,}, biases and BatchNorm {self.other:,})")


def _weight_shapes(layer: Module, dense_twin: bool) -> list[tuple[tuple[int, ...], bool]]:
    """(shape, is a dense weight) of each quantized array of ``layer``, or of its dense twin."""
    if dense_twin and isinstance(layer, TTLinear):
        return [((layer.out_features, layer.in_features), True)]
    if dense_twin and isinstance(layer, (TTConv2d, NaiveTTConv2d)):
        l = layer.kernel_size
        return [((layer.out_channels, layer.in_channels, l, l), True)]
    return [(layer.params[name].shape, isinstance(layer, (Linear, Conv2d)))
            for name in quantized_names(layer)]


def model_size(model: Module, bits: Any = None, *, symmetric: bool = True,
               per_channel: bool = True, dense_twin: bool = False,
               inference: bool = False) -> ModelSize:
    """Bytes of ``model`` (or of its dense twin) stored at ``bits`` bits.

    Parameters
    ----------
    model : Module (QAT wrappers are looked through)
    bits : int in 2..8, a QuantConfig, or None for float32
    symmetric : bool
        Asymmetric grids add one zero-point byte per scale.
    per_channel : bool
        Dense weights with one scale per output channel (else one per tensor).
    dense_twin : bool
        Count the dense twin instead (every TT layer as its dense layer).
    inference : bool
        BatchNorm as its eval-mode affine map: 2 float32 per channel, not 4.

    Returns
    -------
    ModelSize
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
    dense_twin = check_bool(dense_twin, "dense_twin")
    inference = check_bool(inference, "inference")
    config: QuantConfig | None = None
    if bits is not None:
        config = quant_config(bits if isinstance(bits, QuantConfig) else check_bits(bits),
                              symmetric, per_channel, "max")
    weights = scales = other = 0
    for _, leaf in leaf_layers(model):
        layer = leaf.inner if isinstance(leaf, QuantizedLayer) else leaf
        names = set(quantized_names(layer))
        other += FLOAT_BYTES * sum(p.size for n, p in layer.params.items() if n not in names)
        if not inference:
            other += FLOAT_BYTES * sum(b.size for b in layer.buffers.values())
        for shape, dense in _weight_shapes(layer, dense_twin):
            n = math.prod(shape)
            if config is None:
                weights += FLOAT_BYTES * n
                continue
            weights += math.ceil(config.bits * n / 8)
            n_scales = shape[0] if dense and config.per_channel else 1
            scales += n_scales * (FLOAT_BYTES + (0 if config.symmetric else 1))
    return ModelSize(None if config is None else config.bits, weights, scales, other)
