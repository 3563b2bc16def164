"""The quantized weights file written by ``ttnet quantize`` and read by ``ttnet eval``.

A ``.npz`` (no pickle) with

``meta``
    JSON: ``format`` = ``"ttnet-quantized"``, ``version``, ``quant`` (bits,
    symmetric, per_channel, method), ``config`` (the run settings of the
    source checkpoint, so the model can be rebuilt), ``epoch``, ``source``,
    ``use_ema``, and the lists ``quantized``, ``float`` and ``buffers`` of names.
``q/NAME``
    The integers of each quantized weight / TT core (int8 symmetric, uint8 asymmetric).
``scale/NAME``, ``zero/NAME``
    Its float32 scales and int32 zero points (:class:`~ttnet.quant.core.QuantParams`).
``float/NAME``, ``buffers/NAME``
    Biases, BatchNorm parameters and running statistics, as in the checkpoint.

Integers are stored one per byte whatever the bit width; the packed size at
k bits is what :func:`ttnet.quant.model_size` counts.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import check_bool, check_path
from .._files import atomic_write
from ..nn.module import Module
from ..train.checkpoint import CheckpointError
from .core import QuantParams, check_bits, dequantize
from .model import QuantConfig, quantize_arrays

__all__ = ["FORMAT", "VERSION", "QuantizedFileError", "QuantizedWeights", "save_quantized",
           "load_quantized", "is_quantized_file"]

FORMAT = "ttnet-quantized"
VERSION = 1


class QuantizedFileError(CheckpointError):
    """A quantized weights file is missing, unreadable, of another format, or does not fit."""


@dataclass
class QuantizedWeights:
    """The content of a quantized weights file (:func:`load_quantized`)."""

    path: str
    quant: QuantConfig
    config: dict[str, Any]
    epoch: int
    use_ema: bool
    integers: dict[str, tuple[np.ndarray, QuantParams]]
    floats: dict[str, np.ndarray]
    buffers: dict[str, np.ndarray]

    def restore_model(self, model: Module) -> None:
        """Write ŵ = s·(q − z) and the float arrays into ``model`` (same names and shapes)."""
        want = set(model.params)
        have = set(self.integers) | set(self.floats)
        if want != have or set(model.buffers) != set(self.buffers):
            differ = sorted((want ^ have) | (set(model.buffers) ^ set(self.buffers)))
            raise QuantizedFileError(f"quantized weights {self.path} do not fit this model: "
                                     f"arrays differ at {', '.join(differ[:5])}")
        for name, p in model.params.items():
            value = (dequantize(*self.integers[name], dtype=p.dtype) if name in self.integers
                     else self.floats[name])
            if value.shape != p.shape:
                raise QuantizedFileError(f"quantized weights {self.path}: {name} has shape "
                                         f"{value.shape}, the model {p.shape}")
            p[...] = value
        for name, b in model.buffers.items():
            b[...] = self.buffers[name]


def save_quantized(path: Any, model: Module, bits: Any, *, config: dict[str, Any],
                   epoch: int = 0, source: str = "", use_ema: bool = False,
                   symmetric: bool = True, per_channel: bool = True, method: str = "max") -> None:
    """Quantize ``model``'s weights and write them to ``path`` (atomically).

    ``config`` is the run configuration the model is rebuilt from (a checkpoint's
    ``config["config"]``).
    """
    path = check_path(path, "path")
    quant = QuantConfig(check_bits(bits), symmetric, per_channel, method)
    arrays = quantize_arrays(model, quant)
    meta = {"format": FORMAT, "version": VERSION, "quant": quant.to_dict(), "config": config,
            "epoch": int(epoch), "source": str(source), "use_ema": bool(use_ema),
            "quantized": list(arrays),
            "float": [n for n in model.params if n not in arrays],
            "buffers": list(model.buffers)}
    out: dict[str, np.ndarray] = {"meta": np.array(json.dumps(meta))}
    for name, (q, qp) in arrays.items():
        out[f"q/{name}"] = q
        out[f"scale/{name}"] = qp.scale
        out[f"zero/{name}"] = qp.zero_point
    for name in meta["float"]:
        out[f"float/{name}"] = model.params[name].astype(np.float32)
    for name in meta["buffers"]:
        out[f"buffers/{name}"] = model.buffers[name].astype(np.float32)
    atomic_write(path, lambda f: np.savez(f, **out))


def _read_meta(path: str) -> dict[str, Any] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            return json.loads(str(data["meta"][()])) if "meta" in data.files else None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def is_quantized_file(path: Any) -> bool:
    """Whether ``path`` is a readable file with the ``ttnet-quantized`` format tag."""
    path = os.fspath(check_path(path, "path"))
    if not os.path.isfile(path):
        return False
    meta = _read_meta(path)
    return isinstance(meta, dict) and meta.get("format") == FORMAT


def load_quantized(path: Any) -> QuantizedWeights:
    """Read a file written by :func:`save_quantized`.

    Raises
    ------
    QuantizedFileError
        The file does not exist or is unreadable, is a float ttnet checkpoint
        (quantize it first with ``ttnet quantize``), or is corrupt.
    """
    path = os.fspath(check_path(path, "path"))
    if not os.path.isfile(path):
        raise QuantizedFileError(f"quantized weights file {path} does not exist")
    meta = _read_meta(path)
    if not isinstance(meta, dict):
        raise QuantizedFileError(f"{path} is not a readable quantized weights file (.npz with a "
                                 f"'meta' entry)")
    if meta.get("format") != FORMAT:
        what = ("a float ttnet checkpoint" if meta.get("format") == "ttnet-checkpoint"
                else f"of format {meta.get('format')!r}")
        raise QuantizedFileError(f"{path} is {what}, not a quantized weights file; make one "
                                 f"with: ttnet quantize --checkpoint {path} --bits K --out FILE")
    if meta.get("version") != VERSION:
        raise QuantizedFileError(f"quantized weights file {path} has version "
                                 f"{meta.get('version')}; this ttnet reads version {VERSION}")
    try:
        quant = QuantConfig(**meta["quant"])
        with np.load(path, allow_pickle=False) as data:
            integers = {}
            for name in meta["quantized"]:
                q, scale, zero = (data[f"q/{name}"], data[f"scale/{name}"],
                                  data[f"zero/{name}"])
                axis = None if scale.ndim == 0 else 0     # per-slice scales: output channels
                integers[name] = (q, QuantParams(quant.bits, quant.symmetric, axis, scale, zero))
            floats = {name: data[f"float/{name}"] for name in meta["float"]}
            buffers = {name: data[f"buffers/{name}"] for name in meta["buffers"]}
    except (KeyError, TypeError, ValueError) as exc:
        raise QuantizedFileError(f"quantized weights file {path} is corrupt: {exc}") from None
    return QuantizedWeights(path, quant, meta["config"], int(meta["epoch"]),
                            check_bool(meta["use_ema"], "use_ema"), integers, floats, buffers)
