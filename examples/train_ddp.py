"""Train a ttnet TT network in PyTorch with DistributedDataParallel, and hand it back to ttnet.

The network is built by ttnet (:func:`ttnet.models.build`), converted with
:func:`ttnet.interop.torch.to_torch`, trained by several processes with
``torch.nn.parallel.DistributedDataParallel`` (DDP), and written as a ttnet
checkpoint that ``ttnet eval`` reads.

Data parallelism: every step draws one *global* batch of ``--batch-size``
images (the same seeded draw in every process) and process ``r`` of ``P``
takes the ``r``-th of ``P`` equal slices. DDP averages the gradients over the
processes, and the BatchNorm layers compute their statistics over all slices
(:class:`ttnet.interop.torch.SyncBatchNorm`), so ``P`` processes compute what
one process computes on the whole global batch, up to the order of the
floating-point additions. ``--processes 1`` is that single process (no
``torch.distributed`` at all).

Run on this machine (CPUs, gloo backend, processes started here on 127.0.0.1)::

    python examples/train_ddp.py --processes 2 --steps 300 --out runs/ddp/last.npz
    ttnet eval --checkpoint runs/ddp/last.npz

Run under ``torchrun`` (one process per GPU with ``--device cuda``, which
selects the NCCL backend; several machines with ``--nnodes``): the script then
reads its rank and the rendezvous from torchrun's environment instead of
starting processes itself::

    torchrun --nnodes 2 --nproc-per-node 4 --rdzv-backend c10d \\
        --rdzv-endpoint HOST:29500 examples/train_ddp.py --device cuda --out runs/ddp/last.npz

Every process uses one CPU thread (``torch.set_num_threads(1)``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from ttnet import data as ttdata
from ttnet import models
from ttnet.experiments.run import RunConfig
from ttnet.interop.torch import convert_sync_batchnorm, load_torch_state, to_torch
from ttnet.train import save_checkpoint

__all__ = ["DDPConfig", "train", "train_ddp", "main"]

_DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}


@dataclass(frozen=True)
class DDPConfig:
    """One data-parallel training run.

    ``batch_size`` is the *global* batch (all processes together); it must be
    divisible by the number of processes. ``dtype`` is the training precision;
    the checkpoint is float32, as ``ttnet eval`` builds its models.
    """

    model: str = "tt-conv"
    width: float = 0.25
    conv_ranks: Any = 8
    fc_ranks: Any = None
    data: str = "fashion-mnist"
    steps: int = 300
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    seed: int = 0
    dtype: str = "float32"
    algorithm: str | None = None
    device: str = "cpu"

    def validate(self, processes: int) -> "DDPConfig":
        """Check the fields (ValueError / TypeError naming the field); return self."""
        RunConfig(model=self.model, conv_ranks=self.conv_ranks, fc_ranks=self.fc_ranks,
                  width=self.width, data=self.data, batch_size=self.batch_size, lr=self.lr,
                  momentum=self.momentum, seed=self.seed).validate()
        models.check_ranks(self.model, self.conv_ranks, self.fc_ranks)
        if not isinstance(self.steps, int) or isinstance(self.steps, bool) or self.steps < 1:
            raise ValueError(f"steps must be an int >= 1, got {self.steps!r}")
        if self.batch_size % processes:
            raise ValueError(f"batch_size {self.batch_size} must be divisible by the number of "
                             f"processes {processes}")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        return self


def _global_batches(n_images: int, config: DDPConfig):
    """The indices of every step's global batch: seeded epochs of a permutation."""
    rng = np.random.default_rng(config.seed)
    order, pos = rng.permutation(n_images), 0
    for _ in range(config.steps):
        if pos + config.batch_size > n_images:
            order, pos = rng.permutation(n_images), 0
        yield order[pos:pos + config.batch_size]
        pos += config.batch_size


