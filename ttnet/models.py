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

TT-conv channel modes: 64 = 4·4·4 and 128 = 4·8·4 (other channel counts, from
``width``, use :func:`ttnet.tt.factorize`); TT-FC modes 8192 = 8·8·8·16 →
1536 = 4·6·8·8 → 512 = 4·4·4·8. The first convolution always stays dense.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Sequence, TextIO

import numpy as np

from ._checks import check_dtype, check_int, check_int_sequence, check_rng, check_scalar
from .nn.layers import (BatchNorm1d, BatchNorm2d, Conv2d, Flatten, GlobalAvgPool2d, Linear,
                        MaxPool2d, ReLU, Sequential)
from .nn.module import Module
from .nn.tt_layers import NaiveTTConv2d, TTConv2d, TTLinear
from .tt import factorize

__all__ = ["MODEL_NAMES", "build", "summary", "channel_modes", "Summary"]

MODEL_NAMES = ("conv", "conv-fc", "tt-conv", "naive-tt-conv", "tt-conv-fc", "conv-tt-fc",
               "tt-conv-tt-fc")

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


def _uses(name: str) -> tuple[bool, bool, bool]:
    """(has a classifier head with FC layers, TT convs, TT FCs)."""
    fc_head = name.endswith("fc")
    tt_conv = name.startswith("tt-conv") or name == "naive-tt-conv"
    tt_fc = name.endswith("tt-fc")
    return fc_head, tt_conv, tt_fc


