"""The training loop: minibatch SGD over arrays, evaluation, metrics, checkpoints and exact resume.

:class:`Trainer` is decoupled from data loading: it receives the images and
labels as arrays and a ``prepare(images, rng, training) -> float array``
callable that turns a batch of stored images (e.g. uint8) into network input
(normalisation, and augmentation when ``training`` is True).

Each epoch e = 0, 1, … (``fit``):

1. ``rng = np.random.default_rng([seed, e])`` — the epoch's generator, a pure
   function of the seed and the epoch number; it shuffles the training set
   and is passed to ``prepare`` for augmentation;
2. for each minibatch: forward, loss, backward, ``optimizer.lr =
   schedule(e + i / steps_per_epoch)``, ``optimizer.step()``, ``ema.update()``;
3. evaluate on the test set in evaluation mode, with the EMA weights if there
   is an EMA (:func:`evaluate`);
4. write ``best.npz`` (if the test accuracy improved), then ``last.npz`` —
   the commit point of the epoch — then ``metrics.json``, ``metrics.csv``
   and ``learning_curves.png``; every file atomically.

**Exact resume.** Everything that influences the numbers lives either in the
checkpoint or in the epoch number: parameters, BatchNorm buffers, optimiser
state, EMA, the generators of the modules (Dropout) are saved; the shuffling
and augmentation generator is re-derived from ``[seed, epoch]``; the learning
rate is a function of the epoch. So a run resumed from ``last.npz`` — also
after ``kill -9`` in the middle of an epoch, whose partial work is simply
redone — ends with bit-identical weights to an uninterrupted run, provided the
numerical environment is the same (same machine, library versions and thread
counts, see :func:`ttnet.train.checkpoint.environment`; a difference gives a
:class:`ReproducibilityWarning`). ``prepare`` must be a pure function of its
arguments (use the ``rng`` it is given, not a generator of its own).

**Extending a run.** Resuming with a larger ``epochs`` continues the run. With
a schedule that does not depend on the run's length (constant, step, or a
cosine whose ``total_epochs`` is left unchanged) the result is bit-identical to
an uninterrupted run of the new length. A cosine schedule whose horizon is
raised with ``epochs`` (what ``ttnet train --resume --epochs N`` does) is
re-planned: the epochs already done keep their learning rates and the rest
follow the new cosine, so the result deliberately differs from an
uninterrupted run of the new length (see :mod:`ttnet.train.schedules`).

**NaN and ±inf.** A checkpoint never holds a non-finite value. The trainer
checks the input batch, the network's output and the loss before every
backward pass, the parameters and buffers after every step (and, if one went
bad, the gradients, to tell the backward pass from the update), and the whole
state — parameters, buffers, optimiser state, EMA — at the end of each
epoch's training, before evaluating and committing it; ``evaluate`` checks
its inputs, outputs and losses too. The first non-finite value stops the run
with a ``FloatingPointError`` that says where it appeared (epoch, step,
which arrays), lists the likely causes without claiming to know which one it
was, and states what the run directory holds (which checkpoints, of which
epochs). Nothing of the failed epoch is written. (:func:`save_checkpoint`
itself also refuses non-finite arrays.)

**Run directories.** ``out_dir`` must be empty or missing unless
``resume=True`` (continue the run in it; its configuration and model must
match) or ``overwrite=True`` (delete the previous run's files and start
again); otherwise :class:`~ttnet.train.run_dir.RunDirectoryError`. The files,
what they record and these rules are :mod:`ttnet.train.run_dir`.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import os
import time
from typing import Any, Callable

import numpy as np

from .._checks import check_bool, check_int, describe
from ..nn.losses import SoftmaxCrossEntropy
from ..nn.module import Module
from tqdm import tqdm

from .checkpoint import Checkpoint, nonfinite_arrays, save_checkpoint
from .ema import EMA
from .metrics import plot_learning_curves, write_metrics
from .optim import Optimizer
from .run_dir import (BEST_CHECKPOINT, LAST_CHECKPOINT, data_fingerprint, held_checkpoints,
                      model_description, open_run_directory)
from .run_dir import RUN_FILES, ReproducibilityWarning, RunDirectoryError  # noqa: F401 (were here)
from .schedules import Schedule

__all__ = ["Trainer", "evaluate"]

# ---------------------------------------------------------------- argument checks
def _check_images_labels(images: Any, labels: Any, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(images, np.ndarray) or images.dtype.kind not in "uif" or images.ndim < 2:
        raise TypeError(f"{prefix}_images must be a numeric ndarray (N, ...) of uint8 or float, "
                        f"got {describe(images)}")
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu" or labels.ndim != 1:
        raise TypeError(f"{prefix}_labels must be a 1-D integer ndarray (N,), got "
                        f"{describe(labels)}")
    if len(images) != len(labels):
        raise ValueError(f"{prefix}_images and {prefix}_labels must have the same length, got "
                         f"{len(images)} images and {len(labels)} labels")
    if len(images) == 0:
        raise ValueError(f"{prefix}_images must not be empty")
    return images, labels


def _model_dtype(model: Module) -> np.dtype | None:
    for p in model.params.values():
        return p.dtype
    return None


def _prepared(prepare: Callable, images: np.ndarray, rng: np.random.Generator, training: bool,
              dtype: np.dtype | None) -> np.ndarray:
    """Call ``prepare`` and check that it returned a batch in the model's dtype."""
    x = prepare(images, rng, training)
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"prepare must return a float ndarray, got {describe(x)}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"prepare returned dtype {x.dtype} but the model's parameters are "
                        f"{dtype}; return x.astype(np.{dtype}) (no silent promotion)")
    if len(x) != len(images):
        raise ValueError(f"prepare must return one row per image ({len(images)}), got shape "
                         f"{x.shape}")
    return x


