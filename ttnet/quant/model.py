"""Quantizing networks: which arrays, post-training quantization (PTQ) and quantization-aware
training (QAT).

Quantized arrays are the *weights*: the ``weight`` of :class:`~ttnet.nn.Linear`
and :class:`~ttnet.nn.Conv2d` (one scale per output channel, ``axis=0``, by
default) and every TT core ``core0, core1, …`` of the TT layers (one scale
per core). Biases, BatchNorm parameters and running statistics stay float32
(they are a few numbers per channel).

* :func:`ptq` returns a copy of a trained model whose weights are replaced by
  their quantized values ŵ (a plain float model: evaluate it as usual).
* :func:`qat_model` returns a copy whose weight layers are wrapped in
  :class:`QuantizedLayer`: the float weights stay the trainable parameters
  (same names as in the original model, so checkpoints and
  :func:`ttnet.experiments.copy_weights` work unchanged); every forward
  fake-quantizes them and the backward pass applies the straight-through
  estimator (:mod:`ttnet.quant.core`). Train it with the existing
  :class:`~ttnet.train.Trainer`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from .._checks import check_bool, check_choice, describe
from ..nn.layers import Conv2d, Linear, Sequential
from ..nn.module import Module
from ..nn.tt_layers import NaiveTTConv2d, TTConv2d, TTLinear
from .core import (METHODS, QuantParams, check_bits, choose_qparams, dequantize,
                   fake_quantize_backward, fake_quantize_forward, quantize)

__all__ = ["QuantConfig", "QuantizedLayer", "quantized_names", "qat_model", "ptq",
           "quantize_arrays", "WEIGHT_LAYERS", "quant_config", "leaf_layers"]

#: Layer classes whose weights are quantized.
WEIGHT_LAYERS = (Linear, Conv2d, TTLinear, TTConv2d, NaiveTTConv2d)


@dataclass(frozen=True)
class QuantConfig:
    """Bit width and rules of a quantized model.

    Attributes
    ----------
    bits : int in 2..8
    symmetric : bool
        Symmetric (default) or asymmetric integer grid.
    per_channel : bool
        Dense weights: one scale per output channel (default) or one per tensor.
        TT cores always get one scale per core.
    method : ``"max"`` or ``"mse"``
        Scale rule (:mod:`ttnet.quant.core`).
    """

    bits: int
    symmetric: bool = True
    per_channel: bool = True
    method: str = "max"

    def __post_init__(self) -> None:
        check_bits(self.bits)
        check_bool(self.symmetric, "symmetric")
        check_bool(self.per_channel, "per_channel")
        check_choice(self.method, "method", METHODS)

    def to_dict(self) -> dict[str, Any]:
        return {"bits": int(self.bits), "symmetric": bool(self.symmetric),
                "per_channel": bool(self.per_channel), "method": self.method}


def quant_config(bits: Any, symmetric: bool, per_channel: bool, method: str) -> QuantConfig:
    """``bits`` if it is a :class:`QuantConfig`, else the config of that bit width and rules."""
    if isinstance(bits, QuantConfig):
        return bits
    return QuantConfig(check_bits(bits), symmetric, per_channel, method)


def _axis(layer: Module, name: str, config: QuantConfig) -> int | None:
    """Scale axis of ``layer.params[name]``: 0 for a dense weight per channel, else None."""
    if isinstance(layer, (Linear, Conv2d)) and config.per_channel:
        return 0
    return None


def quantized_names(layer: Module) -> list[str]:
    """Names of ``layer``'s parameters that are quantized (none for a layer without weights)."""
    base = layer.inner if isinstance(layer, QuantizedLayer) else layer
    if isinstance(base, (Linear, Conv2d)):
        return ["weight"]
    if isinstance(base, (TTLinear, TTConv2d, NaiveTTConv2d)):
        return [f"core{k}" for k in range(base.n_cores)]
    return []


def leaf_layers(model: Module, prefix: str = "") -> Iterator[tuple[str, Module]]:
    """``(dotted prefix, layer)`` of every leaf layer (Sequential children flattened)."""
    if isinstance(model, Sequential):
        for k, child in enumerate(model.layers):
            yield from leaf_layers(child, f"{prefix}{k}.")
    else:
        yield prefix, model


def _check_model(model: Any) -> Module:
    if not isinstance(model, Module):
        raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
    if isinstance(model, QuantizedLayer) or any(isinstance(m, QuantizedLayer)
                                                 for m in model.modules()):
        raise ValueError("model already holds QuantizedLayer wrappers (it is a QAT model); "
                         "pass the float model")
    for prefix, layer in leaf_layers(model):
        if not isinstance(layer, WEIGHT_LAYERS) and any(
                name in ("weight",) or name.startswith("core") for name in layer.params):
            raise ValueError(f"model has a layer {prefix.rstrip('.') or '(root)'} of type "
                             f"{type(layer).__name__} whose weights ttnet.quant does not know "
                             f"how to quantize (known: "
                             f"{', '.join(c.__name__ for c in WEIGHT_LAYERS)})")
    return model


