"""Benchmark: how much slower do ttnet's layers get when another process shares the cores?

    PYTHONPATH=. python benchmarks/bench_busy.py [--competitors N] [--repeats N] [--quick]
    PYTHONPATH=. python benchmarks/bench_busy.py --demo [--competitors N] [--epochs N]

Times forward + backward of a few layers (float32, median of ``--repeats`` after a
warm-up) twice: on the machine as it is, then while ``--competitors`` processes
(default: one per core) each run single-threaded matrix products in a loop, the way
a training run on the same machine would. It prints both times and their ratio,
beside the ratio a fair share of the CPU would give,
``(our threads + competitors) / cores`` (at least 1): a layer that degrades "in
proportion" stays near that number; OpenBLAS's threading of products with a long sum
and a small result made some of them 50x slower (``docs/design_notes.md``).
Run it on an otherwise idle machine (the first column is the idle time).
``--quick``: batch 2, one repeat, one competitor for a second (a smoke run).

``--demo`` measures the demo's training instead (``ttnet demo``: a small TT-conv
network on 28×28 images, batch 100, where every kernel is short): images per second
over ``--epochs`` epochs, alone and beside the competitors.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import ttnet  # noqa: F401  (first, so that its OPENBLAS_THREAD_TIMEOUT default applies)
import numpy as np

from ttnet.nn import BatchNorm2d, Conv2d, MaxPool2d
from ttnet.nn import tt_functional as TF
from ttnet.nn.tt_layers import TTConv2d, TTLinear

from layer_timing import median_ms, ttnet_layer_step  # benchmarks/layer_timing.py


def compete(stop) -> None:
    """A competing process: single-threaded 256 x 256 products until ``stop`` is set."""
    from threadpoolctl import threadpool_limits
    a = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
    with threadpool_limits(limits=1):
        while not stop.is_set():
            a = np.tanh(a @ a)


def cases(batch: int):
    """(label, layer, input) for each measured layer and algorithm."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 64, 32, 32)).astype(np.float32)
    yield "Conv2d 64->64 @32x32", Conv2d(64, 64, 3, padding=1, bias=False, rng=0), x
    yield "BatchNorm2d 64 @32x32", BatchNorm2d(64), x           # numba kernels, no products
    yield "MaxPool2d 3/2 @32x32", MaxPool2d(3, stride=2), x
    for algorithm in TF.CONV_ALGORITHMS:
        yield (f"TTConv2d ranks 8, {algorithm}",
               TTConv2d((4, 4, 4), (4, 4, 4), 8, 3, padding=1, bias=False, algorithm=algorithm,
                        rng=0), x)
    xf = rng.standard_normal((4 * batch, 8192)).astype(np.float32)
    for algorithm in TF.ALGORITHMS:
        yield (f"TTLinear 8192->1536 ranks 8, {algorithm}",
               TTLinear((8, 8, 8, 16), (4, 6, 8, 8), 8, bias=False, algorithm=algorithm, rng=0),
               xf)


def demo_images_per_s(epochs: int) -> float:
    """Training images per second of the demo over ``epochs`` epochs (in a scratch folder)."""
    from ttnet.experiments.run import demo
    with tempfile.TemporaryDirectory() as scratch:
        history = demo(Path(scratch) / "demo", epochs=epochs, progress=False, log=None)["history"]
    return sum(row["images_per_s"] for row in history) / len(history)


def busy(competitors: int, measure):
    """``measure()`` while ``competitors`` processes run single-threaded products."""
    stop = multiprocessing.Event()
    procs = [multiprocessing.Process(target=compete, args=(stop,), daemon=True)
             for _ in range(competitors)]
    for p in procs:
        p.start()
    try:
        time.sleep(0.5)                                  # let the competitors get going
        return measure()
    finally:
        stop.set()
        for p in procs:
            p.join()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--competitors", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8, help="conv batch (TT-FC: 4x this)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--demo", action="store_true", help="time the demo's training instead")
    parser.add_argument("--epochs", type=int, default=1, help="demo epochs per measurement")
    args = parser.parse_args(argv)
    if args.competitors < 1 or args.repeats < 1 or args.batch < 1 or args.epochs < 1:
        parser.error("--competitors, --repeats, --batch and --epochs must be at least 1")
    if args.quick:
        args.competitors, args.repeats, args.batch = 1, 1, 2
    from threadpoolctl import threadpool_info
    threads = max([1] + [int(i["num_threads"]) for i in threadpool_info()
                         if i["user_api"] == "blas"])
    cores = os.cpu_count() or 1
    fair = max(1.0, (threads + args.competitors) / cores)
    print(f"{cores} cores, {threads} BLAS threads, {args.competitors} competing processes; "
          f"a fair share of the CPU makes a layer {fair:.2f}x slower")
    if args.demo:
        idle = demo_images_per_s(args.epochs)
        loaded = busy(args.competitors, lambda: demo_images_per_s(args.epochs))
        print(f"demo training, {args.epochs} epoch(s): {idle:.0f} images/s alone, "
              f"{loaded:.0f} beside the competitors: {idle / loaded:.2f}x slower")
        return 0
    print(f"{'layer (forward + backward)':<46} {'idle ms':>9} {'busy ms':>9} {'busy/idle':>10}")
    layers = list(cases(args.batch))
    idle = [median_ms(ttnet_layer_step(layer, x), args.repeats) for _, layer, x in layers]
    loaded = busy(args.competitors, lambda: [median_ms(ttnet_layer_step(layer, x), args.repeats)
                                             for _, layer, x in layers])
    for (label, _, _), t_idle, t_busy in zip(layers, idle, loaded):
        print(f"{label:<46} {t_idle:9.1f} {t_busy:9.1f} {t_busy / t_idle:9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
