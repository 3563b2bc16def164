"""Benchmark: ttnet against PyTorch CPU on the same work, side by side in one process.

    PYTHONPATH=. python benchmarks/bench_vs_torch.py [--repeats N] [--quick] [--per-layer]

Needs the optional extra ``torch`` (``pip install -e ".[torch]"``); without it the
script says so and exits with status 0 (nothing to compare). float32, batch 128
(``--quick``: batch 8, one repeat, a smoke run of a few seconds).

Layers, forward + backward (median of ``--repeats`` after one warm-up pass):

* TTConv2d 64 → 64 at 32 × 32, 3 × 3, padding 1, modes 4·4·4, ranks 4 and 16,
  ttnet's ``auto``, ``full``, ``sequential`` and ``separable``, against PyTorch's dense
  ``Conv2d`` of the same shape and against PyTorch rebuilding the kernel from
  the same cores on every pass (:mod:`ttnet.interop.torch`, ``full``);
* TTLinear 8192 → 1536, modes (8,8,8,16) → (4,6,8,8), ranks 8 and 40, the same
  way against ``Linear``;
* the dense Conv2d and Linear themselves.

Whole training steps (forward, softmax cross-entropy, backward, SGD with
momentum 0.9; no data loading, no EMA) of ``conv-fc`` and ``tt-conv-tt-fc``
(TT-conv ranks 16, TT-FC ranks 40, 30) at 3 × 32 × 32, in images/s; PyTorch runs
the network converted by :func:`ttnet.interop.torch.to_torch` with its TT
layers as ``full`` and as ``sequential``, and the faster is the reference.

With ``--per-layer``, a third table times each layer of those two networks on its own
(forward + backward at the input it gets in the network, input gradient included, ttnet
against the same layer of the converted PyTorch network, its TT layers ``full``): where
the whole-step ratio comes from.

Each table prints ms (or images/s), the GFLOP/s implied by the operation count
where one is defined (2 FLOPs per multiply-add; for TT layers the cost model
``layer.cost``), and the ratio ttnet / PyTorch of time (below 1: ttnet is
faster). The machine is shared and noisy: compare the ratios, which come from
one run, and run it when nothing else is.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

import ttnet  # noqa: F401  (first, so that its OPENBLAS_THREAD_TIMEOUT default applies)
import numpy as np

from ttnet import models
from ttnet.nn import Conv2d, Linear, SoftmaxCrossEntropy
from ttnet.nn import tt_functional as TF
from ttnet.nn.tt_layers import TTConv2d, TTLinear
from ttnet.train import SGD

from layer_timing import median_ms, ttnet_layer_step  # benchmarks/layer_timing.py


def torch_layer_step(torch, module, x: np.ndarray) -> Callable[[], object]:
    """Forward + backward of a torch module with an all-ones output gradient (input gradient
    included), as :func:`layer_timing.ttnet_layer_step` times ttnet's layers.

    The gradient is a contiguous tensor, as a layer gets in training (``module(x).sum()
    .backward()`` would hand it a broadcast, stride-0 one)."""
    xt = torch.from_numpy(x).requires_grad_(True)
    with torch.no_grad():
        grad = torch.ones_like(module(xt))

    def step():
        module.zero_grad(set_to_none=True)
        xt.grad = None
        module(xt).backward(grad)
    return step


def line(label: str, ms: float, flops: float | None, reference_ms: float | None) -> None:
    rate = f"{flops / ms / 1e6:9.1f}" if flops else f"{'':>9}"
    ratio = f"{ms / reference_ms:8.2f}x" if reference_ms else f"{'':>9}"
    print(f"{label:<58} {ms:>10.1f} {rate} {ratio}")


def compare_family(torch, dense_label: str, x: np.ndarray, repeats: int, dense, torch_dense,
                   dense_flops: int, tt_name: str, rebuilt: str, ranks_list, make_tt,
                   algorithms) -> dict[str, float]:
    """Rows for one dense layer and its TT twins (each algorithm, each rank) against PyTorch.

    ``make_tt(ranks, algorithm)`` builds the TT layer. Returns the times the speed goals use:
    ``"torch <Dense>"`` and ``"ttnet <TT> ranks R auto"``.
    """
    from ttnet.interop.torch import to_torch

    key = f"torch {type(dense).__name__}"
    times = {key: median_ms(torch_layer_step(torch, torch_dense, x), repeats)}
    line(f"torch  {dense_label} (dense)", times[key], dense_flops, None)
    ms = median_ms(ttnet_layer_step(dense, x), repeats)
    line(f"ttnet  {dense_label} (dense)", ms, dense_flops, times[key])
    for ranks in ranks_list:
        torch_tt = median_ms(torch_layer_step(torch, to_torch(make_tt(ranks, "full"),
                                                              algorithm="full"), x), repeats)
        line(f"torch  {tt_name} ranks {ranks}, {rebuilt} rebuilt from the cores", torch_tt, None,
             times[key])
        for algorithm in ("auto",) + algorithms:
            layer = make_tt(ranks, algorithm)
            chosen = layer.choose_algorithm(x.shape)
            ms = median_ms(ttnet_layer_step(layer, x), repeats)
            if algorithm == "auto":
                times[f"ttnet {tt_name} ranks {ranks} auto"] = ms
            label = f"ttnet  {tt_name} ranks {ranks}, {algorithm}" + (
                f" (-> {chosen})" if algorithm == "auto" else "")
            line(label, ms, layer.cost(x.shape)[chosen]["flops"], times[key])
    return times


def bench_layers(torch, batch: int, repeats: int) -> dict[str, float]:
    """The layer table; returns the times the goals of the speed issue compare."""
    rng = np.random.default_rng(0)
    times: dict[str, float] = {}
    print(f"\nLayers: forward + backward, batch {batch}, float32, median of {repeats}")
    print(f"{'work':<58} {'ms':>10} {'GFLOP/s':>9} {'/ torch':>9}")

    # ---- convolution 64 -> 64 at 32 x 32
    x = rng.standard_normal((batch, 64, 32, 32)).astype(np.float32)
    times |= compare_family(
        torch, "Conv2d 64->64 @32x32", x, repeats,
        Conv2d(64, 64, 3, padding=1, bias=False, rng=rng),
        torch.nn.Conv2d(64, 64, 3, padding=1, bias=False), 3 * 2 * batch * 32 * 32 * 64 * 64 * 9,
        "TTConv2d", "kernel", (4, 16),
        lambda ranks, algorithm: TTConv2d((4, 4, 4), (4, 4, 4), ranks, 3, padding=1, bias=False,
                                          algorithm=algorithm, rng=rng), TF.CONV_ALGORITHMS)

    # ---- fully connected 8192 -> 1536
    x = rng.standard_normal((batch, 8192)).astype(np.float32)
    times |= compare_family(
        torch, "Linear 8192->1536", x, repeats,
        Linear(8192, 1536, bias=False, rng=rng), torch.nn.Linear(8192, 1536, bias=False),
        3 * 2 * batch * 8192 * 1536,
        "TTLinear", "weight", (8, 40),
        lambda ranks, algorithm: TTLinear((8, 8, 8, 16), (4, 6, 8, 8), ranks, bias=False,
                                          rng=rng, algorithm=algorithm), TF.ALGORITHMS)
    return times


def ttnet_train_step(model, x: np.ndarray, labels: np.ndarray) -> Callable[[], object]:
    loss = SoftmaxCrossEntropy()
    optimizer = SGD(model, lr=0.01, momentum=0.9)
    model.train()

    def step():
        value = loss.forward(model.forward(x), labels)
        model.backward(loss.backward())
        optimizer.step()
        return value
    return step


def torch_train_step(torch, module, x: np.ndarray, labels: np.ndarray) -> Callable[[], object]:
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.01, momentum=0.9)
    module.train()

    def step():
        optimizer.zero_grad(set_to_none=True)
        value = torch.nn.functional.cross_entropy(module(xt), yt)
        value.backward()
        optimizer.step()
        return value
    return step


def bench_training(torch, batch: int, repeats: int) -> dict[str, float]:
    """The training-step table (images/s); returns ttnet / best-torch throughput ratios."""
    from ttnet.interop.torch import to_torch

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, batch)
    print(f"\nTraining steps: 3x32x32, batch {batch}, float32, median of {repeats} steps")
    print(f"{'network':<58} {'images/s':>10} {'':>9} {'vs torch':>9}")
    ratios = {}
    for name in ("conv-fc", "tt-conv-tt-fc"):
        model = models.build(name, input_shape=(3, 32, 32), rng=np.random.default_rng(0))
        best_torch = 0.0
        algorithms = ("full", "sequential") if name.startswith("tt") else (None,)
        for algorithm in algorithms:
            module = to_torch(model, algorithm=algorithm)
            ms = median_ms(torch_train_step(torch, module, x, labels), repeats)
            best_torch = max(best_torch, 1e3 * batch / ms)
            label = f"torch  {name}" + (f", TT layers {algorithm}" if algorithm else "")
            print(f"{label:<58} {1e3 * batch / ms:>10.1f}")
        ms = median_ms(ttnet_train_step(model, x, labels), repeats)
        ratios[name] = 1e3 * batch / ms / best_torch
        print(f"{'ttnet  ' + name:<58} {1e3 * batch / ms:>10.1f} {'':>9} "
              f"{ratios[name]:8.2f}x")
    return ratios


def bench_per_layer(torch, batch: int, repeats: int) -> None:
    """The per-layer table: every layer of each training network, ttnet and PyTorch."""
    from ttnet.interop.torch import to_torch

    print(f"\nLayers of the training networks: forward + backward, 3x32x32, batch {batch}, "
          f"median of {repeats}")
    for name in ("conv-fc", "tt-conv-tt-fc"):
        model = models.build(name, input_shape=(3, 32, 32), rng=np.random.default_rng(0))
        module = to_torch(model, algorithm="full" if name.startswith("tt") else None)
        model.train()
        module.train()
        x = np.random.default_rng(1).standard_normal((batch, 3, 32, 32)).astype(np.float32)
        print(f"{name + ': layer':<26} {'input':>18} {'ttnet ms':>10} {'torch ms':>10} "
              f"{'/ torch':>9}")
        ours_total = theirs_total = 0.0
        for k, (layer, twin) in enumerate(zip(model.layers, module)):
            ours = median_ms(ttnet_layer_step(layer, x), repeats)
            theirs = median_ms(torch_layer_step(torch, twin, x), repeats)
            ours_total += ours
            theirs_total += theirs
            shape = "x".join(str(n) for n in x.shape[1:])
            print(f"{f'{k:>3} {type(layer).__name__}':<26} {shape:>18} {ours:>10.1f} "
                  f"{theirs:>10.1f} {ours / theirs:>8.2f}x")
            x = layer.forward(x)
        print(f"{'    sum of the layers':<26} {'':>18} {ours_total:>10.1f} {theirs_total:>10.1f} "
              f"{ours_total / theirs_total:>8.2f}x")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="batch 8, one repeat (smoke run)")
    parser.add_argument("--per-layer", action="store_true",
                        help="also time each layer of the two training networks on its own")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    try:
        import torch
    except ImportError:
        print("bench_vs_torch: PyTorch is not installed (pip install -e \".[torch]\"); "
              "nothing to compare.")
        return 0
    batch, repeats = (8, 1) if args.quick else (128, args.repeats)
    print(f"ttnet vs PyTorch {torch.__version__} (CPU, {torch.get_num_threads()} threads), "
          f"NumPy {np.__version__}")
    times = bench_layers(torch, batch, repeats)
    ratios = bench_training(torch, batch, repeats)
    if args.per_layer:
        bench_per_layer(torch, batch, repeats)

    tt_pair = (times["ttnet TTConv2d ranks 4 auto"] + times["ttnet TTLinear ranks 8 auto"])
    dense_pair = times["torch Conv2d"] + times["torch Linear"]
    print("\nGoals of the speed work (time ratios below 1 and throughput ratios above 1 are "
          "ttnet ahead):")
    print(f"  TTConv2d ranks 4 + TTLinear ranks 8 (auto) / torch dense Conv2d + Linear: "
          f"{tt_pair / dense_pair:.2f}x   (goal <= 0.5x)")
    print(f"  tt-conv-tt-fc training step, images/s vs the faster torch: "
          f"{ratios['tt-conv-tt-fc']:.2f}x   (goal >= 1.2x)")
    print(f"  conv-fc training step, images/s vs torch: {ratios['conv-fc']:.2f}x   "
          f"(goal >= 1.0x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