def _rank_list(value: Any, n_layers: int, n_ranks: int, default: Any, name: str
               ) -> list[tuple[int, ...]]:
    """One int for every bond of every layer, or one tuple of ``n_ranks`` ints per layer."""
    if value is None:
        value = default
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes)):
        if len(value) != n_layers:
            raise ValueError(f"{name} must be one int or {n_layers} tuples of {n_ranks} ranks "
                             f"(one per layer), got {len(value)} entries: {value!r}")
        out = []
        for k, item in enumerate(value):
            if isinstance(item, (Sequence, np.ndarray)) and not isinstance(item, (str, bytes)):
                out.append(check_int_sequence(item, f"{name}[{k}]", length=n_ranks, minimum=1))
            else:
                out.append((check_int(item, f"{name}[{k}]", minimum=1),) * n_ranks)
        return out
    r = check_int(value, name, minimum=1)
    return [(r,) * n_ranks] * n_layers


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
        ranks, or an input too small for the architecture.
    """
    if not isinstance(name, str) or name not in MODEL_NAMES:
        raise ValueError(f"name must be one of {', '.join(MODEL_NAMES)}; got {name!r}")
    C, H, W = check_int_sequence(input_shape, "input_shape", length=3, minimum=1)
    num_classes = check_int(num_classes, "num_classes", minimum=2)
    width = check_scalar(width, "width")
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    rng = check_rng(rng)
    dtype = check_dtype(dtype)
    fc_head, tt_conv, tt_fc = _uses(name)
    if conv_ranks is not None and not tt_conv:
        raise ValueError(f"conv_ranks is only used by models with TT-conv layers; {name!r} has none")
    if fc_ranks is not None and not tt_fc:
        raise ValueError(f"fc_ranks is only used by models with TT-FC layers; {name!r} has none")
    if min(H, W) < (8 if fc_head else 20):
        raise ValueError(f"input_shape {tuple(input_shape)} is too small for {name!r}: need "
                         f"H, W >= {8 if fc_head else 20}")

    c64, c128 = max(1, round(64 * width)), max(1, round(128 * width))
    conv_rank_list = _rank_list(conv_ranks, 5, 3, DEFAULT_CONV_RANK, "conv_ranks")
    naive = name == "naive-tt-conv"
    layers: list[Module] = []

    def conv_block(c_in: int, c_out: int, padding: int, index: int) -> None:
        if index == 0 or not tt_conv:
            layers.append(Conv2d(c_in, c_out, 3, padding=padding, bias=False, dtype=dtype,
                                 rng=rng))
        elif naive:
            layers.append(NaiveTTConv2d(c_in, c_out, conv_rank_list[index - 1], 3,
                                        padding=padding, bias=False, dtype=dtype, rng=rng))
        else:
            layers.append(TTConv2d(channel_modes(c_in, 3), channel_modes(c_out, 3),
                                   conv_rank_list[index - 1], 3, padding=padding, bias=False,
                                   dtype=dtype, rng=rng))
        layers.append(BatchNorm2d(c_out, eps=BN_EPS, dtype=dtype))
        layers.append(ReLU())

    last_padding = 1 if fc_head else 0
    plan = [(C, c64, 1), (c64, c64, 1), "pool", (c64, c128, 1), (c128, c128, 1), "pool",
            (c128, c128, last_padding), (c128, c128, last_padding)]
    index = 0
    for step in plan:
        if step == "pool":
            layers.append(MaxPool2d(3, stride=2, padding=1))
        else:
            conv_block(*step, index=index)
            index += 1

    if not fc_head:
        layers += [GlobalAvgPool2d(), Linear(c128, num_classes, bias=False, dtype=dtype, rng=rng)]
        return Sequential(*layers)

    h, w = (H + 1) // 2, (W + 1) // 2          # max-pool 3x3 / 2, padding 1
    h, w = (h + 1) // 2, (w + 1) // 2
    flat = c128 * h * w
    layers.append(Flatten())
    sizes = [flat, 1536, 512]
    fc_rank_list = _rank_list(fc_ranks, 2, 3, DEFAULT_FC_RANKS, "fc_ranks")
    for k in range(2):
        n_in, n_out = sizes[k], sizes[k + 1]
        if tt_fc:
            layers.append(TTLinear(channel_modes(n_in, 4), channel_modes(n_out, 4),
                                   fc_rank_list[k], bias=False, dtype=dtype, rng=rng))
        else:
            layers.append(Linear(n_in, n_out, bias=False, dtype=dtype, rng=rng))
        layers += [BatchNorm1d(n_out, eps=BN_EPS, dtype=dtype), ReLU()]
    layers.append(Linear(512, num_classes, bias=True, dtype=dtype, rng=rng))
    return Sequential(*layers)


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
    """Parameters of the dense layer a TT layer replaces (itself for any other layer)."""
    if isinstance(layer, (TTLinear, TTConv2d, NaiveTTConv2d)):
        bias = layer.params["bias"].size if "bias" in layer.params else 0
        return int(layer.weight().size + bias)
    return layer.n_params


def summary(model: Sequential, input_shape: Sequence[int], *, verbose: bool = True,
            file: TextIO | None = None) -> Summary:
    """Print the layers, their output shapes and parameter counts, and the compression.

    A forward pass on a zero batch of two images (in eval mode, so BatchNorm
    statistics are untouched; the previous mode is restored) gives the shapes.

    Parameters
    ----------
    model : Sequential
    input_shape : (C, H, W)
    verbose : bool
        Print the table (default True).
    file : text stream, optional
        Where to print (default: ``sys.stdout``).

    Returns
    -------
    Summary
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a ttnet.nn.Sequential, got {type(model).__name__}")
    shape = check_int_sequence(input_shape, "input_shape", minimum=1)
    dtype = next(iter(model.params.values())).dtype if model.params else np.float32
    was_training = model.training
    model.eval()
    try:
        x = np.zeros((2, *shape), dtype=dtype)
        result = Summary()
        for layer in model.children():
            x = layer.forward(x)
            p, dp = layer.n_params, _dense_twin_params(layer)
            result.rows.append((repr(layer), type(layer).__name__, tuple(x.shape[1:]), p, dp))
            result.n_params += p
            result.dense_params += dp
    finally:
        model.train(was_training)
    if verbose:
        print(result, file=sys.stdout if file is None else file)
    return result

