"""The run directory: which files a run writes, what it records, and when a directory may be reused.

A run of :class:`~ttnet.train.Trainer` lives in one directory, ``out_dir``::

    config.json          the run's settings (written when the run starts, rewritten on resume)
    last.npz             the checkpoint after the last completed epoch (the commit point)
    best.npz             the checkpoint of the epoch with the best test accuracy
    metrics.json, metrics.csv, learning_curves.png     derived from the history

(:data:`RUN_FILES`). ``config.json`` holds ``{"format": "ttnet-run", "run": RUN,
"environment": ENV}``, where ``RUN`` is the trainer's :meth:`~ttnet.train.Trainer.run_config`
(your ``config``, the model's description, optimiser, schedule, EMA, batch size, seed,
``drop_last``, fingerprints of the data and ``epochs``) and ``ENV`` the numerical environment
(:func:`ttnet.train.checkpoint.environment`). Every checkpoint carries the same ``RUN``.

**Opening a directory** (:func:`open_run_directory`). ``out_dir`` must be empty or missing,
unless

- ``resume=True``: continue the run in it, from ``last.npz``, or from the start if only
  ``config.json`` exists (stopped during the first epoch); the recorded settings must equal
  the new ones except ``epochs`` and the horizon of the schedule (:func:`comparable`), and
  every difference is listed (:func:`config_differences`);
- ``overwrite=True``: delete the previous run's files (:data:`RUN_FILES`, nothing else).

Otherwise :class:`RunDirectoryError`. Temporary files left by an interrupted atomic write
(:func:`is_leftover`) do not count and are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import warnings
from typing import Any, Callable

import numpy as np

from ..nn.module import Module
from .checkpoint import (NUMERICAL_ENVIRONMENT_KEYS, Checkpoint, CheckpointError, atomic_write,
                         checkpoint_epoch, environment, load_checkpoint, module_rngs)
from .schedules import Schedule

__all__ = ["RUN_FILES", "CONFIG_FILE", "LAST_CHECKPOINT", "BEST_CHECKPOINT", "RunDirectoryError",
           "ReproducibilityWarning", "is_leftover", "data_fingerprint", "model_description",
           "config_differences", "comparable", "write_run_config", "recorded_config",
           "completed_epochs", "held_checkpoints", "open_run_directory"]

#: The run's settings, written when it starts.
CONFIG_FILE = "config.json"
#: The checkpoint after the last completed epoch: the commit point of an epoch, resumed from.
LAST_CHECKPOINT = "last.npz"
#: The checkpoint of the epoch with the best test accuracy so far.
BEST_CHECKPOINT = "best.npz"
#: The files a run writes into its directory (``overwrite=True`` deletes exactly these).
RUN_FILES = (CONFIG_FILE, LAST_CHECKPOINT, BEST_CHECKPOINT, "metrics.json", "metrics.csv",
             "learning_curves.png")

#: Run-configuration entries that may change on resume: the number of epochs, and the record of
#: re-planned schedules. (A schedule's horizon may change too; see :func:`comparable`.)
MAY_CHANGE_ON_RESUME = ("epochs", "replanned")


class RunDirectoryError(ValueError):
    """The run directory cannot be used as asked: not empty, nothing to resume, or another run."""


class ReproducibilityWarning(UserWarning):
    """A run is resumed in another numerical environment; the result may differ in the last bits."""


def is_leftover(filename: str) -> bool:
    """A temporary file left by an interrupted write of a run file (``.last.npz.<pid>.<x>.tmp``)."""
    return filename.endswith(".tmp") and any(filename.startswith(f".{name}.") for name in RUN_FILES)


# ---------------------------------------------------------------- what a run records
def data_fingerprint(images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Shapes, dtypes and a BLAKE2 digest of a data set (resuming on other data is refused)."""
    digest = hashlib.blake2b(digest_size=16)
    for arr in (images, labels):
        digest.update(np.ascontiguousarray(arr).view(np.uint8).reshape(-1).data)
    return {"images": f"{images.shape} {images.dtype}", "labels": f"{labels.shape} {labels.dtype}",
            "blake2b": digest.hexdigest()}


def model_description(model: Module) -> dict[str, Any]:
    """What identifies a model's architecture: its repr and its arrays' names, shapes and dtypes."""
    return {
        "class": type(model).__name__,
        "repr": repr(model).splitlines(),
        "params": {name: f"{p.shape} {p.dtype}" for name, p in model.params.items()},
        "buffers": {name: f"{b.shape} {b.dtype}" for name, b in model.buffers.items()},
        "rngs": sorted(module_rngs(model)),
    }


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def config_differences(saved: Any, now: Any, path: str = "") -> list[str]:
    """Readable list of the differences between two JSON-like configurations.

    Each entry reads ``"a.b.c: saved X, now Y"``. Dicts are compared key by
    key and lists of equal length element by element.
    """
    if isinstance(saved, dict) and isinstance(now, dict):
        out: list[str] = []
        for key in list(saved) + [k for k in now if k not in saved]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in now:
                out.append(f"{sub}: saved {_short(saved[key])}, now absent")
            elif key not in saved:
                out.append(f"{sub}: absent in the saved run, now {_short(now[key])}")
            else:
                out += config_differences(saved[key], now[key], sub)
        return out
    if (isinstance(saved, list) and isinstance(now, list) and len(saved) == len(now)
            and any(isinstance(v, (dict, list, str)) for v in saved + now)):
        out = []
        for k, (a, b) in enumerate(zip(saved, now)):
            out += config_differences(a, b, f"{path}[{k}]")
        return out
    return [] if saved == now else [f"{path or 'config'}: saved {_short(saved)}, now {_short(now)}"]


