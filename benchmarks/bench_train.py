"""Training throughput: images/s of one SGD step of the paper's networks, batch 128, float32.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_train.py               # 5 timed steps per case
    PYTHONPATH=. python benchmarks/bench_train.py --repeats 10
    PYTHONPATH=. python benchmarks/bench_train.py --quick       # 1 timed step per case
    PYTHONPATH=. python benchmarks/bench_train.py --profile --models conv-fc   # time per layer type

One *step* is what the trainer does per minibatch: forward, softmax
cross-entropy, backward, and an SGD update with momentum 0.9 (no EMA, no data
loading or augmentation). Models ``conv``, ``conv-fc``, ``tt-conv`` and
``tt-conv-tt-fc`` at width 1 with their default ranks (TT-conv 16, TT-FC 40 and
30; see :mod:`ttnet.models`), on random inputs of shape 1×32×32 (Fashion-MNIST
padded) and 3×32×32 (CIFAR-10).

Each case runs one warm-up step (numba compilation from the cache, buffer
allocation) and then ``--repeats`` timed steps; the table shows the median
and the best step time and the images/s of the median. For the dense models
it also shows the arithmetic rate, counting 2 FLOPs per multiply-add and three
products per layer (forward, weight gradient, input gradient; the first
layer's input gradient is computed too), against the machine's float32 matrix
product measured in the same run (NumPy ``@``, 2048×2048).

Target of the training issue: ``conv-fc`` at 3×32×32 trains at ≥ 80 images/s
(PyTorch on the same 2-core machine: about 100–120 images/s).

Other processes on the machine slow BLAS down a lot; compare the numbers of
one run with each other (and with the matmul rate of that run) rather than
across runs. ``import ttnet`` comes first so that its OPENBLAS_THREAD_TIMEOUT
default applies (see ``ttnet/__init__.py`` and ``benchmarks/bench_layers.py``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import ttnet  # noqa: F401  (before NumPy: sets OPENBLAS_THREAD_TIMEOUT)
import numpy as np

from ttnet import models
from ttnet.nn import Conv2d, Linear, SoftmaxCrossEntropy
from ttnet.train import SGD

MODELS = ("conv", "conv-fc", "tt-conv", "tt-conv-tt-fc")
INPUT_SHAPES = ((1, 32, 32), (3, 32, 32))
BATCH = 128
TARGET = ("conv-fc", (3, 32, 32), 80.0)   # model, input shape, images/s


def matmul_gflops(repeats: int, n: int = 2048) -> float:
    """float32 GFLOP/s of an n×n by n×n product (best of ``repeats`` after a warm-up)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n ** 3 / min(times) / 1e9


def dense_step_gflop(model, input_shape, batch: int) -> float | None:
    """GFLOP of one training step of a dense model (None if it has TT layers).

    3 products per Conv2d / Linear (forward, weight gradient, input gradient),
    2 FLOPs per multiply-add; BatchNorm, ReLU, pooling and the update are
    not counted.
    """
    macs = 0
    x = np.zeros((2, *input_shape), dtype=np.float32)
    model.eval()
    for layer in model.children():
        y = layer.forward(x)
        if isinstance(layer, Conv2d):
            s, c, kh, kw = layer.weight().shape
            macs += s * c * kh * kw * y.shape[2] * y.shape[3]
        elif isinstance(layer, Linear):
            macs += layer.weight().size
        elif getattr(layer, "cores", None) is not None:
            return None
        x = y
    model.train()
    return 3 * 2 * macs * batch / 1e9


def build_case(name: str, input_shape: tuple[int, int, int], batch: int):
    """``name`` at width 1 in training mode, a random float32 batch ``(batch, *input_shape)``
    and random labels, the same for every timing of the case."""
    rng = np.random.default_rng(0)
    model = models.build(name, input_shape=input_shape, num_classes=10, rng=0)
    x = rng.standard_normal((batch, *input_shape), dtype=np.float32)
    y = rng.integers(0, 10, size=batch)
    model.train()
    return model, x, y


def time_steps(name: str, input_shape: tuple[int, int, int], repeats: int,
               batch: int = BATCH) -> dict:
    """Build ``name`` at width 1 and time ``repeats`` training steps after one warm-up step."""
    model, x, y = build_case(name, input_shape, batch)
    gflop = dense_step_gflop(model, input_shape, batch)
    loss_fn = SoftmaxCrossEntropy()
    optimizer = SGD(model, lr=0.01, momentum=0.9)

    def step() -> float:
        logits = model.forward(x)
        loss = loss_fn.forward(logits, y)
        model.backward(loss_fn.backward())
        optimizer.step()
        return float(loss)

    step()                                            # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)
    if not np.isfinite(loss):
        raise FloatingPointError(f"{name} {input_shape}: the loss became {loss}")
    median = statistics.median(times)
    return {"median": median, "best": min(times), "images_per_s": batch / median,
            "gflop": gflop, "n_params": model.n_params}


