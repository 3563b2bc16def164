"""Per-epoch metrics files and learning curves.

A run's history is a list with one dict per completed epoch, with the keys of
:data:`COLUMNS`:

======================  ==========================================================
``epoch``               epochs completed (1, 2, …)
``lr``                  learning rate at the start of the epoch
``train_loss``          mean loss over the epoch's training batches (live weights,
                        training mode, i.e. with augmentation and dropout)
``train_acc``           fraction of those training images classified correctly
``test_loss``           mean loss on the test set (evaluation mode, EMA weights
                        if the run uses an EMA)
``test_acc``            fraction of test images classified correctly
``seconds``             wall time of the epoch's training and evaluation
                        (writing checkpoints and metrics excluded)
``images_per_s``        training images per second (training steps only)
======================  ==========================================================

:func:`write_metrics` writes it as ``metrics.json`` and ``metrics.csv``;
:func:`plot_learning_curves` draws ``learning_curves.png``. All three files are
written atomically (:func:`ttnet._files.atomic_write`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any, Sequence

from .._checks import describe
from .._files import atomic_write

__all__ = ["COLUMNS", "write_metrics", "read_metrics", "plot_learning_curves"]

#: The keys of one epoch's metrics, in the order of the CSV columns.
COLUMNS = ("epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc", "seconds",
           "images_per_s")


def _check_history(history: Any) -> list[dict[str, Any]]:
    if not isinstance(history, Sequence) or isinstance(history, (str, bytes)):
        raise TypeError(f"history must be a list of dicts, got {describe(history)}")
    for k, row in enumerate(history):
        if not isinstance(row, dict):
            raise TypeError(f"history[{k}] must be a dict, got {describe(row)}")
        missing = [c for c in COLUMNS if c not in row]
        if missing:
            raise ValueError(f"history[{k}] lacks the keys {missing}")
    return list(history)


def write_metrics(out_dir: str | os.PathLike, history: Sequence[dict[str, Any]]) -> None:
    """Write ``out_dir/metrics.json`` (a JSON list) and ``out_dir/metrics.csv`` (one row per epoch).

    Extra keys of the dicts go to the JSON file only; the CSV has exactly
    :data:`COLUMNS`. Floats are written with full precision (``repr``).
    """
    history = _check_history(history)
    out_dir = os.fspath(out_dir)
    text = json.dumps(history, indent=1) + "\n"
    atomic_write(os.path.join(out_dir, "metrics.json"), lambda f: f.write(text.encode("utf-8")))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    data = buffer.getvalue().encode("utf-8")
    atomic_write(os.path.join(out_dir, "metrics.csv"), lambda f: f.write(data))


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a ``metrics.json`` written by :func:`write_metrics`."""
    with open(os.fspath(path), encoding="utf-8") as f:
        return json.load(f)


def plot_learning_curves(history: Sequence[dict[str, Any]], path: str | os.PathLike,
                         title: str | None = None) -> None:
    """Save loss and accuracy against epoch (train and test) as a PNG.

    Uses matplotlib's object-oriented API with the Agg canvas, so it never
    opens a window and never changes the global backend (safe in notebooks
    and on machines without a display).

    Parameters
    ----------
    history : list of dict
        As returned by :meth:`ttnet.train.Trainer.fit`.
    path : str or path-like
        The ``.png`` file to write (atomically).
    title : str, optional
        Figure title.
    """
    history = _check_history(history)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    epochs = [row["epoch"] for row in history]
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, key, label in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, [row[f"train_{key}"] for row in history], "o-", ms=3, label="train")
        ax.plot(epochs, [row[f"test_{key}"] for row in history], "s-", ms=3, label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    data = buffer.getvalue()
    atomic_write(path, lambda f: f.write(data))
