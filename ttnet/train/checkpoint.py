"""Checkpoints: all a training run needs to continue, in one ``.npz`` file written atomically.

A checkpoint holds

* every parameter and buffer of the model (BatchNorm running statistics),
* the optimiser state (momentum buffers, Adam moments, step count),
* the EMA shadow weights and update count,
* the state of every ``np.random.Generator`` attribute of every sub-module
  (``Dropout.rng``), as the JSON of ``generator.bit_generator.state``,
* the number of completed epochs, the run's configuration (JSON), the metrics
  history and a description of the numerical environment (library versions,
  numba thread count).

File layout (a plain NumPy ``.npz``, readable with ``np.load(path)`` and no
pickle): arrays under ``params/<name>``, ``buffers/<name>``,
``optimizer/<key>``, ``ema/<key>``, and one 0-d string array ``meta`` with the
JSON of everything else.

A checkpoint never holds NaN or ±inf: :func:`save_checkpoint` checks every
array it would write (:func:`nonfinite_arrays`) and refuses with a
``FloatingPointError`` naming them, leaving any previous file untouched. So a
checkpoint that exists is one a run can continue from.

Writing is atomic (:func:`atomic_write`): the file is written to a temporary
file in the same directory, flushed and ``fsync``-ed, then renamed over the
target with ``os.replace`` (atomic on POSIX and Windows), and the directory is
``fsync``-ed. A crash or ``kill -9`` at any moment leaves either the old file
or the new one, never a half-written file under the real name.
"""

from __future__ import annotations

import json
import os
import platform
import zipfile
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from .._checks import check_bool, check_int, describe
from .._files import atomic_write
from ..nn.module import Module
from .ema import EMA
from .optim import Optimizer

__all__ = ["CheckpointError", "Checkpoint", "save_checkpoint", "load_checkpoint",
           "atomic_write", "module_rngs", "environment", "nonfinite_arrays", "checkpoint_epoch"]

FORMAT = "ttnet-checkpoint"
VERSION = 1