def profile_step(name: str, input_shape: tuple[int, int, int], repeats: int,
                 batch: int = BATCH
                 ) -> tuple[float, dict[str, tuple[float, float]], dict[str, float]]:
    """Where one training step of ``name`` spends its time, by layer type.

    Runs the step layer by layer (the model's children in order, then the loss, then
    the backward passes in reverse, then the SGD update), timing each forward and
    backward call; returns the median over the ``repeats`` steps of their layers' total
    time in seconds; per layer class name, the median of its summed forward and of its
    summed backward seconds; and the medians of the loss (forward and backward together)
    and of the SGD update, which are not in the layers' total. Each figure is its own
    median, so over several repeats the shares of the layer types need not add up to
    exactly 100 %.
    """
    model, x, y = build_case(name, input_shape, batch)
    layers = list(model.children())
    loss_fn = SoftmaxCrossEntropy()
    optimizer = SGD(model, lr=0.01, momentum=0.9)

    def step() -> tuple[dict[tuple[str, str], float], dict[str, float]]:
        """One step: seconds per (layer type, direction), and of the loss and the update."""
        spent: dict[tuple[str, str], float] = {}
        outside: dict[str, float] = {}
        h = x
        for layer in layers:
            start = time.perf_counter()
            h = layer.forward(h)
            key = (type(layer).__name__, "forward")
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - start
        start = time.perf_counter()
        loss_fn.forward(h, y)
        grad = loss_fn.backward()
        outside["loss"] = time.perf_counter() - start
        for layer in reversed(layers):
            start = time.perf_counter()
            grad = layer.backward(grad)
            key = (type(layer).__name__, "backward")
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - start
        start = time.perf_counter()
        optimizer.step()
        outside["SGD update"] = time.perf_counter() - start
        return spent, outside

    step()                                            # warm-up
    runs = [step() for _ in range(repeats)]
    total = statistics.median(sum(spent.values()) for spent, _ in runs)
    by_type: dict[str, tuple[float, float]] = {}
    for kind in dict.fromkeys(type(layer).__name__ for layer in layers):
        by_type[kind] = tuple(statistics.median(spent.get((kind, d), 0.0) for spent, _ in runs)
                              for d in ("forward", "backward"))
    outside = {key: statistics.median(other[key] for _, other in runs)
               for key in ("loss", "SGD update")}
    return total, by_type, outside


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per case (default 5)")
    parser.add_argument("--quick", action="store_true",
                        help="1 timed step per case and 1 matmul repeat (a smoke run)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=models.MODEL_NAMES,
                        metavar="NAME", help=f"models to time (default: {' '.join(MODELS)})")
    parser.add_argument("--profile", action="store_true",
                        help="also print, for each model at 3x32x32, the time of each layer "
                             "type in a step")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    repeats = 1 if args.quick else args.repeats

    print(f"# ttnet training-step benchmark - {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, NumPy {np.__version__}, batch {BATCH}, float32")
    print("environment: " + ", ".join(
        f"{var}={os.environ.get(var, '(unset)')}"
        for var in ("OPENBLAS_THREAD_TIMEOUT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS",
                    "TTNET_NUMBA")))
    try:
        load = os.getloadavg()[0]
        print(f"load average (1 min) before the run: {load:.2f} on {os.cpu_count()} CPUs"
              + ("  -- the machine is busy; expect slower, noisier numbers"
                 if load > 0.5 else ""))
    except OSError:
        pass
    matmul = matmul_gflops(1 if args.quick else 3)
    print(f"float32 matmul (2048x2048 @ 2048x2048): {matmul:.0f} GFLOP/s")
    print(f"timed steps per case: {repeats} (after 1 warm-up step)\n")

    header = (f"{'model':<14} {'input':<8} {'params':>11} {'median ms':>10} {'best ms':>9} "
              f"{'images/s':>9} {'GFLOP/step':>10} {'GFLOP/s':>8} {'vs matmul':>9}")
    print(header)
    print("-" * len(header))
    results = {}
    for shape in INPUT_SHAPES:
        for name in args.models:
            r = time_steps(name, shape, repeats)
            results[name, shape] = r
            shape_text = "x".join(map(str, shape))
            if r["gflop"] is None:
                flops = f"{'-':>10} {'-':>8} {'-':>9}"
            else:
                rate = r["gflop"] / r["median"]
                flops = f"{r['gflop']:>10.1f} {rate:>8.1f} {rate / matmul:>9.2f}"
            print(f"{name:<14} {shape_text:<8} {r['n_params']:>11,} {1e3 * r['median']:>10.0f} "
                  f"{1e3 * r['best']:>9.0f} {r['images_per_s']:>9.1f} {flops}", flush=True)

    if args.profile:
        for name in args.models:
            total, by_type, outside = profile_step(name, (3, 32, 32), repeats)
            print(f"\nprofile: {name} at 3x32x32, the layers of one step, median of {repeats}: "
                  f"{1e3 * total:.0f} ms")
            print(f"{'layer type':<16} {'forward ms':>10} {'backward ms':>11} {'share':>6}")
            for kind, (fwd, bwd) in sorted(by_type.items(), key=lambda kv: -sum(kv[1])):
                print(f"{kind:<16} {1e3 * fwd:>10.1f} {1e3 * bwd:>11.1f} "
                      f"{(fwd + bwd) / total:>6.0%}")
            print("besides the layers: " + ", ".join(f"{key} {1e3 * seconds:.1f} ms"
                                                    for key, seconds in outside.items()))

    name, shape, target = TARGET
    if (name, shape) in results:
        got = results[name, shape]["images_per_s"]
        print(f"\ntarget: {name} at {'x'.join(map(str, shape))} >= {target:.0f} images/s "
              f"(PyTorch here: ~100-120): measured {got:.1f} images/s -> "
              f"{'met' if got >= target else 'NOT met'}"
              f"{' (on a busy machine)' if os.getloadavg()[0] > 0.5 else ''}")


if __name__ == "__main__":
    main()
