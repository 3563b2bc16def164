"""Experiments: data + model + optimiser + trainer, wired together for the CLI and the notebooks.

:func:`train` runs one configuration (a :class:`RunConfig`) end to end: load
the data set, fit the per-channel normalisation on the training images, build
the model (:func:`ttnet.models.build`), train it with SGD + momentum, a step
or cosine schedule and an EMA of the weights (the paper's recipe, docs/paper.md),
evaluate every epoch and checkpoint into a run directory. :func:`evaluate_checkpoint`
re-evaluates a saved run; :func:`demo` is the README's main job.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import data as ttdata
from .. import models
from .._checks import (check_bool, check_choice, check_dtype, check_in_range, check_int,
                       check_int_sequence, check_path, check_scalar, describe, memory_bytes)
from ..nn.module import Module
from ..train import (EMA, SGD, CosineLR, RunDirectoryError, StepLR, Trainer, evaluate,
                     load_checkpoint, run_dir)
from ..train.checkpoint import CheckpointError

__all__ = ["RunConfig", "train", "copy_weights", "evaluate_checkpoint", "load_model",
           "make_prepare", "demo", "previous_demo",
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
        Train on a class-balanced subset of this many training images: at
        least one per class and at most the size of the training set (larger
        values are refused); rounded down to a multiple of the number of classes.
    batch_size, lr, momentum, weight_decay : training hyper-parameters
    schedule : ``"step"`` (× ``lr_gamma`` every ``lr_step`` epochs) or ``"cosine"``
    ema_decay : float or None
        Evaluate with an exponential moving average of the weights (None: no EMA).
    augment : bool
        The paper's augmentation (pad 4 + random crop, random contrast, flip for CIFAR-10).
    seed : int
        Initialisation, shuffling and augmentation.
    bits : int in 2..8 or None
        Quantization-aware training at this bit width (:func:`ttnet.quant.qat_model`:
        symmetric grid, max-abs scales, one scale per TT core and per output
        channel of a dense weight); None (the default) trains in float. Left out
        of :meth:`to_dict` when None, so the saved configuration of a float run
        is the same as before this field existed.
    quant_method : ``"max"``, ``"mse"`` or None
        Scale rule of quantization-aware training (:mod:`ttnet.quant.core`);
        None means ``"max"`` and is left out of :meth:`to_dict` like ``bits``.
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
    bits: int | None = None
    quant_method: str | None = None

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
        for name in ("lr", "weight_decay", "width"):
            value = check_scalar(getattr(self, name), name)
            if value < 0 or (name in ("lr", "width") and value == 0):
                raise ValueError(f"{name} must be {'> 0' if name in ('lr', 'width') else '>= 0'}, "
                                 f"got {value}")
        # the ranges SGD and StepLR accept, checked here so a run fails before loading data
        check_in_range(self.momentum, "momentum", 0.0, 1.0, include_high=False)
        check_in_range(self.lr_gamma, "lr_gamma", 0.0, 1.0, include_low=False)
        if self.schedule not in ("step", "cosine"):
            raise ValueError(f"schedule must be 'step' or 'cosine', got {self.schedule!r}")
        if self.ema_decay is not None and not 0.0 < check_scalar(self.ema_decay, "ema_decay") < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {self.ema_decay}")
        if self.bits is not None:
            from ..quant import check_bits

            check_bits(self.bits, "bits")
        if self.quant_method is not None:
            if self.bits is None:
                raise ValueError(f"quant_method={self.quant_method!r} is only used with bits "
                                 f"(quantization-aware training); bits is None")
            check_choice(self.quant_method, "quant_method", ("max", "mse"))
        return self

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict; ``bits`` and ``quant_method`` are left out when None."""
        out = dataclasses.asdict(self)
        for key in ("bits", "quant_method"):
            if out[key] is None:
                del out[key]
        return out


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
    if not isinstance(normalizer, ttdata.Normalizer):
        raise TypeError(f"normalizer must be a ttnet.data.Normalizer, got {describe(normalizer)}")
    augment, flip = check_bool(augment, "augment"), check_bool(flip, "flip")
    dtype = check_dtype(dtype)
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
    if config.subset is not None and config.subset > len(labels):
        raise ValueError(f"subset={config.subset} is more than the {len(labels)} training images "
                         f"of {config.data}: pass at most {len(labels)}, or no subset to train on "
                         f"all of them")
    if config.subset is not None and config.subset < len(labels):
        n_classes = int(labels.max()) + 1
        if config.subset < n_classes:
            raise ValueError(f"subset must be at least the number of classes ({n_classes}), "
                             f"got {config.subset}")
        index = ttdata.balanced_subset(labels, config.subset // n_classes, rng=config.seed)
        images, labels = images[index], labels[index]
    return train_set, test_set, images, labels


def _check_activation_memory(model: Any, input_shape: tuple[int, ...], config: RunConfig) -> None:
    """Refuse a run whose training step cannot fit in memory, before the first step.

    A step keeps every layer's output for the backward pass, so it holds at
    least ``batch_size · Σ_layers (numbers per example)`` numbers (the patch
    matrices of the convolutions come on top). Shapes are computed by
    :func:`ttnet.models.summary` without running the network.
    """
    rows = models.summary(model, input_shape, verbose=False).rows
    per_image = math.prod(input_shape) + sum(math.prod(shape) for _, _, shape, _, _ in rows)
    itemsize = next(iter(model.params.values())).dtype.itemsize
    needed, available = config.batch_size * per_image * itemsize, memory_bytes()
    if needed > available:
        raise ValueError(
            f"width={config.width:g} and batch_size={config.batch_size}: one training step would "
            f"hold at least {needed / 1e9:,.4g} GB of activations ({per_image:,} numbers per "
            f"image), more than this machine's {available / 1e9:,.4g} GB of memory; lower width "
            f"or batch_size")


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
        With ``config.bits`` it is the float model to fine-tune at that bit
        width (quantization-aware training).
    init_note : dict, optional
        JSON description of where ``init`` comes from, saved in the run's
        configuration (a resume must give the same note).

    Returns
    -------
    dict with ``history`` (list of per-epoch metrics), ``model``, ``summary``
    (:class:`ttnet.models.Summary`) and ``seconds``.

    Raises
    ------
    ValueError, TypeError
        A bad configuration (each field is checked), a ``subset`` larger than
        the training set, a network whose parameters or whose activations for
        one batch would not fit in this machine's memory (refused before any
        training step), or a run directory that cannot be used as asked
        (:class:`ttnet.train.RunDirectoryError`).
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
    _check_activation_memory(model, input_shape, config)
    if init is not None:
        copy_weights(init, model, "init")
    float_model = model
    if config.bits is not None:
        from ..quant import qat_model

        # same parameter names: the float master weights
        model = qat_model(model, config.bits, method=config.quant_method or "max")
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
            "summary": models.summary(float_model, input_shape, verbose=False)}


