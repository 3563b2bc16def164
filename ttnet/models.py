"""The paper's CIFAR-10 networks (Garipov et al. 2016, §5) and their TT versions.

``build(name, ...)`` returns a :class:`~ttnet.nn.layers.Sequential`; every
convolution is 3 × 3 without bias and followed by BatchNorm (ε = 1e-3, as in
the authors' settings) and ReLU; max-pools are 3 × 3, stride 2, padding 1.

========================  ==========================================================
name                      layers
========================  ==========================================================
``conv``                  conv 64, conv 64, pool, conv 128, conv 128, pool,
                          conv 128, conv 128 (these two unpadded), global average
                          pool, linear → classes without bias
``conv-fc``               the six convs all padded, flatten (8·8·128 = 8192),
                          linear 1536 + BN + ReLU, linear 512 + BN + ReLU (both
                          without bias), linear → classes with bias
``tt-conv``               ``conv`` with convs 2–6 as :class:`~ttnet.nn.tt_layers.TTConv2d`
``naive-tt-conv``         ``conv`` with convs 2–6 as :class:`~ttnet.nn.tt_layers.NaiveTTConv2d`
``tt-conv-fc``            ``conv-fc`` with convs 2–6 as TTConv2d
``conv-tt-fc``            ``conv-fc`` with the two hidden linear layers as
                          :class:`~ttnet.nn.tt_layers.TTLinear`
``tt-conv-tt-fc``         both
========================  ==========================================================

The same table, in code, is :data:`ARCHITECTURES`: one list of layer specs
(:class:`Conv`, :class:`Pool`, :class:`GlobalPool`, :class:`Flat`,
:class:`Hidden`, :class:`Classifier`) per name; a new network is a new entry.

TT-conv channel modes: 64 = 4·4·4 and 128 = 4·8·4 (other channel counts, from
``width``, use :func:`ttnet.tt.factorize`); TT-FC modes 8192 = 8·8·8·16 →
1536 = 4·6·8·8 → 512 = 4·4·4·8. The first convolution always stays dense.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Sequence, TextIO

import numpy as np

from ._checks import (check_allocation, check_dtype, check_int, check_int_sequence, check_rng,
                      check_scalar)
from .nn.layers import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten,
                        GlobalAvgPool2d, Linear, MaxPool2d, ReLU, Sequential)
from .nn.module import Module
from .nn.tt_layers import NaiveTTConv2d, TTConv2d, TTLinear
from .ops.im2col import conv_output_shape
from .tt import factorize
from .tt.ranks import internal_ranks

__all__ = ["MODEL_NAMES", "ARCHITECTURES", "build", "summary", "channel_modes", "check_ranks",
           "model_parts", "ModelParts", "Summary", "CompressionWarning", "Conv", "Pool",
           "GlobalPool", "Flat", "Hidden", "Classifier"]

#: Batch-norm epsilon of the authors' experiments.
BN_EPS = 1e-3
#: Default internal ranks: 16 for every TT-conv bond; 40 and 30 for the two TT-FC layers.
DEFAULT_CONV_RANK = 16
DEFAULT_FC_RANKS = (40, 30)

_PAPER_MODES = {64: (4, 4, 4), 128: (4, 8, 4), 8192: (8, 8, 8, 16), 1536: (4, 6, 8, 8),
                512: (4, 4, 4, 8)}


def channel_modes(n: int, d: int) -> tuple[int, ...]:
    """TT modes for ``n`` channels or features: the paper's where it gives them, else balanced."""
    paper = _PAPER_MODES.get(n)
    if paper is not None and len(paper) == d:
        return paper
    return factorize(n, d)


# ---------------------------------------------------------------- the architectures, as a table
# Each network is a list of layer specs, in the paper's sizes (channels at width 1); _plan turns
# them into layers for a given width, input shape, ranks and dtype. Every Conv is followed by
# BatchNorm2d and ReLU, every Hidden by BatchNorm1d and ReLU.
class Conv(NamedTuple):
    """A 3 × 3 convolution without bias, + BatchNorm2d + ReLU."""

    kind: str       #: "dense" (Conv2d), "tt" (TTConv2d) or "naive-tt" (NaiveTTConv2d)
    channels: int   #: output channels at width 1
    padding: int


class Pool(NamedTuple):
    """A 3 × 3 max-pool, stride 2, padding 1."""