#: What the ``meta`` entry of a checkpoint holds: key -> (accepted types, description).
_META_ENTRIES = {
    "epoch": (int, "an integer"), "config": (dict, "a dict"), "metrics": (list, "a list"),
    "params": (list, "the list of parameter names"), "buffers": (list, "the list of buffer names"),
    "optimizer_type": ((str, type(None)), "a string or null"), "ema": (bool, "true or false"),
    "rng_states": (dict, "a dict"),
}


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable or corrupt, or does not fit the model given."""


# ---------------------------------------------------------------- RNG states
def _named_modules(model: Module, prefix: str = "") -> Iterator[tuple[str, Module]]:
    """``(dotted path, module)`` for the model and every descendant (paths as in Sequential)."""
    yield prefix, model
    for k, child in enumerate(model.children()):
        yield from _named_modules(child, f"{prefix}{k}.")


def module_rngs(model: Module) -> dict[str, np.random.Generator]:
    """Every ``np.random.Generator`` attribute of the model and its sub-modules.

    Keys are dotted paths like the parameter names: ``"3.rng"`` is the
    ``rng`` attribute of layer 3 of a Sequential (e.g. a Dropout).
    """
    found = {}
    for prefix, module in _named_modules(model):
        for attr, value in sorted(vars(module).items()):
            if isinstance(value, np.random.Generator):
                found[f"{prefix}{attr}"] = value
    return found


def _to_json(value: Any) -> Any:
    """A bit-generator state with its arrays (Philox, MT19937) turned into JSON objects."""
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.integer):
        return int(value)
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__ndarray__", "dtype"}:
            return np.array(value["__ndarray__"], dtype=value["dtype"])
        return {k: _from_json(v) for k, v in value.items()}
    return value


#: Environment variables that set thread counts or kernel choices, recorded by :func:`environment`.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "NUMBA_NUM_THREADS", "TTNET_NUMBA")
#: The entries of :func:`environment` whose change can alter a run's last bits (not "python").
NUMERICAL_ENVIRONMENT_KEYS = ("numpy", "numba", "numba_threads", "machine") + _THREAD_VARIABLES


def environment() -> dict[str, Any]:
    """What the bits of a run depend on besides the code: library versions and thread counts.

    Saved in every checkpoint; resuming under a different environment still
    works but may not reproduce the uninterrupted run bit for bit (the TT core
    gradients of :mod:`ttnet.ops.contract` are summed in chunks whose number
    follows numba's thread count, and BLAS may choose other kernels).
    """
    env: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__,
                           "machine": platform.machine()}
    try:
        import numba
        env["numba"] = numba.__version__
        env["numba_threads"] = int(numba.get_num_threads())
    except ImportError:  # pragma: no cover - numba is a dependency
        env["numba"] = None
    for var in _THREAD_VARIABLES:
        env[var] = os.environ.get(var)
    return env


# ---------------------------------------------------------------- the checkpoint
@dataclass
class Checkpoint:
    """The content of a checkpoint file, as returned by :func:`load_checkpoint`.

    Attributes
    ----------
    path : str
    epoch : int
        Number of completed epochs when it was written.
    config : dict
        The run's configuration (JSON).
    metrics : list of dict
        One entry per completed epoch (see :mod:`ttnet.train.metrics`).
    params, buffers : dict[str, ndarray]
        The model's arrays by name.
    optimizer_type : str or None
        Class name of the optimiser whose state is in ``optimizer``.
    optimizer : dict[str, ndarray]
        :meth:`Optimizer.state_dict` (empty if none was saved).
    ema : dict[str, ndarray] or None
        :meth:`EMA.state_dict`, or None.
    rng_states : dict[str, dict]
        ``bit_generator.state`` of every :func:`module_rngs` entry.
    environment : dict
        :func:`environment` of the process that wrote it.
    """

    path: str
    epoch: int
    config: dict[str, Any]
    metrics: list[dict[str, Any]]
    params: dict[str, np.ndarray]
    buffers: dict[str, np.ndarray]
    optimizer_type: str | None = None
    optimizer: dict[str, np.ndarray] = field(default_factory=dict)
    ema: dict[str, np.ndarray] | None = None
    rng_states: dict[str, dict[str, Any]] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)

    def model_differences(self, model: Module) -> list[str]:
        """Human-readable differences between the saved arrays and ``model``'s (empty if none).

        Compares parameter and buffer names, shapes and dtypes, and the names
        of the module RNGs.
        """
        problems: list[str] = []
        for kind, saved, live in (("parameter", self.params, model.params),
                                  ("buffer", self.buffers, model.buffers)):
            for name in saved:
                if name not in live:
                    problems.append(f"{kind} {name!r} {_shape(saved[name])} is in the checkpoint "
                                    f"but not in the model")
            for name, arr in live.items():
                if name not in saved:
                    problems.append(f"{kind} {name!r} {_shape(arr)} is in the model but not in "
                                    f"the checkpoint")
                elif saved[name].shape != arr.shape or saved[name].dtype != arr.dtype:
                    problems.append(f"{kind} {name!r}: checkpoint {_shape(saved[name])}, "
                                    f"model {_shape(arr)}")
        saved_rngs, live_rngs = set(self.rng_states), set(module_rngs(model))
        if saved_rngs != live_rngs:
            problems.append(f"random generators: checkpoint {sorted(saved_rngs)}, "
                            f"model {sorted(live_rngs)}")
        return problems

    def restore_model(self, model: Module, *, use_ema: bool = False) -> None:
        """Copy the saved parameters (or the EMA weights) and buffers into ``model``.

        Also restores the module RNG states. The arrays are copied in place,
        so optimisers and views of the model stay valid.

        Raises
        ------
        CheckpointError
            If the model's parameters or buffers differ in name, shape or dtype
            (all differences are listed), or ``use_ema`` is set and the
            checkpoint has no EMA.
        """
        if not isinstance(model, Module):
            raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
        problems = self.model_differences(model)
        if problems:
            raise CheckpointError(f"checkpoint {self.path} does not fit this model:\n  - "
                                  + "\n  - ".join(problems))
        if use_ema and self.ema is None:
            raise CheckpointError(f"checkpoint {self.path} has no EMA weights (it was written "
                                  f"by a run without EMA); use use_ema=False")
        source = ({name: self.ema[f"shadow/{name}"] for name in self.params} if use_ema
                  else self.params)
        for name, p in model.params.items():
            p[...] = source[name]
        for name, b in model.buffers.items():
            b[...] = self.buffers[name]
        for name, gen in module_rngs(model).items():
            state = self.rng_states[name]
            if state.get("bit_generator") != type(gen.bit_generator).__name__:
                raise CheckpointError(f"random generator {name!r}: checkpoint has a "
                                      f"{state.get('bit_generator')}, the model a "
                                      f"{type(gen.bit_generator).__name__}")
            gen.bit_generator.state = state

    def restore(self, model: Module, optimizer: Optimizer | None = None,
                ema: EMA | None = None) -> None:
        """Restore a training run: the model (:meth:`restore_model`), the optimiser and the EMA.

        Raises
        ------
        CheckpointError
            If any part does not fit (other model, other optimiser type, EMA
            present in one and not the other).
        """
        self.restore_model(model)
        if optimizer is not None:
            if self.optimizer_type != type(optimizer).__name__:
                raise CheckpointError(f"checkpoint {self.path} holds the state of a "
                                      f"{self.optimizer_type} optimiser, not of a "
                                      f"{type(optimizer).__name__}")
            try:
                optimizer.load_state_dict(self.optimizer)
            except ValueError as exc:
                raise CheckpointError(f"checkpoint {self.path}: {exc}") from None
        if ema is not None:
            if self.ema is None:
                raise CheckpointError(f"checkpoint {self.path} has no EMA state, but an EMA "
                                      f"was given")
            try:
                ema.load_state_dict(self.ema)
            except ValueError as exc:
                raise CheckpointError(f"checkpoint {self.path}: {exc}") from None


def _shape(arr: np.ndarray) -> str:
    return f"{tuple(arr.shape)} {arr.dtype}"


def _count_nonfinite(arr: np.ndarray) -> int:
    arr = np.asarray(arr)
    if arr.dtype.kind not in "fc":
        return 0
    return int(arr.size - np.count_nonzero(np.isfinite(arr)))


def nonfinite_arrays(model: Module, optimizer: Optimizer | None = None,
                     ema: EMA | None = None) -> list[str]:
    """The arrays of a training state that hold NaN or ±inf, described for an error message.

    Checks what a checkpoint would hold: the model's parameters and buffers,
    the optimiser state (:meth:`Optimizer.state_dict`) and the EMA state.

    Returns
    -------
    list of str
        One entry per offending array, e.g. ``"parameter '0.weight' (3 of 36
        entries)"``; empty if everything is finite.
    """
    groups = [("parameter", model.params), ("buffer", model.buffers)]
    if optimizer is not None:
        groups.append((f"{type(optimizer).__name__} state", optimizer.state_dict()))
    if ema is not None:
        groups.append(("EMA state", ema.state_dict()))
    found = []
    for kind, arrays in groups:
        for name, arr in arrays.items():
            bad = _count_nonfinite(arr)
            if bad:
                found.append(f"{kind} {name!r} ({bad} of {np.size(arr)} entries)")
    return found


def save_checkpoint(path: str | os.PathLike, model: Module, *, optimizer: Optimizer | None = None,
                    ema: EMA | None = None, epoch: int = 0, config: dict[str, Any] | None = None,
                    metrics: list[dict[str, Any]] | None = None,
                    allow_nonfinite: bool = False) -> None:
    """Write a checkpoint of ``model`` (and optimiser, EMA, RNGs, …) to ``path`` atomically.

    Parameters
    ----------
    path : str or path-like
        Target ``.npz`` file; its directory must exist. Replaced atomically
        (:func:`atomic_write`).
    model : Module
    optimizer : Optimizer, optional
    ema : EMA, optional
    epoch : int >= 0
        Number of completed epochs.
    config : dict, optional
        The run's configuration; must be JSON-serialisable.
    metrics : list of dict, optional
        The metrics history; must be JSON-serialisable.
    allow_nonfinite : bool
        Write even if an array holds NaN or ±inf (to keep a diverged state
        for inspection). The trainer never sets it.

    Raises
    ------
    FloatingPointError
        If a parameter, buffer, optimiser-state or EMA array holds NaN or ±inf
        (all of them are named) and ``allow_nonfinite`` is False. Nothing is
        written then: a previous file at ``path`` stays as it was.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a ttnet.train Optimizer or None, got "
                        f"{describe(optimizer)}")
    if ema is not None and not isinstance(ema, EMA):
        raise TypeError(f"ema must be a ttnet.train EMA or None, got {describe(ema)}")
    epoch = check_int(epoch, "epoch", minimum=0)
    if not check_bool(allow_nonfinite, "allow_nonfinite"):
        bad = nonfinite_arrays(model, optimizer, ema)
        if bad:
            raise FloatingPointError(
                f"refusing to write checkpoint {os.fspath(path)}: NaN or ±inf in "
                + ", ".join(bad) + "; nothing was written (pass allow_nonfinite=True to keep a "
                "diverged state for inspection)")
    meta = {
        "format": FORMAT, "version": VERSION, "epoch": epoch,
        "config": {} if config is None else config,
        "metrics": [] if metrics is None else metrics,
        "params": list(model.params), "buffers": list(model.buffers),
        "optimizer_type": None if optimizer is None else type(optimizer).__name__,
        "ema": ema is not None,
        "rng_states": {name: _to_json(gen.bit_generator.state)
                       for name, gen in module_rngs(model).items()},
        "environment": environment(),
    }
    try:
        meta_json = json.dumps(meta, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"config and metrics must be JSON-serialisable: {exc}") from None
    arrays: dict[str, np.ndarray] = {"meta": np.array(meta_json)}
    arrays.update({f"params/{k}": v for k, v in model.params.items()})
    arrays.update({f"buffers/{k}": v for k, v in model.buffers.items()})
    if optimizer is not None:
        arrays.update({f"optimizer/{k}": v for k, v in optimizer.state_dict().items()})
    if ema is not None:
        arrays.update({f"ema/{k}": v for k, v in ema.state_dict().items()})
    atomic_write(path, lambda f: np.savez(f, **arrays))


