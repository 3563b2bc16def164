"""Export a ttnet network to ONNX with the ``onnx`` package, straight from the NumPy arrays.

The graph takes a float32 batch ``input`` of shape ``(N, C, H, W)`` (``N``
free) and returns the logits ``output`` ``(N, classes)``, as ttnet's model in
eval mode.

========================  =====================================================================
ttnet layer               ONNX
========================  =====================================================================
Conv2d (+ BatchNorm2d)    ``Conv``; a BatchNorm right after it is folded into the weight and
                          bias: ``a = γ / √(σ² + ε)``, ``W' = a·W``, ``b' = a·(b − μ) + β``
Linear (+ BatchNorm1d)    ``Gemm`` (``transB=1``), BatchNorm folded the same way
TTConv2d, NaiveTTConv2d,  factored: the cores are the initializers and the dense weight is
TTLinear                  rebuilt in the graph (``Einsum`` of the cores, ``Reshape``), then
                          ``Conv`` / ``Gemm``; a following BatchNorm becomes a ``Mul`` of the
                          rebuilt weight by ``a`` and the bias ``b'``
BatchNorm alone           ``Mul`` and ``Add`` with ``a`` and ``β − a·μ``
ReLU, MaxPool2d,          ``Relu``, ``MaxPool``, ``AveragePool`` (padding counted),
AvgPool2d,                ``GlobalAveragePool`` + ``Flatten``, ``Flatten``; ``Dropout`` (the
GlobalAvgPool2d,          identity in eval mode) is left out
Flatten, Dropout
========================  =====================================================================

With ``bits=8`` every weight and TT core is stored as int8 (symmetric grid
[−127, 127], :mod:`ttnet.quant`, the same integers and scales as
:func:`ttnet.quant.ptq` with the same options) followed by ``DequantizeLinear``;
BatchNorm is then applied to the dequantized weight with a ``Mul`` (folding it
into the integers would change them). Only 8 bits: ``DequantizeLinear``
takes int8/uint8 inputs, and narrower integers would need bit packing.
"""

from __future__ import annotations

import os
import string
from typing import Any, Sequence

import numpy as np

from .._checks import check_int_sequence, check_path, describe
from ..nn.layers import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten,
                         GlobalAvgPool2d, Linear, MaxPool2d, ReLU, Sequential)
from ..nn.module import Module
from ..nn.tt_layers import NaiveTTConv2d, TTConv2d, TTLinear
from ..quant import QuantConfig, QuantizedLayer, choose_qparams, model_size, quantize

__all__ = ["export_onnx", "require_onnx", "OPSET", "SUPPORTED_LAYERS", "tt_einsum_equation",
           "DEPLOY_HINT"]

#: ONNX opset of the exported graphs (Einsum from 12, per-axis DequantizeLinear from 13).
OPSET = 17
SUPPORTED_LAYERS = (Conv2d, Linear, TTConv2d, NaiveTTConv2d, TTLinear, BatchNorm1d, BatchNorm2d,
                    ReLU, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Flatten, Dropout)
_WEIGHT_LAYERS = (Conv2d, Linear, TTConv2d, NaiveTTConv2d, TTLinear)


DEPLOY_HINT = "install the extra 'deploy': pip install 'ttnet[deploy]' (onnx and onnxruntime)"


def require_onnx() -> Any:
    """The ``onnx`` module, or an ImportError saying which extra to install."""
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(f"ONNX export needs the onnx package ({exc}); {DEPLOY_HINT}") from None
    return onnx


def tt_einsum_equation(layer: Module) -> tuple[str, tuple[int, ...]]:
    """Einsum equation over the cores of a TT layer giving its dense weight, and the Reshape.

    ``np.einsum(equation, *layer.cores).reshape(shape)`` equals ``layer.weight()``
    (tested), the graph does the same with ONNX ``Einsum`` and ``Reshape``:

    * TTLinear, cores ``(r, m_k, n_k, r')``: output letters ``m_1…m_d n_1…n_d``,
      reshaped to ``(M, N)``;
    * TTConv2d, cores ``(1, 1, l², r_0)`` and ``(r, s_k, c_k, r')``: output
      ``s_1…s_d c_1…c_d L``, reshaped to ``(S, C, l, l)`` (``L = i·l + j``);
    * NaiveTTConv2d, cores ``(r, n, r')`` for the modes ``(l, l, C, S)``:
      output ``S C i j``, shape ``(S, C, l, l)``.
    """
    letters = iter(string.ascii_lowercase)
    cores = layer.cores
    bonds = [next(letters) for _ in range(len(cores) + 1)]
    if isinstance(layer, TTLinear):
        rows = [next(letters) for _ in cores]
        cols = [next(letters) for _ in cores]
        terms = [bonds[k] + rows[k] + cols[k] + bonds[k + 1] for k in range(len(cores))]
        return (",".join(terms) + "->" + "".join(rows) + "".join(cols),
                (layer.out_features, layer.in_features))
    if isinstance(layer, TTConv2d):
        pad, space = next(letters), next(letters)
        rows = [next(letters) for _ in cores[1:]]
        cols = [next(letters) for _ in cores[1:]]
        terms = [bonds[0] + pad + space + bonds[1]]
        terms += [bonds[k] + rows[k - 1] + cols[k - 1] + bonds[k + 1]
                  for k in range(1, len(cores))]
        l = layer.kernel_size
        return (",".join(terms) + "->" + "".join(rows) + "".join(cols) + space,
                (layer.out_channels, layer.in_channels, l, l))
    if isinstance(layer, NaiveTTConv2d):
        modes = [next(letters) for _ in cores]            # i, j, c, s
        terms = [bonds[k] + modes[k] + bonds[k + 1] for k in range(4)]
        l = layer.kernel_size
        return (",".join(terms) + "->" + modes[3] + modes[2] + modes[0] + modes[1],
                (layer.out_channels, layer.in_channels, l, l))
    raise TypeError(f"layer must be a TT layer, got {describe(layer)}")