def _check_output_dtype(logits: np.ndarray, dtype: np.dtype | None) -> None:
    if dtype is not None and logits.dtype != dtype:
        raise TypeError(f"the model returned dtype {logits.dtype} for a {dtype} input: a layer "
                        f"promotes its input; every layer must keep the dtype of its parameters")


def _nonfinite(arr: Any) -> int:
    """Number of NaN and ±inf entries of an array (0 for a finite one)."""
    arr = np.asarray(arr)
    return int(arr.size - np.count_nonzero(np.isfinite(arr)))


def _listed(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# ---------------------------------------------------------------- evaluation
def evaluate(model: Module, images: np.ndarray, labels: np.ndarray, prepare: Callable,
             batch_size: int = 100, loss: Module | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on a data set, in evaluation mode.

    The model is put in evaluation mode (BatchNorm uses running statistics,
    Dropout is the identity) and each module's previous mode is restored
    afterwards. Nothing in the model changes. To evaluate with EMA weights,
    call it inside ``with ema.applied():``.

    Parameters
    ----------
    model : Module
        Maps a prepared batch (B, ...) to logits (B, K).
    images : ndarray (N, ...), uint8 or float
    labels : ndarray of int (N,)
    prepare : callable(images, rng, training) -> float ndarray
        Called with ``training=False`` (and a fixed generator, in case it wants one).
    batch_size : int >= 1
    loss : Module, optional
        ``loss.forward(logits, labels)`` gives the batch-mean loss; default
        :class:`~ttnet.nn.SoftmaxCrossEntropy`.

    Returns
    -------
    loss : float
        Mean loss over the N images.
    accuracy : float
        Fraction of images whose largest logit is the label's, in [0, 1].

    Raises
    ------
    FloatingPointError
        If a prepared batch, the network's output or a batch loss holds NaN
        or ±inf (the message names the images).
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
    images, labels = _check_images_labels(images, labels, "eval")
    if not callable(prepare):
        raise TypeError(f"prepare must be callable(images, rng, training), got "
                        f"{describe(prepare)}")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    loss_fn = SoftmaxCrossEntropy() if loss is None else loss
    dtype = _model_dtype(model)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    rng = np.random.default_rng(0)
    total_loss, correct = 0.0, 0
    try:
        for start in range(0, len(images), batch_size):
            y = labels[start:start + batch_size]
            span = f"images {start}..{start + len(y) - 1} of {len(images)}"
            x = _prepared(prepare, images[start:start + batch_size], rng, False, dtype)
            if _nonfinite(x):
                raise FloatingPointError(f"evaluation: prepare returned NaN or ±inf "
                                         f"({_nonfinite(x)} of {x.size} values) for {span}")
            logits = model.forward(x)
            _check_output_dtype(logits, dtype)
            if _nonfinite(logits):
                raise FloatingPointError(
                    f"evaluation: the network's output for {span} holds NaN or ±inf "
                    f"({_nonfinite(logits)} of {logits.size} values) for a finite input")
            loss = loss_fn.forward(logits, y)
            if not np.isfinite(loss):
                raise FloatingPointError(f"evaluation: the loss is {float(loss)} for {span}, "
                                         f"whose network outputs are finite")
            total_loss += float(loss) * len(y)
            correct += int(np.count_nonzero(np.argmax(logits, axis=1) == y))
    finally:
        for module, mode in modes:
            module.training = mode
    return total_loss / len(images), correct / len(images)


# ---------------------------------------------------------------- the trainer
class Trainer:
    """Train a model on arrays with a schedule, evaluate every epoch, checkpoint, resume exactly.

    Parameters
    ----------
    model : Module
        Maps a prepared batch (B, ...) to logits (B, K); e.g. a ``Sequential``.
    optimizer : Optimizer
        Built on ``model`` (its parameters must be the model's arrays).
    schedule : Schedule
        Learning rate as a function of the fractional epoch; set before every step.
    prepare : callable(images, rng, training) -> float ndarray
        Turns a batch of stored images into network input in the model's dtype
        (normalisation; augmentation with ``rng`` when ``training``). Must be
        a pure function of its arguments for runs to be reproducible.
    out_dir : str or path-like
        Run directory (created if missing).
    epochs : int >= 1
        Train until this many epochs are complete. May be raised when
        resuming, to extend a run. It is the only setting that may change,
        with the horizon of a schedule that depends on the run's length
        (:attr:`Schedule.horizon_keys`, e.g. ``CosineLR(lr, total_epochs)``):
        the run is then re-planned — completed epochs keep their learning
        rates, later ones follow the new schedule — and the change is recorded
        under ``"replanned"`` in the run configuration (see "Extending a run"
        in :mod:`ttnet.train.schedules`).
    batch_size : int >= 1
    seed : int >= 0
        Shuffling and augmentation of epoch e use ``default_rng([seed, e])``.
        (The model's initialisation and Dropout generators are seeded where
        the model is built.)
    loss : Module, optional
        ``forward(logits, labels) -> mean loss``, ``backward() -> dlogits``;
        default :class:`~ttnet.nn.SoftmaxCrossEntropy`.
    ema : EMA, optional
        Updated after every step; the test set is evaluated with its weights.
    config : dict, optional
        Your description of the run (model name, ranks, data set, …),
        JSON-serialisable; saved in every checkpoint and compared on resume.
    resume : bool
        Continue the run in ``out_dir`` from ``last.npz``.
    overwrite : bool
        Delete the files of a previous run in ``out_dir`` (:data:`RUN_FILES`,
        nothing else) and start afresh.
    eval_batch_size : int, optional
        Batch size of evaluation (default ``batch_size``).
    drop_last : bool
        Skip the last, incomplete batch of each epoch (a different random
        subset every epoch), so every step has ``batch_size`` images.
    progress : bool or None
        Show a tqdm progress bar per epoch; None shows it only on a terminal.
    log : callable(str), optional
        Receives one summary line per epoch (e.g. ``print``).
    plot : bool
        Write ``learning_curves.png`` after every epoch.

    Attributes
    ----------
    history : list of dict
        Metrics of the completed epochs (:mod:`ttnet.train.metrics`).
    epoch : int
        Number of completed epochs.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from ttnet.nn import Sequential, Flatten, Linear
    >>> from ttnet.train import Trainer, SGD, ConstantLR
    >>> rng = np.random.default_rng(0)
    >>> images = rng.integers(0, 256, (200, 1, 4, 4), dtype=np.uint8)
    >>> labels = (images[:, 0, 0, 0] > 127).astype(np.int64)     # learnable
    >>> prepare = lambda x, rng, training: (x / np.float32(255)).astype(np.float32)
    >>> model = Sequential(Flatten(), Linear(16, 2, rng=0))
    >>> trainer = Trainer(model, SGD(model, momentum=0.9), ConstantLR(0.5), prepare,
    ...                   out_dir=tempfile.mkdtemp(), epochs=3, batch_size=20, progress=False)
    >>> history = trainer.fit(images, labels, images, labels)
    >>> len(history), history[-1]["test_acc"] > 0.8
    (3, True)
    """

    def __init__(self, model: Module, optimizer: Optimizer, schedule: Schedule, prepare: Callable,
                 *, out_dir: str | os.PathLike, epochs: int, batch_size: int = 100, seed: int = 0,
                 loss: Module | None = None, ema: EMA | None = None,
                 config: dict[str, Any] | None = None, resume: bool = False,
                 overwrite: bool = False, eval_batch_size: int | None = None,
                 drop_last: bool = True, progress: bool | None = None,
                 log: Callable[[str], Any] | None = None, plot: bool = True) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a ttnet.train Optimizer (SGD, Adam), got "
                            f"{describe(optimizer)}")
        if any(optimizer.params.get(name) is not p for name, p in model.params.items()) or \
                len(optimizer.params) != len(model.params):
            raise ValueError("optimizer must be built on this model (its parameters are not the "
                             "model's arrays): use SGD(model, ...)")
        if not isinstance(schedule, Schedule):
            raise TypeError(f"schedule must be a ttnet.train Schedule (ConstantLR, StepLR, "
                            f"CosineLR), got {describe(schedule)}")
        if not callable(prepare):
            raise TypeError(f"prepare must be callable(images, rng, training), got "
                            f"{describe(prepare)}")
        if ema is not None:
            if not isinstance(ema, EMA):
                raise TypeError(f"ema must be a ttnet.train EMA or None, got {describe(ema)}")
            if any(ema.params.get(name) is not p for name, p in model.params.items()):
                raise ValueError("ema must be built on this model: use EMA(model, ...)")
        if loss is not None and not isinstance(loss, Module):
            raise TypeError(f"loss must be a ttnet.nn Module (e.g. SoftmaxCrossEntropy), got "
                            f"{describe(loss)}")
        for name, flag in (("resume", resume), ("overwrite", overwrite), ("drop_last", drop_last),
                           ("plot", plot)):
            check_bool(flag, name)
        if resume and overwrite:
            raise ValueError("resume and overwrite cannot both be True: resume continues the run "
                             "in out_dir, overwrite deletes it")
        if progress is not None and not isinstance(progress, (bool, np.bool_)):
            raise TypeError(f"progress must be True, False or None, got {describe(progress)}")
        if log is not None and not callable(log):
            raise TypeError(f"log must be callable(str) or None, got {describe(log)}")
        if config is not None and not isinstance(config, dict):
            raise TypeError(f"config must be a dict or None, got {describe(config)}")
        try:
            self.config = json.loads(json.dumps({} if config is None else config))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"config must be JSON-serialisable: {exc}") from None
        if isinstance(out_dir, (bytes, bytearray)) or not isinstance(out_dir, (str, os.PathLike)):
            raise TypeError(f"out_dir must be a path, got {describe(out_dir)}")

        self.model, self.optimizer, self.schedule = model, optimizer, schedule
        self.prepare = prepare
        self.loss = SoftmaxCrossEntropy() if loss is None else loss
        self.ema = ema
        self.out_dir = os.fspath(out_dir)
        self.epochs = check_int(epochs, "epochs", minimum=1)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.seed = check_int(seed, "seed", minimum=0)
        self.eval_batch_size = (self.batch_size if eval_batch_size is None
                                else check_int(eval_batch_size, "eval_batch_size", minimum=1))
        self.resume, self.overwrite = bool(resume), bool(overwrite)
        self.drop_last, self.plot = bool(drop_last), bool(plot)
        self.progress, self.log = progress, log
        self.history: list[dict[str, Any]] = []
        self.epoch = 0
        self._dtype = _model_dtype(model)

    # -- the run's settings (recorded in the run directory, see run_dir) ----------------
    def run_config(self, train_images: np.ndarray, train_labels: np.ndarray,
                   test_images: np.ndarray, test_labels: np.ndarray) -> dict[str, Any]:
        """The run's full configuration, saved in ``config.json`` and every checkpoint.

        Everything here except ``epochs`` (and the schedule's horizon, see
        ``epochs``) must be equal for a resume to be accepted: your ``config``,
        the model's architecture, loss, optimiser, schedule, EMA, batch size,
        seed, ``drop_last`` and fingerprints of the data.
        """
        run = {
            "config": self.config,
            "model": model_description(self.model),
            "loss": type(self.loss).__name__,
            "optimizer": self.optimizer.config(),
            "schedule": self.schedule.config(),
            "ema": None if self.ema is None else self.ema.config(),
            "batch_size": self.batch_size,
            "drop_last": self.drop_last,
            "seed": self.seed,
            "data": {"train": data_fingerprint(train_images, train_labels),
                     "test": data_fingerprint(test_images, test_labels)},
            "epochs": self.epochs,
        }
        return json.loads(json.dumps(run))

    def _path(self, name: str) -> str:
        return os.path.join(self.out_dir, name)

    def _restore(self, checkpoint: Checkpoint) -> None:
        checkpoint.restore(self.model, self.optimizer, self.ema)

    def _say(self, line: str) -> None:
        if self.log is not None:
            self.log(line)

    # -- training ------------------------------------------------------------------------------
    def steps_per_epoch(self, n_images: int) -> int:
        """Number of optimiser steps in an epoch over ``n_images`` training images."""
        if self.drop_last:
            return n_images // self.batch_size
        return math.ceil(n_images / self.batch_size)

    def fit(self, train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray,
            test_labels: np.ndarray) -> list[dict[str, Any]]:
        """Train until ``epochs`` epochs are complete; return the metrics history.

        Parameters
        ----------
        train_images, test_images : ndarray (N, ...), uint8 or float
            Stored images; ``prepare`` turns batches of them into input.
        train_labels, test_labels : ndarray of int (N,)

        Returns
        -------
        history : list of dict
            One entry per completed epoch (also ``self.history``).

        Raises
        ------
        RunDirectoryError
            Before any training step, if ``out_dir`` is not empty and neither
            ``resume`` nor ``overwrite`` is set, or the run to resume has
            another configuration or model (all differences are listed).
        FloatingPointError
            If the model handed in (or restored) holds NaN or ±inf, or a NaN
            or ±inf appears in an input batch, the network's output, the loss,
            the parameters, buffers, optimiser state or EMA, or in evaluation.
            The message names the epoch, step and arrays, lists likely causes
            and says which checkpoints the run directory holds; nothing of the
            failed epoch is written.
        """
        train_images, train_labels = _check_images_labels(train_images, train_labels, "train")
        test_images, test_labels = _check_images_labels(test_images, test_labels, "test")
        if self.drop_last and len(train_images) < self.batch_size:
            raise ValueError(f"batch_size ({self.batch_size}) must be <= the number of training "
                             f"images ({len(train_images)}) when drop_last=True")
        run = self.run_config(train_images, train_labels, test_images, test_labels)
        resumed = open_run_directory(self.out_dir, run, resume=self.resume,
                                     overwrite=self.overwrite, schedule=self.schedule,
                                     restore=self._restore, say=self._say)
        self.epoch = 0 if resumed is None else resumed.epoch
        self.history = [] if resumed is None else list(resumed.metrics)
        if self.history:          # rewrite the derived files from the committed history
            self._write_metrics_files()
        if resumed is not None:
            self._say(f"resuming {self.out_dir} after epoch {self.epoch}")
        self._run = run
        bad = nonfinite_arrays(self.model, self.optimizer, self.ema)
        if bad:
            source = (f"restored from {self._path(LAST_CHECKPOINT)} (written by a ttnet that "
                      f"did not check for NaN)" if self.epoch else "handed to the trainer")
            raise FloatingPointError(f"cannot train: the training state {source} holds NaN or "
                                     f"±inf in {_listed(bad)}")
        best = max((row["test_acc"] for row in self.history), default=-math.inf)
        while self.epoch < self.epochs:
            row = self._train_one_epoch(train_images, train_labels, test_images, test_labels)
            self.history.append(row)
            self.epoch += 1
            improved = row["test_acc"] > best
            if improved:          # best first: a crash before last.npz redoes this epoch
                best = row["test_acc"]
                self._save(BEST_CHECKPOINT)
            self._save(LAST_CHECKPOINT)                 # the commit point of the epoch
            self._write_metrics_files()
            self._say(f"epoch {row['epoch']}/{self.epochs}  lr {row['lr']:.4g}  "
                      f"train loss {row['train_loss']:.4f} acc {row['train_acc']:.4f}  "
                      f"test loss {row['test_loss']:.4f} acc {row['test_acc']:.4f}"
                      f"{' (best)' if improved else ''}  {row['seconds']:.1f} s  "
                      f"{row['images_per_s']:.0f} img/s")
        return self.history

    def _save(self, name: str) -> None:
        save_checkpoint(self._path(name), self.model, optimizer=self.optimizer, ema=self.ema,
                        epoch=self.epoch, config=self._run, metrics=self.history)

    def _write_metrics_files(self) -> None:
        write_metrics(self.out_dir, self.history)
        if self.plot:
            plot_learning_curves(self.history, self._path("learning_curves.png"),
                                 title=os.path.basename(os.path.abspath(self.out_dir)))

    # -- NaN and ±inf ---------------------------------------------------------------------------
    def _check_step(self, where: str, loss: float, recent: collections.deque) -> None:
        """After a step: parameters and buffers finite, else find whether backward or update."""
        model, dtype = self.model, self._dtype
        bad_params = [repr(n) for n, p in model.params.items() if _nonfinite(p)]
        bad_buffers = [repr(n) for n, b in model.buffers.items() if _nonfinite(b)]
        if not bad_params and not bad_buffers:
            return
        bad_grads = [repr(n) for n, g in model.grads.items() if _nonfinite(g)]
        lr = self.optimizer.lr
        if bad_grads:
            raise self._stopped(
                where, f"the backward pass produced NaN or ±inf in the gradient of "
                       f"{_listed(bad_grads)}, although the loss ({loss:.6g}) was finite",
                [f"the loss function's backward ({type(self.loss).__name__})",
                 f"a gradient overflowing {dtype} (very large weights or activations: training "
                 f"diverging?)", "a layer's backward computing NaN from finite values (please "
                                 "report it with the run's config.json)"], recent)
        if bad_params:
            raise self._stopped(
                where, f"the optimiser step made parameter {_listed(bad_params)} NaN or ±inf, "
                       f"although every gradient was finite",
                [f"training diverging: a learning rate ({lr:.4g} at this step) too high for "
                 f"this model, batch size and momentum, until the update overflowed {dtype}",
                 "momentum or weight decay making the updates grow without bound"], recent)
        raise self._stopped(
            where, f"the running statistics {_listed(bad_buffers)} became NaN or ±inf in the "
                   f"forward pass, although the output and loss were finite",
            [f"activations so large that a batch variance overflowed {dtype}: training "
             f"diverging (a learning rate, last set to {lr:.4g}, too high?) or very large "
             f"inputs"], recent)

    def _divergence_causes(self) -> list[str]:
        return [f"training diverging: a learning rate (last set to {self.optimizer.lr:.4g}) too "
                f"high for this model, batch size and momentum",
                f"an activation overflowing {self._dtype} without divergence (very large "
                f"inputs or weights)",
                "a layer computing NaN from finite values (please report it with the run's "
                "config.json)"]

    def _stopped(self, where: str, what: str, causes: list[str],
                 recent: collections.deque | None = None) -> FloatingPointError:
        """The error that stops a run: where, what, likely causes, recent losses, the directory."""
        text = f"training stopped {where}: {what}."
        if len(causes) == 1:
            text += f"\nLikely cause: {causes[0]}."
        elif causes:
            text += "\nLikely causes (ttnet cannot tell which one it was):" + "".join(
                f"\n  - {cause}" for cause in causes)
        if recent is not None:
            text += ("\nLosses of the last steps of this epoch: "
                     + (", ".join(f"{v:.4g}" for v in recent) or "none (its first step)")
                     + " (a rising loss points to divergence).")
        return FloatingPointError(text + "\n" + held_checkpoints(self.out_dir))

    def _train_one_epoch(self, train_images: np.ndarray, train_labels: np.ndarray,
                         test_images: np.ndarray, test_labels: np.ndarray) -> dict[str, Any]:
        e = self.epoch
        start = time.perf_counter()
        rng = np.random.default_rng([self.seed, e])
        order = rng.permutation(len(train_images))
        steps = self.steps_per_epoch(len(train_images))
        model, loss_fn, optimizer = self.model, self.loss, self.optimizer
        model.train()
        total_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(total=steps, desc=f"epoch {e + 1}/{self.epochs}", unit="batch", leave=False,
                   disable=None if self.progress is None else not self.progress)
        recent: collections.deque = collections.deque(maxlen=5)    # the last step losses
        try:
            for i in range(steps):
                where = f"at epoch {e + 1}, step {i + 1} of {steps}"
                index = order[i * self.batch_size:(i + 1) * self.batch_size]
                y = train_labels[index]
                x = _prepared(self.prepare, train_images[index], rng, True, self._dtype)
                if _nonfinite(x):
                    raise self._stopped(
                        where, f"the prepared input batch holds NaN or ±inf ({_nonfinite(x)} "
                               f"of {x.size} values)",
                        ["NaN or ±inf in the stored training images",
                         "prepare producing them (e.g. dividing by a zero standard deviation)"])
                logits = model.forward(x)
                _check_output_dtype(logits, self._dtype)
                if _nonfinite(logits):
                    raise self._stopped(
                        where, f"the network's output holds NaN or ±inf ({_nonfinite(logits)} "
                               f"of {logits.size} values) for a finite input batch and finite "
                               f"weights", self._divergence_causes(), recent)
                loss = loss_fn.forward(logits, y)
                if not np.isfinite(loss):
                    raise self._stopped(
                        where, f"the training loss is {float(loss)} for finite network outputs",
                        [f"the loss function ({type(loss_fn).__name__}): it must return a finite "
                         f"mean for finite logits", "labels the loss function cannot handle"])
                model.backward(loss_fn.backward())
                optimizer.lr = self.schedule(e + i / steps)
                optimizer.step()
                if self.ema is not None:
                    self.ema.update()
                self._check_step(where, float(loss), recent)
                recent.append(float(loss))
                total_loss += float(loss) * len(y)
                correct += int(np.count_nonzero(np.argmax(logits, axis=1) == y))
                seen += len(y)
                elapsed = time.perf_counter() - start
                bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}",
                                img_s=f"{seen / elapsed:.0f}", refresh=False)
                bar.update(1)
        finally:
            bar.close()
        train_seconds = time.perf_counter() - start
        bad = nonfinite_arrays(model, optimizer, self.ema)       # optimiser state and EMA too
        if bad:
            big = math.sqrt(float(np.finfo(self._dtype or np.float64).max))
            raise self._stopped(
                f"after the last step of epoch {e + 1}",
                f"NaN or ±inf in {_listed(bad)}, although every parameter and buffer is finite",
                [f"an optimiser state overflowing {self._dtype}: Adam's second moment holds "
                 f"squared gradients, which overflow for gradients above ~{big:.1e}",
                 "a momentum buffer growing without bound (momentum and learning rate too high)"])
        try:
            with self.ema.applied() if self.ema is not None else contextlib.nullcontext():
                test_loss, test_acc = evaluate(model, test_images, test_labels, self.prepare,
                                               self.eval_batch_size, loss_fn)
        except FloatingPointError as exc:
            raise self._stopped(
                f"in the evaluation after epoch {e + 1}'s training",
                f"{exc}, although every parameter, buffer, optimiser-state and EMA array is "
                f"finite", ["NaN or ±inf in the test images (the training batches were finite)",
                            "an activation overflowing in evaluation mode (BatchNorm's running "
                            "statistics, or the EMA weights, do not match the test data)",
                            "the loss function returning NaN for finite outputs"]) from None
        return {"epoch": e + 1, "lr": self.schedule(e),
                "train_loss": total_loss / seen, "train_acc": correct / seen,
                "test_loss": test_loss, "test_acc": test_acc,
                "seconds": time.perf_counter() - start, "images_per_s": seen / train_seconds}