def comparable(run: dict[str, Any], schedule: Schedule) -> dict[str, Any]:
    """``run`` without what may change on resume: epochs, re-plans, the schedule's horizon.

    The horizon (:attr:`Schedule.horizon_keys`, e.g. CosineLR's ``total_epochs``) is
    dropped only from a schedule of the same type as ``schedule`` (the new run's).
    """
    out = {k: v for k, v in run.items() if k not in MAY_CHANGE_ON_RESUME}
    saved_schedule = out.get("schedule")
    if isinstance(saved_schedule, dict) and saved_schedule.get("type") == schedule.config()["type"]:
        out["schedule"] = {k: v for k, v in saved_schedule.items()
                           if k not in schedule.horizon_keys}
    return out


def _refuse_other_run(saved: dict[str, Any], now: dict[str, Any], source: str,
                      schedule: Schedule) -> None:
    differences = config_differences(comparable(saved, schedule), comparable(now, schedule))
    if differences:
        shown = differences[:20] + ([f"... and {len(differences) - 20} more"]
                                    if len(differences) > 20 else [])
        raise RunDirectoryError(
            f"cannot resume: {source} was written by a different model or configuration:\n  - "
            + "\n  - ".join(shown)
            + "\nUse another output directory, or overwrite=True (--overwrite) to delete "
              "that run and start again.")


def _record_replan(saved: dict[str, Any], run: dict[str, Any], epoch: int,
                   say: Callable[[str], Any]) -> None:
    """Carry the saved re-plans into ``run``, and add one if the schedule's horizon changed.

    ``run["replanned"]`` lists ``{"at_epoch": E, "previous_schedule": {...}}``: epochs
    before E were trained with the previous schedule, later ones with the next.
    """
    plans = list(saved.get("replanned", []))
    if epoch > 0 and saved.get("schedule") != run["schedule"]:
        plans.append({"at_epoch": epoch, "previous_schedule": saved["schedule"]})
        say(f"re-planned the learning-rate schedule from epoch {epoch + 1} on: "
            f"{_short(saved['schedule'])} -> {_short(run['schedule'])}")
    if plans:
        run["replanned"] = plans


def _warn_environment(saved: dict[str, Any]) -> None:
    now = environment()
    changed = [f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in NUMERICAL_ENVIRONMENT_KEYS
               if saved.get(k) != now.get(k)]
    if changed:
        # stacklevel: _warn_environment, open_run_directory, Trainer.fit, the caller of fit
        warnings.warn("resuming in a different numerical environment (" + "; ".join(changed)
                      + "): the run continues, but its weights may differ in the last bits "
                        "from an uninterrupted run", ReproducibilityWarning, stacklevel=4)


# ---------------------------------------------------------------- reading and writing
def write_run_config(out_dir: str, run: dict[str, Any]) -> None:
    """Write ``config.json``, so that a run stopped during epoch 1 can be checked on resume."""
    text = json.dumps({"format": "ttnet-run", "run": run, "environment": environment()},
                      indent=1) + "\n"
    atomic_write(os.path.join(out_dir, CONFIG_FILE), lambda f: f.write(text.encode("utf-8")))