def checkpoint_epoch(path: str | os.PathLike) -> int | None:
    """The epoch recorded in a checkpoint file, reading only its metadata; None if unreadable."""
    try:
        with np.load(os.fspath(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"][()]))
        return int(meta["epoch"]) if meta.get("format") == FORMAT else None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (no pickle involved).

    Raises
    ------
    CheckpointError
        If the file does not exist, is not a readable ``.npz``, or is not a
        ttnet checkpoint of a known version.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"checkpoint {path} is not a readable .npz file: {exc}") from None
    try:
        meta = json.loads(str(arrays.pop("meta")[()]))
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a ttnet checkpoint (no valid 'meta' entry: "
                              f"{exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ttnet checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {meta.get('version')}; this "
                              f"ttnet reads version {VERSION}")
    problems = []
    for key, (types, text) in _META_ENTRIES.items():
        if key not in meta:
            problems.append(f"no {key!r} entry (expected {text})")
        elif not isinstance(meta[key], types) or (types is int and isinstance(meta[key], bool)):
            problems.append(f"{key!r} is {describe(meta[key])}, expected {text}")
    if problems:
        raise CheckpointError(f"checkpoint {path} is corrupt: its meta entry has "
                              + "; ".join(problems))
    groups: dict[str, dict[str, np.ndarray]] = {"params": {}, "buffers": {}, "optimizer": {},
                                                "ema": {}}
    for key, value in arrays.items():
        group, _, name = key.partition("/")
        if group not in groups or not name:
            raise CheckpointError(f"checkpoint {path} has an unknown entry {key!r}")
        groups[group][name] = value
    for group in ("params", "buffers"):
        if set(meta[group]) != set(groups[group]):
            raise CheckpointError(f"checkpoint {path} is corrupt: its {group} list does not match "
                                  f"the arrays stored")
    # keep the model's name order (zip order is the write order, but be explicit)
    params = {name: groups["params"][name] for name in meta["params"]}
    buffers = {name: groups["buffers"][name] for name in meta["buffers"]}
    return Checkpoint(
        path=path, epoch=int(meta["epoch"]), config=meta["config"], metrics=meta["metrics"],
        params=params, buffers=buffers, optimizer_type=meta["optimizer_type"],
        optimizer=groups["optimizer"], ema=groups["ema"] if meta["ema"] else None,
        rng_states={k: _from_json(v) for k, v in meta["rng_states"].items()},
        environment=meta.get("environment", {}))
