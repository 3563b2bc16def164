"""Layers, kernels and a training step of ttnet, for running with and without numba.

Not a test module: ``tests/ops/test_without_numba.py`` runs this file as a script in a
child process in which ``import numba`` fails, and compares what it writes with the same
computations done in the test process with the numba kernels::

    python tests/ops/without_numba.py OUT.npz     # makes numba unimportable, then runs

:func:`run` returns every result as a dict of arrays.
"""

import importlib
import os
import pkgutil
import sys
import tempfile


def import_every_module():
    """Import every module of the ttnet package (``__main__`` aside: it runs the CLI)."""
    import ttnet

    names = ["ttnet"]
    for info in pkgutil.walk_packages(ttnet.__path__, "ttnet."):
        if info.name.rsplit(".", 1)[-1] != "__main__":
            importlib.import_module(info.name)
            names.append(info.name)
    return names


def layer_cases():
    """(name, layer, input shape) for every layer class of ttnet.nn, small sizes."""
    from ttnet.nn import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten,
                          GlobalAvgPool2d, Linear, MaxPool2d, NaiveTTConv2d, ReLU, Sequential,
                          TTConv2d, TTLinear)

    return [
        ("Linear", Linear(6, 4, rng=1), (3, 6)),
        ("Conv2d", Conv2d(2, 3, 3, padding=1, rng=1), (2, 2, 5, 5)),
        ("BatchNorm1d", BatchNorm1d(4), (5, 4)),
        ("BatchNorm2d", BatchNorm2d(3), (2, 3, 4, 4)),
        ("ReLU", ReLU(), (2, 3, 4, 4)),
        ("MaxPool2d", MaxPool2d(3, 2, 1), (2, 2, 5, 5)),
        ("AvgPool2d", AvgPool2d(2), (2, 2, 4, 4)),
        ("GlobalAvgPool2d", GlobalAvgPool2d(), (2, 3, 4, 4)),
        ("Dropout", Dropout(0.5, rng=2), (4, 6)),
        ("Flatten", Flatten(), (2, 3, 2, 2)),
        ("Sequential", Sequential(Conv2d(1, 2, 3, rng=3), ReLU(), Flatten()), (2, 1, 4, 4)),
        ("TTLinear-full", TTLinear((2, 3), (2, 2), 2, rng=1, algorithm="full"), (3, 6)),
        ("TTLinear-sequential", TTLinear((2, 3), (2, 2), 2, rng=1, algorithm="sequential"),
         (3, 6)),
        ("TTConv2d-full", TTConv2d((2, 2), (2, 3), 2, 3, padding=1, rng=1, algorithm="full"),
         (2, 4, 5, 5)),
        ("TTConv2d-sequential", TTConv2d((2, 2), (2, 3), 2, 3, padding=1, rng=1,
                                         algorithm="sequential"), (2, 4, 5, 5)),
        ("NaiveTTConv2d", NaiveTTConv2d(4, 6, 2, 3, padding=1, rng=1), (2, 4, 5, 5)),
    ]


def run_layers():
    """Forward and backward of every layer, in training and in evaluation mode."""
    import numpy as np

    results = {}
    for name, layer, shape in layer_cases():
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape).astype(np.float32)
        for mode in ("train", "eval"):
            layer.train(mode == "train")
            y = layer.forward(x)
            dx = layer.backward(rng.standard_normal(y.shape).astype(np.float32))
            results[f"{name}/{mode}/y"], results[f"{name}/{mode}/dx"] = y, dx
            for pname, grad in layer.grads.items():
                results[f"{name}/{mode}/d{pname}"] = grad.copy()
    return results


def run_contractions():
    """The numba variants of the TT core step (plain Python loops when numba is absent)."""
    import numpy as np

    from ttnet.ops.contract_loops import tt_step_backward_numba, tt_step_forward_numba

    rng = np.random.default_rng(1)
    T, G = rng.standard_normal((3, 2, 3, 4)), rng.standard_normal((2, 2, 3, 2))
    dout = rng.standard_normal((3, 2, 2, 4))
    dT, dG = tt_step_backward_numba(dout, T, G)
    return {"step/out": tt_step_forward_numba(T, G), "step/dT": dT, "step/dG": dG}


def run_training():
    """One epoch (3 SGD steps) of the conv test network, through the Trainer and a checkpoint."""
    from tests.train.synthetic import conv_net, make_task, prepare
    from ttnet.train import EMA, SGD, CosineLR, Trainer, load_checkpoint

    model = conv_net(seed=3)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(model, SGD(model, lr=0.1, momentum=0.9), CosineLR(0.1, 1), prepare,
                          out_dir=out, epochs=1, batch_size=20, seed=4, ema=EMA(model, 0.9),
                          progress=False, plot=False)
        trainer.fit(*make_task(60, seed=1), *make_task(30, seed=2))
        last = load_checkpoint(os.path.join(out, "last.npz"))
    results = {f"train/params/{k}": v for k, v in last.params.items()}
    results.update({f"train/buffers/{k}": v for k, v in last.buffers.items()})
    return results


def run():
    results = {}
    for part in (run_layers, run_contractions, run_training):
        results.update(part())
    return results


if __name__ == "__main__":
    sys.modules["numba"] = None           # every `import numba` now raises ImportError
    import numpy as np

    modules = import_every_module()
    from ttnet.ops import _numba

    assert not _numba.numba_available() and not _numba.numba_enabled()
    results = run()
    np.savez(sys.argv[1], modules=np.array(modules), **results)