class GlobalPool(NamedTuple):
    """A global average pool: (C, H, W) → (C,)."""


class Flat(NamedTuple):
    """Flatten (C, H, W) → (C·H·W,)."""


class Hidden(NamedTuple):
    """A fully connected layer without bias, + BatchNorm1d + ReLU."""

    kind: str       #: "dense" (Linear) or "tt" (TTLinear)
    features: int


class Classifier(NamedTuple):
    """The last linear layer → ``num_classes`` logits."""

    bias: bool


def _convs(kind: str, last_padding: int) -> list:
    """The six convolutions and two pools every network starts with; convs 2–6 of ``kind``."""
    return [Conv("dense", 64, 1), Conv(kind, 64, 1), Pool(),
            Conv(kind, 128, 1), Conv(kind, 128, 1), Pool(),
            Conv(kind, 128, last_padding), Conv(kind, 128, last_padding)]


def _fc_head(kind: str) -> list:
    """Flatten, two hidden fully connected layers of ``kind``, the classifier with bias."""
    return [Flat(), Hidden(kind, 1536), Hidden(kind, 512), Classifier(bias=True)]


_AVERAGE_HEAD = [GlobalPool(), Classifier(bias=False)]

#: The networks of :data:`MODEL_NAMES`: each a list of layer specs (see the module docstring).
ARCHITECTURES: dict[str, list] = {
    "conv":          _convs("dense", last_padding=0) + _AVERAGE_HEAD,
    "conv-fc":       _convs("dense", last_padding=1) + _fc_head("dense"),
    "tt-conv":       _convs("tt", last_padding=0) + _AVERAGE_HEAD,
    "naive-tt-conv": _convs("naive-tt", last_padding=0) + _AVERAGE_HEAD,
    "tt-conv-fc":    _convs("tt", last_padding=1) + _fc_head("dense"),
    "conv-tt-fc":    _convs("dense", last_padding=1) + _fc_head("tt"),
    "tt-conv-tt-fc": _convs("tt", last_padding=1) + _fc_head("tt"),
}
#: The names :func:`build` takes.
MODEL_NAMES = tuple(ARCHITECTURES)

#: How many layers of a network can be TT: convs 2–6, and the two hidden FC layers.
N_TT_CONV, N_TT_FC = 5, 2


class ModelParts(NamedTuple):
    """What a network of :data:`MODEL_NAMES` holds besides dense convolutions."""

    fc_head: bool   #: a classifier head of fully connected layers (the ``...-fc`` models)
    tt_conv: bool   #: TT convolutions (TTConv2d or NaiveTTConv2d), which take ``conv_ranks``
    tt_fc: bool     #: TT fully connected layers (TTLinear), which take ``fc_ranks``


def model_parts(name: str) -> ModelParts:
    """The :class:`ModelParts` of the model called ``name`` (one of :data:`MODEL_NAMES`)."""
    if not isinstance(name, str) or name not in MODEL_NAMES:
        raise ValueError(f"name must be one of {', '.join(MODEL_NAMES)}; got {name!r}")
    layers = ARCHITECTURES[name]
    return ModelParts(fc_head=any(isinstance(s, Hidden) for s in layers),
                      tt_conv=any(isinstance(s, Conv) and s.kind != "dense" for s in layers),
                      tt_fc=any(isinstance(s, Hidden) and s.kind == "tt" for s in layers))


def _rank_list(value: Any, n_layers: int, n_ranks: int, default: Any, name: str
               ) -> list[tuple[int, ...]]:
    """One int for every bond of every layer, or one rank argument per layer.

    Each layer's ranks go through :func:`ttnet.tt.ranks.internal_ranks`.
    """
    if value is None:
        value = default
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes)):
        if len(value) != n_layers:
            raise ValueError(f"{name} must be one int or {n_layers} tuples of {n_ranks} ranks "
                             f"(one per layer), got {len(value)} entries: {value!r}")
        return [internal_ranks(item, n_ranks, f"{name}[{k}]") for k, item in enumerate(value)]
    return [internal_ranks(value, n_ranks, name)] * n_layers