class QuantizedLayer(Module):
    """A weight layer whose weights are fake-quantized in every forward (QAT).

    ``params`` holds the float *master* weights under the inner layer's names
    (``weight`` or ``core0 …``, and ``bias``); the inner layer keeps its own
    copies, overwritten with ŵ before each forward, so its cache and backward
    see the quantized weights. Backward: the inner layer's gradient with
    respect to ŵ, masked by the straight-through estimator
    (:func:`ttnet.quant.core.fake_quantize_backward`); the bias is not quantized
    and its gradient passes unchanged.

    Parameters
    ----------
    layer : Linear, Conv2d, TTLinear, TTConv2d or NaiveTTConv2d
        Wrapped in place: its parameter arrays become the wrapper's master
        weights and it gets fresh copies (use :func:`qat_model` to leave the
        original model alone).
    config : QuantConfig, or bits (int)
    """

    def __init__(self, layer: Module, config: Any) -> None:
        super().__init__()
        if not isinstance(layer, WEIGHT_LAYERS):
            raise TypeError(f"layer must be one of {', '.join(c.__name__ for c in WEIGHT_LAYERS)}, "
                            f"got {describe(layer)}")
        self.config = quant_config(config, True, True, "max")
        self.inner = layer
        self.names = quantized_names(layer)
        self._masks: dict[str, Any] = {}
        for name, value in list(layer.params.items()):
            if name in self.names:
                self.add_param(name, value)                 # the master weight
                layer.params[name] = value.copy()           # what the inner layer computes with
            else:
                self.params[name] = value                   # bias: shared, not quantized
                self.grads[name] = layer.grads[name]
        self.training = layer.training

    def quant_params(self) -> dict[str, QuantParams]:
        """The :class:`QuantParams` of each quantized array at the current master weights."""
        return {name: choose_qparams(self.params[name], self.config.bits,
                                     symmetric=self.config.symmetric,
                                     axis=_axis(self.inner, name, self.config),
                                     method=self.config.method) for name in self.names}

    def forward(self, x: np.ndarray) -> np.ndarray:
        for name in self.names:
            w_hat, cache = fake_quantize_forward(
                self.params[name], self.config.bits, symmetric=self.config.symmetric,
                axis=_axis(self.inner, name, self.config), method=self.config.method)
            self.inner.params[name][...] = w_hat
            self._masks[name] = cache
        self._cache = True
        return self.inner.forward(x)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._last_cache()
        dx = self.inner.backward(dout)
        for name in self.names:
            self.grads[name][...] = fake_quantize_backward(self.inner.grads[name],
                                                           self._masks[name])
        return dx

    def weight(self) -> np.ndarray:
        """The dense weight of the inner layer at the quantized values ŵ of the last forward."""
        return self.inner.weight()

    def children(self) -> list[Module]:
        return [self.inner]

    def __repr__(self) -> str:
        c = self.config
        return (f"QuantizedLayer(bits={c.bits}, symmetric={c.symmetric}, "
                f"per_channel={c.per_channel}, method={c.method!r}, {self.inner!r})")


def _wrap(model: Module, config: QuantConfig) -> Module:
    if isinstance(model, Sequential):
        return Sequential(*[_wrap(child, config) for child in model.layers])
    if isinstance(model, WEIGHT_LAYERS):
        return QuantizedLayer(model, config)
    return model


def qat_model(model: Module, bits: Any, *, symmetric: bool = True, per_channel: bool = True,
              method: str = "max") -> Module:
    """A copy of ``model`` with every weight layer wrapped in :class:`QuantizedLayer`.

    Its ``params``, ``buffers`` and their names are those of ``model`` (float
    master weights), so it trains with :class:`~ttnet.train.Trainer` and saves
    and loads ordinary checkpoints. ``model`` itself is not changed.

    Parameters
    ----------
    model : Module (a Sequential of ttnet layers, or one weight layer)
    bits : int in 2..8, or a QuantConfig (then the keyword options are ignored)
    symmetric, per_channel, method : see :class:`QuantConfig`
    """
    _check_model(model)
    config = quant_config(bits, symmetric, per_channel, method)
    return _wrap(copy.deepcopy(model), config)


def quantize_arrays(model: Module, bits: Any, *, symmetric: bool = True,
                    per_channel: bool = True, method: str = "max"
                    ) -> dict[str, tuple[np.ndarray, QuantParams]]:
    """Integer arrays and their parameters for every quantized weight of ``model``.

    Returns
    -------
    dict mapping the parameter's name in ``model.params`` (e.g. ``"3.core1"``)
    to ``(q, qparams)``: ``q`` int8 (symmetric) or uint8 (asymmetric), of the
    weight's shape.
    """
    _check_model(model)
    config = quant_config(bits, symmetric, per_channel, method)
    out = {}
    for prefix, layer in leaf_layers(model):
        for name in quantized_names(layer):
            w = layer.params[name]
            qp = choose_qparams(w, config.bits, symmetric=config.symmetric,
                                axis=_axis(layer, name, config), method=config.method)
            out[prefix + name] = (quantize(w, qp), qp)
    return out


def ptq(model: Module, bits: Any, *, symmetric: bool = True, per_channel: bool = True,
        method: str = "max") -> Module:
    """Post-training quantization: a copy of ``model`` with each weight replaced by ŵ.

    The copy is an ordinary float model of the same architecture (evaluate it
    as usual); its weights take at most ``2^bits`` values per scale. ``model``
    is not changed. Options as :func:`qat_model`.
    """
    arrays = quantize_arrays(model, bits, symmetric=symmetric, per_channel=per_channel,
                             method=method)
    out = copy.deepcopy(model)
    for name, (q, qp) in arrays.items():
        target = out.params[name]
        target[...] = dequantize(q, qp, target.dtype)
    return out