def _check_run_config(saved: dict[str, Any], path: Path) -> dict[str, Any]:
    """The run settings stored by :func:`train` in a checkpoint, checked; CheckpointError if not."""
    required = ("model", "width", "conv_ranks", "fc_ranks", "data", "normalizer", "input_shape",
                "classes")
    missing = [key for key in required if key not in saved]
    if missing:
        raise CheckpointError(f"checkpoint {path} was not written by ttnet.experiments.train "
                              f"(its config lacks {', '.join(missing)})")
    try:
        check_choice(saved["model"], "model", models.MODEL_NAMES)
        models.check_ranks(saved["model"], saved["conv_ranks"], saved["fc_ranks"])
        check_choice(saved["data"], "data", ttdata.DATASETS)
        check_int_sequence(saved["input_shape"], "input_shape", length=3, minimum=1)
        check_scalar(saved["width"], "width")
        classes = saved["classes"]
        if not isinstance(classes, list) or len(classes) < 2:
            raise ValueError(f"classes must be a list of at least two class names, got "
                             f"{describe(classes)}")
        normalizer = saved["normalizer"]
        if not isinstance(normalizer, dict) or set(normalizer) != {"mean", "std"}:
            raise ValueError(f"normalizer must be a dict with 'mean' and 'std', got "
                             f"{describe(normalizer)}")
        ttdata.Normalizer(normalizer["mean"], normalizer["std"])
        if saved.get("bits") is not None:
            from ..quant import check_bits

            check_bits(saved["bits"], "bits")
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {path} holds run settings ttnet cannot use: its "
                              f"config entry {exc}") from None
    return saved


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


