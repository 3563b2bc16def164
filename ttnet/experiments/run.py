"""Experiments: data + model + optimiser + trainer, wired together for the CLI and the notebooks.

:func:`train` runs one configuration (a :class:`RunConfig`) end to end: load
the data set, fit the per-channel normalisation on the training images, build
the model (:func:`ttnet.models.build`), train it with SGD + momentum, a step
or cosine schedule and an EMA of the weights (the paper's recipe, PAPER_NOTES),
evaluate every epoch and checkpoint into a run directory. :func:`evaluate_checkpoint`
re-evaluates a saved run; :func:`demo` is the README's main job.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import data as ttdata
from .. import models
from .._checks import check_int, check_scalar
from ..train import EMA, SGD, CosineLR, StepLR, Trainer, evaluate, load_checkpoint
from ..nn.module import Module
from ..train.checkpoint import CheckpointError

__all__ = ["RunConfig", "train", "copy_weights", "evaluate_checkpoint", "make_prepare", "demo",
           "DEMO_CONFIG"]


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run (saved in every checkpoint).

    Attributes
    ----------
    model : str
        A name of :data:`ttnet.models.MODEL_NAMES`.
    conv_ranks, fc_ranks : int, list of lists of int, or None
        TT ranks (see :func:`ttnet.models.build`).
    width : float
        Channel multiplier.
    data : str
        ``fashion-mnist``, ``fashion-mnist-mini`` or ``cifar10``.
    subset : int or None
        Train on a class-balanced subset of this many training images.
    batch_size, lr, momentum, weight_decay : training hyper-parameters
    schedule : ``"step"`` (× ``lr_gamma`` every ``lr_step`` epochs) or ``"cosine"``
    ema_decay : float or None
        Evaluate with an exponential moving average of the weights (None: no EMA).
    augment : bool
        The paper's augmentation (pad 4 + random crop, random contrast, flip for CIFAR-10).
    seed : int
        Initialisation, shuffling and augmentation.
    """

    model: str = "tt-conv"
    conv_ranks: Any = None
    fc_ranks: Any = None
    width: float = 1.0
    data: str = "fashion-mnist-mini"
    subset: int | None = None
    batch_size: int = 100
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "step"
    lr_step: int = 30
    lr_gamma: float = 0.1
    ema_decay: float | None = 0.999
    augment: bool = True
    seed: int = 0

    def validate(self) -> "RunConfig":
        """Check every field (raising ValueError / TypeError naming it); return self."""
        if self.model not in models.MODEL_NAMES:
            raise ValueError(f"model must be one of {', '.join(models.MODEL_NAMES)}; got "
                             f"{self.model!r}")
        if self.data not in ttdata.DATASETS:
            raise ValueError(f"data must be one of {', '.join(ttdata.DATASETS)}; got {self.data!r}")
        if self.subset is not None:
            check_int(self.subset, "subset", minimum=1)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_int(self.lr_step, "lr_step", minimum=1)
        check_int(self.seed, "seed", minimum=0)
        for name in ("lr", "momentum", "weight_decay", "lr_gamma", "width"):
            value = check_scalar(getattr(self, name), name)
            if value < 0 or (name in ("lr", "width") and value == 0):
                raise ValueError(f"{name} must be {'> 0' if name in ('lr', 'width') else '>= 0'}, "
                                 f"got {value}")
        if self.schedule not in ("step", "cosine"):
            raise ValueError(f"schedule must be 'step' or 'cosine', got {self.schedule!r}")
        if self.ema_decay is not None and not 0.0 < check_scalar(self.ema_decay, "ema_decay") < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {self.ema_decay}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: The README's main job: a small TT-conv network on the packaged Fashion-MNIST subset.
DEMO_CONFIG = RunConfig(model="tt-conv", width=0.25, conv_ranks=8, data="fashion-mnist-mini",
                        batch_size=100, lr=0.1, schedule="cosine", ema_decay=0.99, seed=0)
DEMO_EPOCHS = 8