def check_ranks(name: str, conv_ranks: Any = None, fc_ranks: Any = None, *,
                conv_name: str = "conv_ranks", fc_name: str = "fc_ranks"
                ) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Check the ranks given for model ``name``; return one rank tuple per TT-conv / TT-FC layer.

    :func:`build` calls it; the command line calls it with ``conv_name="--ranks"``
    and ``fc_name="--fc-ranks"`` so that its errors name the options.

    Returns
    -------
    conv_ranks : five tuples of three ints (the defaults where ``conv_ranks`` is None)
    fc_ranks : two tuples of three ints

    Raises
    ------
    ValueError, TypeError
        Unknown ``name``, ranks given for a model without such layers, a wrong
        number of ranks, or a rank that is not an integer >= 1.
    """
    _, tt_conv, tt_fc = model_parts(name)
    if conv_ranks is not None and not tt_conv:
        raise ValueError(f"{conv_name} is only used by models with TT-conv layers; {name!r} has "
                         f"none")
    if fc_ranks is not None and not tt_fc:
        raise ValueError(f"{fc_name} is only used by models with TT-FC layers; {name!r} has none")
    return (_rank_list(conv_ranks, N_TT_CONV, 3, DEFAULT_CONV_RANK, conv_name),
            _rank_list(fc_ranks, N_TT_FC, 3, DEFAULT_FC_RANKS, fc_name))


class CompressionWarning(UserWarning):
    """A TT layer has more parameters than the dense layer it replaces (its ranks are too large).

    Such a layer still works -- it represents the same kind of weight -- but it
    compresses nothing: lower its ranks (at most :func:`ttnet.tt.max_ranks` of
    its modes are ever useful).
    """


@dataclass
class _LayerSpec:
    """One layer of a network before it is built: its class and constructor arguments."""

    cls: type
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    weights: bool = False       # takes dtype and rng (every layer with a weight does)

    def build(self, dtype: np.dtype, rng: np.random.Generator) -> Module:
        extra = {"dtype": dtype, "rng": rng} if self.weights else {}
        return self.cls(*self.args, **self.kwargs, **extra)

    def param_counts(self) -> tuple[int, int]:
        """(parameters, parameters of its dense twin), by arithmetic: nothing is allocated.

        The formulas follow the core shapes documented by each layer class; a
        test checks them against the built layers.
        """
        cls, a, kw = self.cls, self.args, self.kwargs
        bias = kw.get("bias", True)
        if cls in (BatchNorm1d, BatchNorm2d):
            return 2 * a[0], 2 * a[0]
        if cls is Linear:
            n = a[1] * a[0] + bias * a[1]
            return n, n
        if cls is Conv2d:
            n = a[1] * a[0] * a[2] ** 2 + bias * a[1]
            return n, n
        if cls is TTLinear:
            in_modes, out_modes, ranks = a[:3]
            full = (1, *ranks, 1)
            n = sum(full[k] * out_modes[k] * in_modes[k] * full[k + 1]
                    for k in range(len(in_modes)))
            dense = math.prod(in_modes) * math.prod(out_modes)
            extra = bias * math.prod(out_modes)
            return n + extra, dense + extra
        if cls is TTConv2d:
            in_modes, out_modes, ranks, l = a[:4]
            full = (1, *ranks, 1)
            n = l * l * full[1] + sum(full[k + 1] * out_modes[k] * in_modes[k] * full[k + 2]
                                      for k in range(len(in_modes)))
            dense = math.prod(in_modes) * math.prod(out_modes) * l * l
            extra = bias * math.prod(out_modes)
            return n + extra, dense + extra
        if cls is NaiveTTConv2d:
            C, S, ranks, l = a[:4]
            r, modes = (1, *ranks, 1), (l, l, C, S)
            n = sum(r[k] * modes[k] * r[k + 1] for k in range(4))
            return n + bias * S, C * S * l * l + bias * S
        return 0, 0                 # ReLU, pooling, Flatten

    def describe(self) -> str:
        if self.cls is TTConv2d:
            return (f"TTConv2d {math.prod(self.args[0])} -> {math.prod(self.args[1])} channels, "
                    f"ranks {self.args[2]}")
        if self.cls is NaiveTTConv2d:
            return f"NaiveTTConv2d {self.args[0]} -> {self.args[1]} channels, ranks {self.args[2]}"
        if self.cls is TTLinear:
            return (f"TTLinear {math.prod(self.args[0])} -> {math.prod(self.args[1])} features, "
                    f"ranks {self.args[2]}")
        return self.cls.__name__


def _plan(name: str, C: int, H: int, W: int, num_classes: int, width: float,
          conv_rank_list: list[tuple[int, ...]], fc_rank_list: list[tuple[int, ...]],
          dtype: np.dtype, what: str) -> list[_LayerSpec]:
    """The layers of network ``name`` (its row of :data:`ARCHITECTURES`) as specs.

    Channel counts are scaled by ``width``; the k-th TT convolution takes
    ``conv_rank_list[k]`` and the k-th TT hidden layer ``fc_rank_list[k]``. The
    parameter count is added up layer by layer, arithmetically, and checked
    (:func:`ttnet._checks.check_allocation`) after each layer, so an absurd
    width is refused at the first (dense) convolution, before any channel
    count is factorised into TT modes.
    """
    specs: list[_LayerSpec] = []
    total = 0

    def add(spec: _LayerSpec, last: bool = False) -> None:
        nonlocal total
        specs.append(spec)
        total += spec.param_counts()[0]
        check_allocation(total, dtype, what if last else f"{what} (in its first {len(specs)} "
                         f"layers)", at_least=not last)

    channels, h, w = C, H, W          # the shape of one example after the layers so far
    features = 0                      # its length, once flattened
    conv_ranks, fc_ranks = iter(conv_rank_list), iter(fc_rank_list)
    for layer in ARCHITECTURES[name]:
        if isinstance(layer, Conv):
            out, conv_kw = max(1, round(layer.channels * width)), dict(padding=layer.padding,
                                                                       bias=False)
            if layer.kind == "dense":
                add(_LayerSpec(Conv2d, (channels, out, 3), conv_kw, True))
            elif layer.kind == "naive-tt":
                add(_LayerSpec(NaiveTTConv2d, (channels, out, next(conv_ranks), 3), conv_kw, True))
            else:
                add(_LayerSpec(TTConv2d, (channel_modes(channels, 3), channel_modes(out, 3),
                                          next(conv_ranks), 3), conv_kw, True))
            add(_LayerSpec(BatchNorm2d, (out,), dict(eps=BN_EPS, dtype=dtype)))
            add(_LayerSpec(ReLU))
            channels, h, w = out, h + 2 * layer.padding - 2, w + 2 * layer.padding - 2
        elif isinstance(layer, Pool):
            add(_LayerSpec(MaxPool2d, (3,), dict(stride=2, padding=1)))
            h, w = (h + 1) // 2, (w + 1) // 2
        elif isinstance(layer, GlobalPool):
            add(_LayerSpec(GlobalAvgPool2d))
            features = channels
        elif isinstance(layer, Flat):
            add(_LayerSpec(Flatten))
            features = channels * h * w
        elif isinstance(layer, Hidden):
            if layer.kind == "tt":
                add(_LayerSpec(TTLinear, (channel_modes(features, 4),
                                          channel_modes(layer.features, 4), next(fc_ranks)),
                               dict(bias=False), True))
            else:
                add(_LayerSpec(Linear, (features, layer.features), dict(bias=False), True))
            add(_LayerSpec(BatchNorm1d, (layer.features,), dict(eps=BN_EPS, dtype=dtype)))
            add(_LayerSpec(ReLU))
            features = layer.features
        else:                     # the Classifier, always last
            add(_LayerSpec(Linear, (features, num_classes), dict(bias=layer.bias), True),
                last=True)
    return specs


def _warn_overparametrised(specs: list[_LayerSpec], conv_ranks: Any, fc_ranks: Any) -> None:
    """Warn (:class:`CompressionWarning`) about TT layers larger than their dense twins."""
    given = {"conv_ranks": conv_ranks if conv_ranks is not None
             else f"{DEFAULT_CONV_RANK} (the default)",
             "fc_ranks": fc_ranks if fc_ranks is not None else f"{DEFAULT_FC_RANKS} (the default)"}
    lines = []
    for k, spec in enumerate(specs):
        if spec.cls not in (TTConv2d, NaiveTTConv2d, TTLinear):
            continue
        n, dense = spec.param_counts()
        if n > dense:
            arg = "fc_ranks" if spec.cls is TTLinear else "conv_ranks"
            lines.append(f"layer {k}, {spec.describe()} ({arg}={given[arg]}): {n:,} parameters, "
                         f"its dense twin {dense:,}")
    if lines:
        warnings.warn("TT layers with more parameters than the dense layers they replace (their "
                      "ranks are larger than they can use; lower them):\n  " + "\n  ".join(lines),
                      CompressionWarning, stacklevel=3)


def build(name: str, input_shape: Sequence[int] = (3, 32, 32), num_classes: int = 10,
          width: float = 1.0, conv_ranks: Any = None, fc_ranks: Any = None, rng: Any = None,
          dtype: Any = np.float32) -> Sequential:
    """Build one of the paper's networks.

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES`.
    input_shape : (C, H, W)
        Shape of one image; (3, 32, 32) for CIFAR-10, (1, 32, 32) for
        Fashion-MNIST padded to 32 × 32.
    num_classes : int
    width : float > 0
        Scales every channel count (64 → round(64 · width), at least 1), for
        laptop-sized runs; TT modes are chosen to match.
    conv_ranks : int or five tuples of three ints, optional
        Internal ranks ``(r_0, r_1, r_2)`` of each TT-conv layer (default 16 everywhere).
    fc_ranks : int or two tuples of three ints, optional
        Internal ranks of the two TT-FC layers (default 40 and 30 everywhere).
    rng : np.random.Generator, int seed or None
        Initialises every layer; a seed reproduces the network exactly.
    dtype : np.float32 or np.float64

    Returns
    -------
    Sequential

    Raises
    ------
    ValueError
        Unknown name, ranks given for a model without such layers, wrong number of
        ranks, an input too small for the architecture, or a network whose
        parameters (and their gradients) would not fit in this machine's memory:
        the parameter count is computed before anything is allocated and the
        message gives it.

    Warns
    -----
    CompressionWarning
        If a TT layer would have more parameters than the dense layer it
        replaces (ranks larger than the layer can use); both counts are given.
    """
    conv_rank_list, fc_rank_list = check_ranks(name, conv_ranks, fc_ranks)
    C, H, W = check_int_sequence(input_shape, "input_shape", length=3, minimum=1)
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    width = check_scalar(width, "width")
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    rng = check_rng(rng)
    dtype = check_dtype(dtype)
    fc_head, tt_conv, tt_fc = model_parts(name)
    if min(H, W) < (8 if fc_head else 20):
        raise ValueError(f"input_shape {tuple(input_shape)} is too small for {name!r}: need "
                         f"H, W >= {8 if fc_head else 20}")
    what = (f"{name!r} with width={width:g}" + (f", conv_ranks={conv_ranks!r}" if tt_conv else "")
            + (f", fc_ranks={fc_ranks!r}" if tt_fc else "")
            + (f", input_shape={(C, H, W)}" if fc_head else ""))
    specs = _plan(name, C, H, W, num_classes, width, conv_rank_list, fc_rank_list, dtype, what)
    _warn_overparametrised(specs, conv_ranks, fc_ranks)
    return Sequential(*[spec.build(dtype, rng) for spec in specs])


# ---------------------------------------------------------------------------
@dataclass
class Summary:
    """What :func:`summary` reports: one row per layer and the totals.

    ``compression`` is the parameter count of the dense twin (every TT layer
    replaced by the dense layer its ``weight()`` reconstructs, BatchNorm γ and β
    included, as in the paper) divided by that of the model.
    """

    rows: list[tuple[str, str, tuple[int, ...], int, int]] = field(default_factory=list)
    n_params: int = 0
    dense_params: int = 0

    @property
    def compression(self) -> float:
        return self.dense_params / self.n_params if self.n_params else float("nan")

    def __str__(self) -> str:
        header = ("#", "layer", "output shape", "params", "dense twin")
        cells = [(str(k), text, str(shape), f"{p:,}", f"{dp:,}")
                 for k, (text, _, shape, p, dp) in enumerate(self.rows)]
        widths = [max(len(r[i]) for r in [header] + cells) for i in range(5)]
        lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w)
                           in enumerate(zip(r, widths))) for r in [header] + cells]
        lines.append(f"total parameters: {self.n_params:,}   dense twin: {self.dense_params:,}   "
                     f"compression: {self.compression:.2f}x")
        return "\n".join(lines)


def _dense_twin_params(layer: Module) -> int:
    """Parameters of the dense layer a TT layer replaces (itself for any other layer).

    Counted from the layer's sizes: the dense weight is never formed (at a
    large width it would not fit in memory although the TT layer does).
    """
    bias = layer.params["bias"].size if "bias" in layer.params else 0
    if isinstance(layer, TTLinear):
        return layer.in_features * layer.out_features + bias
    if isinstance(layer, (TTConv2d, NaiveTTConv2d)):
        return layer.in_channels * layer.out_channels * layer.kernel_size ** 2 + bias
    return layer.n_params


def _output_shape(layer: Module, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape of one example after ``layer``, by arithmetic; None for a layer type unknown here.

    Only ttnet's own layer classes are known (not their subclasses, which may
    override ``forward``). Raises ValueError (naming what the layer expects) if
    ``shape`` does not fit the layer.
    """
    kind = type(layer)
    def expect(ok: bool, what: str) -> None:
        if not ok:
            raise ValueError(f"it expects {what}, gets an example of shape {shape}")

    if kind is Sequential:
        for child in layer.children():
            shape = _output_shape(child, shape)
            if shape is None:
                return None
        return shape
    if kind in (Conv2d, TTConv2d, NaiveTTConv2d):
        expect(len(shape) == 3 and shape[0] == layer.in_channels,
               f"{layer.in_channels} channels (C, H, W)")
        kernel = layer.kernel_size if kind is Conv2d else (layer.kernel_size,) * 2
        return (layer.out_channels,
                *conv_output_shape(shape[1:], kernel, layer.stride, layer.padding))
    if kind in (MaxPool2d, AvgPool2d):
        expect(len(shape) == 3, "(C, H, W)")
        return (shape[0], *conv_output_shape(shape[1:], layer.kernel_size, layer.stride,
                                             layer.padding))
    if kind is BatchNorm2d:
        expect(len(shape) == 3 and shape[0] == layer.num_features,
               f"{layer.num_features} channels (C, H, W)")
        return shape
    if kind is BatchNorm1d:
        expect(shape == (layer.num_features,), f"{layer.num_features} features")
        return shape
    if kind in (Linear, TTLinear):
        expect(shape == (layer.in_features,), f"{layer.in_features} features")
        return (layer.out_features,)
    if kind is GlobalAvgPool2d:
        expect(len(shape) == 3, "(C, H, W)")
        return shape[:1]
    if kind is Flatten:
        return (math.prod(shape),)
    if kind in (ReLU, Dropout):
        return shape
    return None


def summary(model: Sequential, input_shape: Sequence[int], *, verbose: bool = True,
            file: TextIO | None = None) -> Summary:
    """Print the layers, their output shapes and parameter counts, and the compression.

    Shapes and counts are computed from the layers' sizes, without running
    the network or forming a dense weight, so the summary of a network too
    large to run still works. A layer of a type not known here (your own
    Module subclass) gets its output shape from a forward pass on a zero
    batch of two examples, in eval mode (the previous mode is restored).

    Parameters
    ----------
    model : Sequential
    input_shape : (C, H, W)
        The shape of one example.
    verbose : bool
        Print the table (default True).
    file : text stream, optional
        Where to print (default: ``sys.stdout``).

    Returns
    -------
    Summary

    Raises
    ------
    ValueError
        If ``input_shape`` does not fit the model (the message names the layer).
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a ttnet.nn.Sequential, got {type(model).__name__}")
    shape = check_int_sequence(input_shape, "input_shape", minimum=1)
    dtype = next(iter(model.params.values())).dtype if model.params else np.float32
    result = Summary()
    for k, layer in enumerate(model.children()):
        try:
            out = _output_shape(layer, shape)
            if out is None:
                out = _forward_shape(layer, shape, dtype)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"input_shape {tuple(input_shape)} does not fit this model: layer "
                             f"{k} ({type(layer).__name__}): {exc}") from None
        shape = out
        p, dp = layer.n_params, _dense_twin_params(layer)
        result.rows.append((repr(layer), type(layer).__name__, shape, p, dp))
        result.n_params += p
        result.dense_params += dp
    if verbose:
        print(result, file=sys.stdout if file is None else file)
    return result


def _forward_shape(layer: Module, shape: tuple[int, ...], dtype: np.dtype) -> tuple[int, ...]:
    """Output shape of one example from a forward pass of two zero examples in eval mode."""
    was_training = layer.training
    layer.eval()
    try:
        return tuple(layer.forward(np.zeros((2, *shape), dtype=dtype)).shape[1:])
    finally:
        layer.train(was_training)