def load_model(path: str | Path, use_ema: bool | None = None, *, qat: bool = True
               ) -> dict[str, Any]:
    """Rebuild the model of a checkpoint written by :func:`train` (or of a quantized weights file).

    Parameters
    ----------
    path : path to a checkpoint (``last.npz``, ``best.npz``) or to a quantized
        weights file of ``ttnet quantize``
    use_ema : bool, optional
        Load the EMA weights (default: if the run kept an EMA).
    qat : bool
        For a checkpoint of a quantization-aware run (``bits`` in its settings):
        True (default) returns the model with its weight layers wrapped in
        :class:`ttnet.quant.QuantizedLayer` (it computes with ŵ), False the
        plain float model holding the master weights.

    Returns
    -------
    dict with ``model``, ``config`` (the run settings), ``epoch``, ``use_ema``,
    ``bits`` (None for float weights) and ``quantized_file``.

    Raises
    ------
    CheckpointError
        As :func:`evaluate_checkpoint`.
    """
    path = check_path(path, "path")
    if use_ema is not None:
        use_ema = check_bool(use_ema, "use_ema")
    qat = check_bool(qat, "qat")
    if path.is_dir():
        inside = [name for name in ("best.npz", "last.npz") if (path / name).is_file()]
        raise CheckpointError(
            f"path {path} is a directory; expected a checkpoint file"
            + (f" such as {path / inside[0]}" if inside else " (last.npz or best.npz of a run)"))
    from ..quant import is_quantized_file, load_quantized, qat_model

    quantized = is_quantized_file(path)
    if quantized:                   # a weights file of ``ttnet quantize``
        qweights = load_quantized(path)
        saved = _check_run_config(qweights.config, path)
    else:
        ckpt = load_checkpoint(path)
        saved = _check_run_config(ckpt.config.get("config", {}), path)
    try:
        model = models.build(saved["model"], input_shape=tuple(saved["input_shape"]),
                             num_classes=len(saved["classes"]), width=saved["width"],
                             conv_ranks=saved["conv_ranks"], fc_ranks=saved["fc_ranks"], rng=0)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint {path} holds run settings ttnet cannot build: "
                              f"{exc}") from None
    bits = None
    if quantized:
        if use_ema is not None and use_ema != qweights.use_ema:
            raise ValueError(f"use_ema={use_ema}: the quantized weights file {path} holds the "
                             f"{'EMA' if qweights.use_ema else 'live'} weights only")
        qweights.restore_model(model)           # ŵ = s (q - z) into the float model
        use_ema, bits, epoch = qweights.use_ema, qweights.quant.bits, qweights.epoch
    else:
        if saved.get("bits") is not None:       # a quantization-aware training run
            bits = saved["bits"]
            if qat:
                model = qat_model(model, bits, method=saved.get("quant_method") or "max")
        if use_ema is None:
            use_ema = ckpt.ema is not None
        ckpt.restore_model(model, use_ema=use_ema)
        epoch = ckpt.epoch
    return {"model": model, "config": saved, "epoch": epoch, "use_ema": use_ema, "bits": bits,
            "quantized_file": quantized}


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

    ``path`` may also be a quantized weights file written by ``ttnet quantize``
    (:func:`ttnet.quant.save_quantized`): the model is rebuilt from the run
    settings it carries and evaluated with the dequantized weights
    ``ŵ = s·(q − z)``. A checkpoint of a quantization-aware run (``bits`` in
    its settings) is evaluated with its weights fake-quantized.

    Returns
    -------
    dict with ``loss``, ``accuracy``, ``epoch``, ``n_params``, ``config``,
    ``use_ema``, ``bits`` (None for float weights) and ``quantized_file``.

    Raises
    ------
    CheckpointError
        ``path`` does not exist, is a directory, is not a ttnet checkpoint, is
        corrupt (the message names the malformed entry), was not written by
        :func:`train`, or holds run settings or weights that do not fit
        together; every message names ``path``.
    ValueError, TypeError
        Bad ``data``, ``split``, ``use_ema`` or ``download``.
    """
    path = check_path(path, "path")
    if data is not None:
        data = check_choice(data, "data", ttdata.DATASETS)
    split = check_choice(split, "split", ttdata.SPLITS)
    if use_ema is not None:
        use_ema = check_bool(use_ema, "use_ema")
    download = check_bool(download, "download")
    loaded = load_model(path, use_ema=use_ema)        # refuses directories and bad files
    saved, model = loaded["config"], loaded["model"]
    data = saved["data"] if data is None else data
    dataset = ttdata.load(data, split, download=download)
    if tuple(dataset.images.shape[1:]) != tuple(saved["input_shape"]):
        raise ValueError(f"data {data!r} has images of shape {dataset.images.shape[1:]}, but the "
                         f"model was trained on {tuple(saved['input_shape'])}")
    normalizer = ttdata.Normalizer(saved["normalizer"]["mean"], saved["normalizer"]["std"])
    prepare = make_prepare(normalizer, augment=False, flip=False)
    loss, accuracy = evaluate(model, dataset.images, dataset.labels, prepare,
                              batch_size=saved.get("batch_size", 100))
    return {"loss": loss, "accuracy": accuracy, "epoch": loaded["epoch"],
            "n_params": model.n_params, "config": saved, "use_ema": loaded["use_ema"],
            "bits": loaded["bits"], "quantized_file": loaded["quantized_file"]}


def previous_demo(out_dir: str | Path) -> bool:
    """Whether :func:`demo` may write into ``out_dir``, replacing a previous demo there.

    The demo obeys the rule of ``ttnet train`` -- it never replaces another
    run -- with one exception, its own earlier output. A directory is
    recognised as a previous demo when the run configuration it records (in
    ``config.json``, written when a run starts, or else in ``last.npz``) has
    every :class:`RunConfig` field equal to :data:`DEMO_CONFIG`'s. The number
    of epochs does not count, so ``ttnet demo --epochs 2`` replaces an 8-epoch
    demo; a ``ttnet train`` run with exactly the demo's settings counts as a
    demo too. Only the run's own files (:data:`ttnet.train.RUN_FILES`) are
    replaced; other files in the directory are left alone.

    Returns
    -------
    bool
        False if ``out_dir`` does not exist or is empty (a fresh run), True if
        it holds a previous demo.

    Raises
    ------
    RunDirectoryError
        If ``out_dir`` is a file, or a non-empty directory that does not hold a
        previous demo (the message lists what it holds or how its run differs).
    """
    out = check_path(out_dir, "out_dir")
    if not out.exists():
        return False
    if not out.is_dir():
        raise RunDirectoryError(f"out_dir {out} (--out) exists and is not a directory")
    entries = sorted(e for e in os.listdir(out) if not run_dir.is_leftover(e))
    if not entries:
        return False
    recorded = run_dir.recorded_config(out)
    listing = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
    if recorded is None:
        raise RunDirectoryError(
            f"out_dir {out} (--out) is not empty ({listing}) and is not a previous demo (no "
            f"readable config.json or last.npz of a run); the demo only replaces its own output: "
            f"choose another directory")
    expected = json.loads(json.dumps(DEMO_CONFIG.to_dict()))
    differences = [f"{key} {recorded.get(key)!r} instead of {value!r}"
                   for key, value in expected.items() if recorded.get(key) != value]
    if differences:
        raise RunDirectoryError(
            f"out_dir {out} (--out) holds a run that is not a previous demo ("
            + "; ".join(differences[:5]) + ("; ..." if len(differences) > 5 else "")
            + "); the demo only replaces its own output: choose another directory, or "
              "continue that run with ttnet train --resume")
    return True


def demo(out_dir: str | Path, epochs: int = DEMO_EPOCHS, progress: bool | None = None,
         log: Callable[[str], Any] | None = print) -> dict[str, Any]:
    """The README's main job: train :data:`DEMO_CONFIG` on ``fashion-mnist-mini`` (offline).

    Writes the run into ``out_dir`` and returns the result of :func:`train`.
    Like ``ttnet train`` without ``--overwrite``, it refuses a non-empty
    ``out_dir`` -- except one holding a previous demo, which it replaces
    (:func:`previous_demo` says how that is recognised).

    Raises
    ------
    RunDirectoryError
        If ``out_dir`` holds anything other than a previous demo.
    """
    out = check_path(out_dir, "out_dir")
    epochs = check_int(epochs, "epochs", minimum=1)
    return train(DEMO_CONFIG, out, epochs, overwrite=previous_demo(out), progress=progress,
                 log=log)