def recorded_config(out_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The ``config`` a run recorded in ``out_dir`` (config.json, else last.npz), or None.

    This is the trainer's ``config`` argument (for :func:`ttnet.experiments.train`, the
    :class:`~ttnet.experiments.RunConfig` fields and the data statistics).
    """
    try:
        with open(os.path.join(out_dir, CONFIG_FILE), encoding="utf-8") as f:
            recorded = json.load(f)["run"]["config"]
        if isinstance(recorded, dict):
            return recorded
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        recorded = load_checkpoint(os.path.join(out_dir, LAST_CHECKPOINT)).config.get("config")
        return recorded if isinstance(recorded, dict) else None
    except (CheckpointError, AttributeError):
        return None


def completed_epochs(out_dir: str | os.PathLike) -> int | None:
    """Epochs a run in ``out_dir`` has completed: ``last.npz``'s epoch, 0 if it has only
    ``config.json`` (stopped during its first epoch), None if no run was started there.

    Raises CheckpointError if ``last.npz`` exists but cannot be read.
    """
    last = os.path.join(out_dir, LAST_CHECKPOINT)
    if os.path.isfile(last):
        return load_checkpoint(last).epoch
    if os.path.isfile(os.path.join(out_dir, CONFIG_FILE)):
        return 0
    return None


def held_checkpoints(out_dir: str) -> str:
    """Which checkpoints ``out_dir`` holds, and of which epochs (for a stopped run's message)."""
    held = []
    for name in (LAST_CHECKPOINT, BEST_CHECKPOINT):
        path = os.path.join(out_dir, name)
        if os.path.isfile(path):
            epoch = checkpoint_epoch(path)
            held.append(f"{name} (after epoch {epoch})" if epoch is not None
                        else f"{name} (unreadable)")
    if not held:
        return (f"Nothing of this epoch was written, and {out_dir} holds no checkpoint: "
                f"there is nothing to resume from.")
    return (f"Nothing of this epoch was written. {out_dir} holds {' and '.join(held)}, "
            f"written before this error (ttnet never writes a checkpoint holding NaN or "
            f"±inf). resume=True (--resume) continues from last.npz but replays the same "
            f"steps, so with the same settings it meets the same problem; to change "
            f"settings, start a new run (another directory, or overwrite=True).")


def _remove(out_dir: str, names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(out_dir, name))


# ---------------------------------------------------------------- opening a directory
def open_run_directory(out_dir: str, run: dict[str, Any], *, resume: bool, overwrite: bool,
                       schedule: Schedule, restore: Callable[[Checkpoint], Any],
                       say: Callable[[str], Any]) -> Checkpoint | None:
    """Check ``out_dir`` for a run with settings ``run``, resume or clear it, write config.json.

    Parameters
    ----------
    out_dir : str
        The run directory (created if missing).
    run : dict
        The new run's settings (:meth:`Trainer.run_config`); on resume a record of a re-planned
        schedule is added under ``"replanned"``.
    resume, overwrite : bool
        See the module docstring.
    schedule : Schedule
        The new run's schedule (its horizon may differ from the recorded one).
    restore : callable(Checkpoint)
        Puts a checkpoint's state into the model, optimiser and EMA; may raise CheckpointError.
    say : callable(str)
        Receives a line about what was done (resumed, re-planned).

    Returns
    -------
    Checkpoint or None
        The checkpoint resumed from (``last.npz``), or None if the run starts at epoch 0.

    Raises
    ------
    RunDirectoryError
        ``out_dir`` is a file, is not empty (neither ``resume`` nor ``overwrite``), holds
        no run to resume but other files, or holds a run with other settings (all
        differences listed), or a checkpoint that cannot be read or restored.
    """
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise RunDirectoryError(f"out_dir {out_dir} exists and is not a directory")
    entries = sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else []
    leftovers = [e for e in entries if is_leftover(e)]
    real = [e for e in entries if not is_leftover(e)]
    last_path = os.path.join(out_dir, LAST_CHECKPOINT)
    config_path = os.path.join(out_dir, CONFIG_FILE)

    if resume and LAST_CHECKPOINT in real:
        try:
            checkpoint = load_checkpoint(last_path)
        except CheckpointError as exc:
            raise RunDirectoryError(f"cannot resume: {exc}") from None
        _refuse_other_run(checkpoint.config, run, last_path, schedule)
        try:
            restore(checkpoint)
        except CheckpointError as exc:
            raise RunDirectoryError(f"cannot resume: {exc}") from None
        _warn_environment(checkpoint.environment)
        _record_replan(checkpoint.config, run, checkpoint.epoch, say)
        _remove(out_dir, leftovers)
        write_run_config(out_dir, run)
        return checkpoint
    if resume and CONFIG_FILE in real:      # stopped during the first epoch
        try:
            with open(config_path, encoding="utf-8") as f:
                saved = json.load(f)["run"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunDirectoryError(f"cannot resume: {config_path} is "
                                    f"unreadable ({exc})") from None
        _refuse_other_run(saved, run, config_path, schedule)
        say(f"resuming {out_dir}: no epoch was completed, starting from epoch 1")
    elif resume and real:
        raise RunDirectoryError(
            f"cannot resume: {out_dir} holds no ttnet run (no last.npz or config.json) but is not "
            f"empty ({', '.join(real[:5])}{', ...' if len(real) > 5 else ''})")
    elif overwrite:
        _remove(out_dir, [e for e in real if e in RUN_FILES])
    elif entries:
        raise RunDirectoryError(
            f"run directory {out_dir} is not empty ({', '.join(entries[:5])}"
            f"{', ...' if len(entries) > 5 else ''}); pass resume=True (--resume) to continue "
            f"the run in it or overwrite=True (--overwrite) to replace it, or choose another "
            f"directory")
    os.makedirs(out_dir, exist_ok=True)
    _remove(out_dir, leftovers)
    write_run_config(out_dir, run)
    return None