def make_prepare(normalizer: ttdata.Normalizer, *, augment: bool, flip: bool,
                 dtype: Any = np.float32) -> Callable[[np.ndarray, np.random.Generator, bool],
                                                      np.ndarray]:
    """The ``prepare(images, rng, training)`` function of the trainer.

    Training batches get the paper's augmentation (:func:`ttnet.data.augment`)
    when ``augment`` is set; every batch is standardised with ``normalizer``
    and cast to ``dtype``. It uses no state besides its arguments, so runs are
    reproducible and resumable.
    """
    def prepare(images: np.ndarray, rng: np.random.Generator, training: bool) -> np.ndarray:
        if training and augment:
            images = ttdata.augment(images, rng, flip=flip)
        return normalizer(images, dtype)

    return prepare


def _load_data(config: RunConfig, download: bool = False
               ) -> tuple[ttdata.Dataset, ttdata.Dataset, np.ndarray, np.ndarray]:
    train_set = ttdata.load(config.data, "train", download=download)
    test_set = ttdata.load(config.data, "test", download=download)
    images, labels = train_set.images, train_set.labels
    if config.subset is not None and config.subset < len(labels):
        n_classes = int(labels.max()) + 1
        if config.subset < n_classes:
            raise ValueError(f"subset must be at least the number of classes ({n_classes}), "
                             f"got {config.subset}")
        index = ttdata.balanced_subset(labels, config.subset // n_classes, rng=config.seed)
        images, labels = images[index], labels[index]
    return train_set, test_set, images, labels


def train(config: RunConfig, out_dir: str | Path, epochs: int, *, resume: bool = False,
          overwrite: bool = False, progress: bool | None = None,
          log: Callable[[str], Any] | None = print, download: bool = False,
          init: Module | None = None, init_note: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train one configuration; return the history, the model and its summary.

    Parameters
    ----------
    config : RunConfig
    out_dir : path
        Run directory (checkpoints, metrics, learning curves).
    epochs : int
        Total number of epochs (may be raised when resuming).
    resume, overwrite : bool
        See :class:`ttnet.train.Trainer`.
    progress : bool or None
        tqdm progress bars (None: only on a terminal).
    log : callable or None
        Receives one line per epoch.
    download : bool
        Fetch the data set if it is not found (:func:`ttnet.data.load`).
    init : Module, optional
        Start from this model's parameters and buffers instead of the seeded
        initialisation (fine-tuning); it must have exactly the architecture
        ``config`` builds. Ignored when resuming a run that has a checkpoint.
    init_note : dict, optional
        JSON description of where ``init`` comes from, saved in the run's
        configuration (a resume must give the same note).

    Returns
    -------
    dict with ``history`` (list of per-epoch metrics), ``model``, ``summary``
    (:class:`ttnet.models.Summary`) and ``seconds``.
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"config must be a RunConfig, got {type(config).__name__}")
    config.validate()
    epochs = check_int(epochs, "epochs", minimum=1)
    train_set, test_set, images, labels = _load_data(config, download)
    normalizer = ttdata.Normalizer.fit(images)
    input_shape = tuple(images.shape[1:])
    model = models.build(config.model, input_shape=input_shape,
                         num_classes=len(train_set.classes), width=config.width,
                         conv_ranks=config.conv_ranks, fc_ranks=config.fc_ranks, rng=config.seed)
    if init is not None:
        copy_weights(init, model, "init")
    optimizer = SGD(model, lr=config.lr, momentum=config.momentum,
                    weight_decay=config.weight_decay)
    schedule = (StepLR(config.lr, config.lr_step, config.lr_gamma) if config.schedule == "step"
                else CosineLR(config.lr, epochs))
    ema = EMA(model, config.ema_decay) if config.ema_decay is not None else None
    prepare = make_prepare(normalizer, augment=config.augment, flip=train_set.horizontal_flip)
    saved = config.to_dict()
    saved["normalizer"] = {"mean": normalizer.mean.tolist(), "std": normalizer.std.tolist()}
    saved["input_shape"] = list(input_shape)
    saved["classes"] = list(train_set.classes)
    if init_note is not None:
        saved["init"] = init_note
    trainer = Trainer(model, optimizer, schedule, prepare, out_dir=out_dir, epochs=epochs,
                      batch_size=config.batch_size, seed=config.seed, ema=ema, config=saved,
                      resume=resume, overwrite=overwrite, progress=progress, log=log)
    start = time.perf_counter()
    history = trainer.fit(images, labels, test_set.images, test_set.labels)
    if ema is not None:
        ema.copy_to(model)  # the returned model is the one that was evaluated
    return {"history": history, "model": model, "seconds": time.perf_counter() - start,
            "summary": models.summary(model, input_shape, verbose=False)}


def copy_weights(source: Module, target: Module, name: str = "source") -> None:
    """Copy every parameter and buffer of ``source`` into ``target`` (same names and shapes)."""
    if not isinstance(source, Module):
        raise TypeError(f"{name} must be a ttnet.nn Module, got {type(source).__name__}")
    for kind, have, want in (("parameters", source.params, target.params),
                             ("buffers", source.buffers, target.buffers)):
        got = {k: (v.shape, v.dtype) for k, v in have.items()}
        expected = {k: (v.shape, v.dtype) for k, v in want.items()}
        if got != expected:
            differ = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
            raise ValueError(f"{name} does not have the architecture of the model to train: its "
                             f"{kind} differ at {', '.join(differ[:5])}")
        for k, v in want.items():
            v[...] = have[k]


def evaluate_checkpoint(path: str | Path, data: str | None = None, split: str = "test",
                        use_ema: bool | None = None, download: bool = False) -> dict[str, Any]:
    """Evaluate a checkpoint written by :func:`train`.

    The model is rebuilt from the configuration stored in the checkpoint and
    the images are standardised with the stored training statistics.

    Parameters
    ----------
    path : path to ``last.npz`` or ``best.npz``
    data : str, optional
        Data set to evaluate on (default: the run's); its images must have the
        run's shape.
    split : ``"train"`` or ``"test"``
    use_ema : bool, optional
        Evaluate the EMA weights (default: if the run kept an EMA, as the trainer does).
    download : bool
        Fetch the data set if it is not found.

    Returns
    -------
    dict with ``loss``, ``accuracy``, ``epoch``, ``n_params``, ``config``.
    """
    ckpt = load_checkpoint(path)
    saved = ckpt.config.get("config", {})
    required = ("model", "width", "conv_ranks", "fc_ranks", "data", "normalizer", "input_shape",
                "classes")
    if any(key not in saved for key in required):
        raise CheckpointError(f"checkpoint {path} was not written by ttnet.experiments.train "
                              f"(its config lacks {', '.join(k for k in required if k not in saved)})")
    data = saved["data"] if data is None else data
    dataset = ttdata.load(data, split, download=download)
    if tuple(dataset.images.shape[1:]) != tuple(saved["input_shape"]):
        raise ValueError(f"data {data!r} has images of shape {dataset.images.shape[1:]}, but the "
                         f"model was trained on {tuple(saved['input_shape'])}")
    model = models.build(saved["model"], input_shape=tuple(saved["input_shape"]),
                         num_classes=len(saved["classes"]), width=saved["width"],
                         conv_ranks=saved["conv_ranks"], fc_ranks=saved["fc_ranks"], rng=0)
    if use_ema is None:
        use_ema = ckpt.ema is not None
    ckpt.restore_model(model, use_ema=use_ema)
    normalizer = ttdata.Normalizer(saved["normalizer"]["mean"], saved["normalizer"]["std"])
    prepare = make_prepare(normalizer, augment=False, flip=False)
    loss, accuracy = evaluate(model, dataset.images, dataset.labels, prepare,
                              batch_size=saved.get("batch_size", 100))
    return {"loss": loss, "accuracy": accuracy, "epoch": ckpt.epoch, "n_params": model.n_params,
            "config": saved, "use_ema": use_ema}


def demo(out_dir: str | Path, epochs: int = DEMO_EPOCHS, progress: bool | None = None,
         log: Callable[[str], Any] | None = print) -> dict[str, Any]:
    """The README's main job: train :data:`DEMO_CONFIG` on ``fashion-mnist-mini`` (offline).

    Writes the run into ``out_dir`` (overwriting a previous demo there) and
    returns the result of :func:`train`.
    """
    return train(DEMO_CONFIG, out_dir, epochs, overwrite=True, progress=progress, log=log)