def _flat_layers(model: Module) -> list[Module]:
    if isinstance(model, Sequential):
        return [leaf for child in model.layers for leaf in _flat_layers(child)]
    return [model]


def _check_layers(layers: list[Module]) -> None:
    for k, layer in enumerate(layers):
        if isinstance(layer, QuantizedLayer):
            raise ValueError(f"model layer {k} is a QuantizedLayer (a quantization-aware "
                             f"model): export the float model holding its master weights "
                             f"(ttnet.experiments.load_model(path, qat=False)) with bits=8")
        if type(layer) not in SUPPORTED_LAYERS:
            raise ValueError(f"model has a layer the ONNX exporter does not support: layer {k}, "
                             f"{type(layer).__name__} (supported: "
                             f"{', '.join(c.__name__ for c in SUPPORTED_LAYERS)})")


class _Graph:
    """Nodes and initializers being collected, with unique names."""

    def __init__(self, onnx: Any, numpy_helper: Any) -> None:
        self.onnx, self.nh = onnx, numpy_helper
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.count = 0
        self.init_bytes = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, array: np.ndarray, base: str) -> str:
        name = self.name(base)
        self.inits.append(self.nh.from_array(np.ascontiguousarray(array), name))
        self.init_bytes += np.asarray(array).nbytes
        return name

    def node(self, op: str, inputs: Sequence[str], base: str | None = None, **attrs: Any) -> str:
        out = self.name(base or op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [out], **attrs))
        return out


def _bn_affine(bn: Module) -> tuple[np.ndarray, np.ndarray]:
    """``(a, c)`` with ``BN(x) = a·x + c`` in eval mode, float64."""
    gamma = bn.params["gamma"].astype(np.float64)
    beta = bn.params["beta"].astype(np.float64)
    mean = bn.running_mean.astype(np.float64)
    var = bn.running_var.astype(np.float64)
    a = gamma / np.sqrt(var + bn.eps)
    return a, beta - a * mean


def _weight_input(g: _Graph, array: np.ndarray, axis: int | None, quant: QuantConfig | None,
                  base: str) -> str:
    """An initializer (float32), or int8 + scale + DequantizeLinear when quantized."""
    if quant is None:
        return g.const(array.astype(np.float32), base)
    qp = choose_qparams(array, quant.bits, symmetric=True, axis=axis, method=quant.method)
    q = quantize(array, qp)
    scale = qp.scale.reshape(-1) if axis is not None else qp.scale.reshape(())
    zero = np.zeros(scale.shape, dtype=np.int8)
    attrs = {"axis": axis} if axis is not None else {}
    return g.node("DequantizeLinear", [g.const(q, base + "_int8"), g.const(scale, base + "_scale"),
                                       g.const(zero, base + "_zero")], base, **attrs)


def _rebuilt_weight(g: _Graph, layer: Module, quant: QuantConfig | None) -> str:
    cores = [_weight_input(g, core, None, quant, f"core{k}") for k, core in enumerate(layer.cores)]
    equation, shape = tt_einsum_equation(layer)
    full = g.node("Einsum", cores, "tt_full", equation=equation)
    return g.node("Reshape", [full, g.const(np.array(shape, dtype=np.int64), "shape")], "weight")


