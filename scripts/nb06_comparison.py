#!/usr/bin/env python
"""Train the three networks that notebook 06 compares and store their metrics.

Notebook 06 (``notebooks/06_training.ipynb``) shows one short training run live
and reads the longer comparison from the file this script writes, so that the
notebook runs in under a minute. The comparison is the notebook's:

* ``conv`` (dense), ``tt-conv`` at rank 8 and ``naive-tt-conv`` at rank 6 (the
  naive rank whose network is closest in size to the rank-8 tt-conv one);
* width 0.25 on ``fashion-mnist-mini``, a 2,000-image training subset, 5 epochs,
  batch 100, SGD (learning rate 0.1, momentum 0.9), cosine schedule, EMA 0.99,
  augmentation; every network with each of the seeds 0, 1 and 2.

It also trains the notebook's live run (``tt-conv``, 1,000 images, 2 epochs,
seed 0) so that the notebook can show that its live run repeats the stored one.

The output is one JSON file (a few tens of kB) with, for every run, its
``RunConfig`` fields, the number of epochs, the per-epoch metrics
(``ttnet.train.metrics.COLUMNS``), the parameter counts and compression of
``ttnet.models.summary(..., verbose=False)``, and the wall time; plus the
command that wrote it, the ttnet and NumPy versions and the machine's load.
Wall times depend on the machine and on what else runs on it.

Usage (about 15 minutes on a busy two-core machine)::

    PYTHONPATH=. python scripts/nb06_comparison.py notebooks/data/06_comparison.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import ttnet
from ttnet.experiments import RunConfig, train

WIDTH = 0.25
SUBSET = 2000
EPOCHS = 5
SEEDS = (0, 1, 2)
TT_RANK = 8
NAIVE_RANK = 6
LIVE_SUBSET = 1000
LIVE_EPOCHS = 2


def common(subset: int, seed: int) -> dict:
    """The RunConfig fields shared by every run of the notebook."""
    return dict(width=WIDTH, data="fashion-mnist-mini", subset=subset, batch_size=100, lr=0.1,
                momentum=0.9, weight_decay=0.0, schedule="cosine", ema_decay=0.99, augment=True,
                seed=seed)


def comparison_configs() -> list[RunConfig]:
    """The nine runs of the comparison: three networks times three seeds."""
    ranks = {"conv": None, "tt-conv": TT_RANK, "naive-tt-conv": NAIVE_RANK}
    return [RunConfig(model=model, conv_ranks=rank, **common(SUBSET, seed))
            for seed in SEEDS for model, rank in ranks.items()]


def live_config() -> RunConfig:
    """The short run the notebook trains live."""
    return RunConfig(model="tt-conv", conv_ranks=TT_RANK, **common(LIVE_SUBSET, 0))


def run(config: RunConfig, epochs: int, out_dir: Path) -> dict:
    """Train one configuration into ``out_dir``; return its JSON record."""
    print(f"--- {config.model} ranks {config.conv_ranks} seed {config.seed} "
          f"subset {config.subset} epochs {epochs}", flush=True)
    result = train(config, out_dir, epochs, progress=False)
    summary = result["summary"]
    return {"config": config.to_dict(), "epochs": epochs, "history": result["history"],
            "n_params": summary.n_params, "dense_params": summary.dense_params,
            "compression": summary.compression, "seconds": result["seconds"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="the JSON file to write")
    args = parser.parse_args(argv)
    if args.output.suffix != ".json":
        parser.error(f"output must end in .json, got {str(args.output)!r}")
    start = time.perf_counter()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ttnet-nb06-") as tmp:
        runs = [run(config, EPOCHS, Path(tmp) / f"run{i}")
                for i, config in enumerate(comparison_configs())]
        live = run(live_config(), LIVE_EPOCHS, Path(tmp) / "live")
    record = {
        "command": "PYTHONPATH=. python scripts/nb06_comparison.py " + args.output.as_posix(),
        "ttnet": ttnet.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "load_average_start": load_start, "load_average_end": os.getloadavg()[0],
        "total_seconds": time.perf_counter() - start,
        "runs": runs, "live": live,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = args.output.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(record, indent=1) + "\n")
    tmp_path.replace(args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes) in "
          f"{record['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
