#!/usr/bin/env python
"""Extract trained 3×3 convolution kernels from a ttnet checkpoint into a small ``.npz``.

Notebook 05 (``notebooks/05_tt_conv_layer.ipynb``) compresses *real trained*
kernels with the paper's TT-conv scheme and with the naive 4-D scheme. This
script takes them from a checkpoint of the dense ``conv`` network
(``ttnet.models.build("conv", ...)``): the kernel of the 64 → 64 convolution
and the kernel of one 128 → 128 convolution, found by their shapes
``(64, 64, 3, 3)`` and ``(128, 128, 3, 3)``, the first of each in the model's
parameter order (in the ``conv`` network: ``"3.weight"``, and ``"10.weight"``
of the three 128 → 128 convolutions ``"10.weight"``, ``"14.weight"``,
``"17.weight"``). It prints what it picked.

The EMA weights are used when the checkpoint has them (the paper evaluates
with the exponential moving average of the weights), otherwise the raw
parameters.

Output file (a plain ``.npz``, readable with ``np.load(path)`` without pickle):

* ``kernel_64``  (64, 64, 3, 3) float32 and ``kernel_128`` (128, 128, 3, 3) float32,
  in the ``(S, C, l, l)`` layout of ``ttnet.nn.Conv2d``;
* ``name_64``, ``name_128``: the parameter names they came from (0-d str);
* ``epoch``: completed epochs of the source checkpoint (0-d int64);
* ``weights``: ``"ema"`` or ``"params"`` (0-d str);
* ``test_acc``: test accuracy recorded for that epoch, NaN if none (0-d float64);
* ``source``: the checkpoint path as given (0-d str); ``model``: the run's model name.

The file is about 0.7 MB (float32 does not compress much).

Usage::

    PYTHONPATH=. python scripts/extract_kernels.py /work/runs/fmnist-conv/last.npz \\
        notebooks/data/trained_kernels.npz
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np

from ttnet.train import atomic_write, load_checkpoint
from ttnet.train.checkpoint import CheckpointError

#: (key in the output file, kernel shape looked for)
WANTED = (("64", (64, 64, 3, 3)), ("128", (128, 128, 3, 3)))


def pick_kernels(weights: dict[str, np.ndarray]) -> dict[str, tuple[str, np.ndarray]]:
    """The first parameter (in the model's order) of each wanted shape: ``{key: (name, array)}``.

    Raises
    ------
    SystemExit
        If a shape is missing (with the list of 4-D parameters found).
    """
    picked = {}
    for key, shape in WANTED:
        names = [name for name, arr in weights.items() if tuple(arr.shape) == shape]
        if not names:
            found = {name: tuple(arr.shape) for name, arr in weights.items() if arr.ndim == 4}
            raise SystemExit(f"no parameter of shape {shape} in the checkpoint; 4-D parameters: "
                             f"{found}")
        picked[key] = (names[0], weights[names[0]])
        others = f" (candidates: {', '.join(names)}; took the first)" if len(names) > 1 else ""
        print(f"kernel_{key}: {names[0]} {shape}{others}")
    return picked


def _model_name(config: dict) -> str:
    """The model name of a run configuration (the trainer nests it under ``"config"``)."""
    for source in (config.get("config"), config):
        if isinstance(source, dict) and isinstance(source.get("model"), str):
            return source["model"]
    return "?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="a ttnet checkpoint (.npz), e.g. RUN_DIR/last.npz")
    parser.add_argument("out", type=Path, help="output .npz file (its directory is created)")
    args = parser.parse_args(argv)

    try:
        ckpt = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        raise SystemExit(f"error: {exc}") from None
    if ckpt.ema is not None and all(f"shadow/{name}" in ckpt.ema for name in ckpt.params):
        weights = {name: ckpt.ema[f"shadow/{name}"] for name in ckpt.params}
        which = "ema"
    else:
        weights = dict(ckpt.params)
        which = "params"
    test_acc = ckpt.metrics[-1].get("test_acc", math.nan) if ckpt.metrics else math.nan
    test_acc = math.nan if test_acc is None else float(test_acc)
    model = str(_model_name(ckpt.config))
    print(f"checkpoint {args.checkpoint}: epoch {ckpt.epoch}, model {model!r}, "
          f"using the {'EMA weights' if which == 'ema' else 'raw parameters (no EMA saved)'}, "
          f"test accuracy {test_acc:.4f}")

    picked = pick_kernels(weights)
    arrays: dict[str, np.ndarray] = {
        "epoch": np.array(ckpt.epoch, dtype=np.int64),
        "weights": np.array(which),
        "test_acc": np.array(test_acc, dtype=np.float64),
        "source": np.array(os.fspath(args.checkpoint)),
        "model": np.array(model),
    }
    for key, (name, kernel) in picked.items():
        arrays[f"kernel_{key}"] = np.ascontiguousarray(kernel, dtype=np.float32)
        arrays[f"name_{key}"] = np.array(name)
        k = arrays[f"kernel_{key}"]
        print(f"  {name}: |K|_F = {np.linalg.norm(k):.4f}, std {k.std():.4f}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out, lambda f: np.savez_compressed(f, **arrays))
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.2f} MB)")
    if size >= 1_000_000:
        print("warning: the file is 1 MB or larger", file=sys.stderr)


if __name__ == "__main__":
    main()