def export_onnx(model: Module, path: Any, input_shape: Sequence[int], *, bits: int | None = None,
                method: str = "max", per_channel: bool = True,
                normalizer: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``model`` (eval-mode semantics) as an ONNX file at ``path``.

    Parameters
    ----------
    model : Sequential of the layers in :data:`SUPPORTED_LAYERS` (float, not a QAT model)
    path : output ``.onnx`` file
    input_shape : (C, H, W) of one example
    bits : None (float32) or 8 (int8 weights and cores, DequantizeLinear)
    method, per_channel : scale rule and granularity of the int8 weights
        (:class:`ttnet.quant.QuantConfig`; TT cores have one scale per core)
    normalizer : dict with ``mean`` and ``std`` (per channel, pixel units), optional
        Prepend ``(x − mean) / std``, so the graph takes raw pixel values.

    Returns
    -------
    dict with ``file_bytes`` (size of the file), ``initializer_bytes`` (raw
    bytes of the stored arrays), ``counted_bytes`` (:func:`ttnet.quant.model_size`
    at ``bits``, or float32, with ``inference=True``: BatchNorm as 2 numbers per
    channel) and ``path``.

    Raises
    ------
    ValueError
        A layer the exporter does not support (named with its index), a QAT
        model, or ``bits`` other than None or 8.
    """
    onnx = require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    if not isinstance(model, Module):
        raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
    path = check_path(path, "path")
    input_shape = check_int_sequence(input_shape, "input_shape", length=3, minimum=1)
    if bits is not None and (isinstance(bits, bool) or bits != 8):
        raise ValueError(f"bits must be None (float32) or 8 for ONNX export (DequantizeLinear "
                         f"reads int8), got {bits!r}")
    quant = QuantConfig(8, True, per_channel, method) if bits == 8 else None
    layers = _flat_layers(model)
    _check_layers(layers)

    g = _Graph(onnx, numpy_helper)
    x = "input"
    if normalizer is not None:
        mean = np.asarray(normalizer["mean"], dtype=np.float32).reshape(-1, 1, 1)
        std = np.asarray(normalizer["std"], dtype=np.float32).reshape(-1, 1, 1)
        x = g.node("Sub", [x, g.const(mean, "norm_mean")])
        x = g.node("Div", [x, g.const(std, "norm_std")])
    k = 0
    while k < len(layers):
        layer = layers[k]
        bn = layers[k + 1] if k + 1 < len(layers) and isinstance(
            layers[k + 1], (BatchNorm1d, BatchNorm2d)) else None
        if isinstance(layer, _WEIGHT_LAYERS):
            conv = not isinstance(layer, (Linear, TTLinear))
            out_features = layer.out_channels if conv else layer.out_features
            bias = (layer.params["bias"].astype(np.float64) if "bias" in layer.params
                    else np.zeros(out_features))
            a = None
            if bn is not None:
                a, c = _bn_affine(bn)
                bias = a * bias + c
            if isinstance(layer, (Linear, Conv2d)):
                w = layer.params["weight"]
                if quant is None and a is not None:        # fold BN into the float weight
                    shape = (-1,) + (1,) * (w.ndim - 1)
                    weight = g.const((w.astype(np.float64) * a.reshape(shape)).astype(np.float32),
                                     "weight")
                    a = None
                else:
                    weight = _weight_input(g, w, 0 if quant and quant.per_channel else None,
                                           quant, "weight")
            else:
                weight = _rebuilt_weight(g, layer, quant)
            if a is not None:                              # BN scale on the rebuilt weight
                shape = (-1, 1, 1, 1) if conv else (-1, 1)
                weight = g.node("Mul", [weight, g.const(a.astype(np.float32).reshape(shape),
                                                        "bn_scale")], "weight_bn")
            b = g.const(bias.astype(np.float32), "bias")
            if conv:
                (ph, pw), (sh, sw) = layer.padding, layer.stride
                x = g.node("Conv", [x, weight, b], "conv", pads=[ph, pw, ph, pw],
                           strides=[sh, sw])
            else:
                x = g.node("Gemm", [x, weight, b], "gemm", transB=1)
            k += 2 if bn is not None else 1
            continue
        if isinstance(layer, (BatchNorm1d, BatchNorm2d)):
            a, c = _bn_affine(layer)
            shape = (-1, 1, 1) if isinstance(layer, BatchNorm2d) else (-1,)
            x = g.node("Mul", [x, g.const(a.astype(np.float32).reshape(shape), "bn_a")])
            x = g.node("Add", [x, g.const(c.astype(np.float32).reshape(shape), "bn_c")])
        elif isinstance(layer, ReLU):
            x = g.node("Relu", [x])
        elif isinstance(layer, (MaxPool2d, AvgPool2d)):
            (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
            attrs = dict(kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw])
            if isinstance(layer, AvgPool2d):
                attrs["count_include_pad"] = 1
            x = g.node("MaxPool" if isinstance(layer, MaxPool2d) else "AveragePool", [x],
                       **attrs)
        elif isinstance(layer, GlobalAvgPool2d):
            x = g.node("Flatten", [g.node("GlobalAveragePool", [x])], axis=1)
        elif isinstance(layer, Flatten):
            x = g.node("Flatten", [x], axis=1)
        # Dropout: the identity in eval mode
        k += 1
    g.nodes.append(helper.make_node("Identity", [x], ["output"]))
    graph = helper.make_graph(
        g.nodes, "ttnet", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                         ["N", *input_shape])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", "classes"])],
        g.inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                   producer_name="ttnet")
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, os.fspath(path))
    counted = model_size(model, bits, per_channel=per_channel, inference=True).total
    return {"path": str(path), "file_bytes": os.path.getsize(path),
            "initializer_bytes": g.init_bytes, "counted_bytes": counted}