def _checkpoint_config(config: DDPConfig, normalizer: ttdata.Normalizer, train_set: Any,
                       processes: int) -> dict[str, Any]:
    """The checkpoint's config: the run settings ``ttnet eval`` needs under ``"config"``
    (as :func:`ttnet.experiments.train` stores them), and how this script trained."""
    saved = RunConfig(model=config.model, conv_ranks=config.conv_ranks, fc_ranks=config.fc_ranks,
                      width=config.width, data=config.data, batch_size=config.batch_size,
                      lr=config.lr, momentum=config.momentum, ema_decay=None, augment=False,
                      seed=config.seed).to_dict()
    saved["normalizer"] = {"mean": normalizer.mean.tolist(), "std": normalizer.std.tolist()}
    saved["input_shape"] = list(train_set.images.shape[1:])
    saved["classes"] = list(train_set.classes)
    trainer = {"script": "examples/train_ddp.py", "processes": processes, "steps": config.steps,
               "dtype": config.dtype, "algorithm": config.algorithm, "device": config.device}
    return {"config": saved, "trainer": trainer}     # the layout ttnet.train.Trainer writes


def train(rank: int, processes: int, config: DDPConfig, out: str | None,
          dump_dir: str | None = None, init_method: str | None = None,
          log: bool = True) -> dict[str, np.ndarray]:
    """The training loop of process ``rank`` of ``processes``; returns its final state dict.

    With ``processes > 1`` it joins the process group (``init_method``, e.g.
    ``tcp://127.0.0.1:PORT``, or ``env://`` under torchrun), wraps the model in
    DDP with synchronised BatchNorm and leaves the group at the end. Process 0
    writes the ttnet checkpoint ``out`` (if given); with ``dump_dir`` every
    process also writes its final state as ``rank{rank}.npz`` there.
    """
    torch.set_num_threads(1)
    np_dtype, torch_dtype = _DTYPES[config.dtype]
    distributed = processes > 1
    device = torch.device("cpu")
    if config.device == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
        torch.cuda.set_device(device)
    if distributed:
        backend = "nccl" if config.device == "cuda" else "gloo"
        dist.init_process_group(backend, init_method=init_method, rank=rank,
                                world_size=processes)
    try:
        train_set = ttdata.load(config.data, "train")
        normalizer = ttdata.Normalizer.fit(train_set.images)
        model = models.build(config.model, input_shape=train_set.images.shape[1:],
                             num_classes=len(train_set.classes), width=config.width,
                             conv_ranks=config.conv_ranks, fc_ranks=config.fc_ranks,
                             rng=config.seed, dtype=np_dtype)
        module = to_torch(model, algorithm=config.algorithm).to(device)
        if distributed:
            module = convert_sync_batchnorm(module)
            module = torch.nn.parallel.DistributedDataParallel(module)
        optimizer = torch.optim.SGD(module.parameters(), lr=config.lr, momentum=config.momentum)
        local = config.batch_size // processes
        start = time.perf_counter()
        module.train()
        for step, index in enumerate(_global_batches(len(train_set.labels), config)):
            mine = index[rank * local:(rank + 1) * local]
            x = torch.from_numpy(normalizer(train_set.images[mine], np_dtype)).to(device)
            y = torch.from_numpy(train_set.labels[mine]).to(device)
            loss = F.cross_entropy(module(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if log and (step + 1) % max(1, config.steps // 10) == 0:
                mean_loss = loss.detach().clone()
                if distributed:                   # the loss of the global batch
                    dist.all_reduce(mean_loss)
                    mean_loss /= processes
                if rank == 0:
                    print(f"step {step + 1}/{config.steps}  loss {mean_loss.item():.4f}  "
                          f"({time.perf_counter() - start:.1f} s)", flush=True)
        inner = module.module if distributed else module
        state = {k: v.detach().cpu().numpy() for k, v in inner.state_dict().items()}
        if dump_dir is not None:
            np.savez(Path(dump_dir) / f"rank{rank}.npz", **state)
        if rank == 0 and out is not None:
            ttnet_model = models.build(config.model, input_shape=train_set.images.shape[1:],
                                       num_classes=len(train_set.classes), width=config.width,
                                       conv_ranks=config.conv_ranks, fc_ranks=config.fc_ranks,
                                       rng=config.seed)                       # float32
            load_torch_state(inner.state_dict(), ttnet_model)
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            epochs = config.steps * config.batch_size // len(train_set.labels)
            save_checkpoint(out, ttnet_model, epoch=epochs,
                            config=_checkpoint_config(config, normalizer, train_set, processes))
            if log:
                print(f"wrote {out} (read it with: ttnet eval --checkpoint {out})", flush=True)
        return state
    finally:
        if distributed:
            dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawned(rank: int, processes: int, config: DDPConfig, out: str | None, dump_dir: str | None,
             init_method: str, log: bool) -> None:
    train(rank, processes, config, out, dump_dir, init_method, log)


def train_ddp(config: DDPConfig, processes: int = 2, out: str | None = None,
              dump_dir: str | None = None, log: bool = True) -> dict[str, np.ndarray]:
    """Start ``processes`` processes on this machine (127.0.0.1, a free port) and train.

    Uses ``torch.multiprocessing.spawn``; ``processes=1`` trains in this process
    without ``torch.distributed``. Returns the final state dict of process 0
    (as NumPy arrays). ``out`` is the ttnet checkpoint written by process 0;
    with ``dump_dir`` every process writes ``rank{r}.npz`` there.
    """
    if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
        raise ValueError(f"processes must be an int >= 1, got {processes!r}")
    config.validate(processes)
    if processes == 1:
        return train(0, 1, config, out, dump_dir, log=log)
    with tempfile.TemporaryDirectory() as scratch:
        target = dump_dir if dump_dir is not None else scratch
        init_method = f"tcp://127.0.0.1:{_free_port()}"
        mp.spawn(_spawned, args=(processes, config, out, target, init_method, log),
                 nprocs=processes, join=True)
        with np.load(Path(target) / "rank0.npz") as saved:
            return {k: saved[k] for k in saved.files}


def _ranks(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = DDPConfig()
    parser.add_argument("--processes", type=int, default=2,
                        help="processes to start on this machine (ignored under torchrun)")
    parser.add_argument("--model", default=defaults.model, choices=models.MODEL_NAMES)
    parser.add_argument("--width", type=float, default=defaults.width)
    parser.add_argument("--ranks", type=_ranks, default=defaults.conv_ranks,
                        help="TT-conv ranks: an int or JSON list (default %(default)s)")
    parser.add_argument("--fc-ranks", type=_ranks, default=defaults.fc_ranks,
                        help="TT-FC ranks: an int or JSON list")
    parser.add_argument("--data", default=defaults.data, choices=ttdata.DATASETS)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help="global batch, split evenly over the processes")
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--momentum", type=float, default=defaults.momentum)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--dtype", default=defaults.dtype, choices=sorted(_DTYPES))
    parser.add_argument("--algorithm", default=None, choices=["auto", "full", "sequential"],
                        help="algorithm of the TT layers (default: the layers' own)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="cuda: one GPU per process and the NCCL backend")
    parser.add_argument("--out", default="runs/ddp/last.npz", help="ttnet checkpoint to write")
    parser.add_argument("--dump-dir", default=None,
                        help="also write every process's final state as rank{r}.npz here")
    args = parser.parse_args(argv)
    ranks = args.ranks if models.model_parts(args.model)[1] else None
    fc_ranks = args.fc_ranks if models.model_parts(args.model)[2] else None
    config = DDPConfig(model=args.model, width=args.width, conv_ranks=ranks, fc_ranks=fc_ranks,
                       data=args.data, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                       momentum=args.momentum, seed=args.seed, dtype=args.dtype,
                       algorithm=args.algorithm, device=args.device)
    try:
        if "RANK" in os.environ and "WORLD_SIZE" in os.environ:          # started by torchrun
            world = int(os.environ["WORLD_SIZE"])
            config.validate(world)
            train(int(os.environ["RANK"]), world, config, args.out, args.dump_dir,
                  init_method="env://")
        else:
            train_ddp(config, args.processes, args.out, args.dump_dir)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
