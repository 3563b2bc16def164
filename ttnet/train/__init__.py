"""Training: optimisers, learning-rate schedules, weight averaging, checkpoints and the trainer.

* :mod:`ttnet.train.optim` — :class:`SGD` (momentum, Nesterov, weight decay), :class:`Adam`;
* :mod:`ttnet.train.schedules` — :class:`ConstantLR`, :class:`StepLR`, :class:`CosineLR`;
* :mod:`ttnet.train.ema` — :class:`EMA`, the moving average of the weights used for evaluation;
* :mod:`ttnet.train.checkpoint` — :func:`save_checkpoint`, :func:`load_checkpoint` (atomic
  ``.npz`` files);
* :mod:`ttnet.train.metrics` — ``metrics.json``, ``metrics.csv``, ``learning_curves.png``;
* :mod:`ttnet.train.run_dir` — the run directory: its files, the recorded settings, resume and
  overwrite rules (:class:`RunDirectoryError`);
* :mod:`ttnet.train.trainer` — :class:`Trainer` (the loop, exact resume) and :func:`evaluate`.
"""

from .checkpoint import Checkpoint, CheckpointError, atomic_write, load_checkpoint, save_checkpoint
from .ema import EMA
from .metrics import plot_learning_curves, read_metrics, write_metrics
from .optim import SGD, Adam, Optimizer
from .schedules import ConstantLR, CosineLR, Schedule, StepLR
from .run_dir import RUN_FILES, ReproducibilityWarning, RunDirectoryError
from .trainer import Trainer, evaluate

__all__ = ["Optimizer", "SGD", "Adam", "Schedule", "ConstantLR", "StepLR", "CosineLR", "EMA",
           "Checkpoint", "CheckpointError", "save_checkpoint", "load_checkpoint", "atomic_write",
           "write_metrics", "read_metrics", "plot_learning_curves", "Trainer", "evaluate",
           "RunDirectoryError", "ReproducibilityWarning", "RUN_FILES"]
