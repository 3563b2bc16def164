"""Exponential moving average (EMA) of a model's parameters, used for evaluation.

The paper evaluates its networks with an exponential moving average of the
weights (Garipov et al. 2016; the authors' TensorFlow code uses
``tf.train.ExponentialMovingAverage`` with decay 0.9 and the warm-up below in
its main training script, 0.999 in the script that starts from pretrained
convolutions — see docs/paper.md). ttnet's default is 0.999, an average over
about a thousand steps. After every optimiser step each shadow copy s of a
parameter p moves towards it::

    s ← s − (1 − δ)·(s − p)        i.e.  s ← δ·s + (1 − δ)·p

With ``warmup=True`` (TensorFlow's ``num_updates`` rule) the decay of update
number n = 0, 1, … is ``δ = min(decay, (1 + n) / (10 + n))``: early on the
average forgets its random initial value quickly. Without it a short run
would be evaluated with weights still close to the initialisation — after
300 steps, 0.999³⁰⁰ ≈ 74 % of the average would be the initial weights.

BatchNorm buffers are **copied, not averaged**: evaluation with the EMA uses
the averaged γ, β and weights together with the *live* running mean and
variance. The running statistics are already exponential averages (over
batches, momentum 0.1), and TensorFlow's EMA — what the paper used — averages
only the trainable variables. (Averaging them a second time would make them
lag about 1/(1 − decay) = 1000 steps behind the weights.)
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np

from .._checks import check_bool, check_in_range, describe
from ..nn.module import Module
from ..ops.workspace import scratch_prefix

__all__ = ["EMA"]


class EMA:
    """Shadow copies of ``model.params`` that follow the live ones with decay δ.

    Call :meth:`update` after every optimiser step; evaluate with the averaged
    weights inside ``with ema.applied(): ...``, which puts them into the model
    and restores the live weights (bit for bit) on exit.

    Parameters
    ----------
    model : Module
        Whose ``params`` are averaged (buffers are not; see the module docstring).
    decay : float in [0, 1)
        The decay δ (default 0.999; the authors' scripts use 0.9 and 0.999).
    warmup : bool
        Use ``δ_n = min(decay, (1 + n)/(10 + n))`` for update n = 0, 1, …

    Attributes
    ----------
    shadow : dict[str, ndarray]
        The averages, same names, shapes and dtypes as ``model.params``.
    num_updates : int
        Number of :meth:`update` calls so far.

    Examples
    --------
    >>> import numpy as np
    >>> from ttnet.nn import Linear
    >>> from ttnet.train import EMA
    >>> layer = Linear(2, 1, rng=0)
    >>> ema = EMA(layer, decay=0.5, warmup=False)
    >>> layer.params["bias"][...] = 1.0; ema.update()
    >>> ema.shadow["bias"]                    # 0.5·0 + 0.5·1
    array([0.5], dtype=float32)
    >>> with ema.applied():
    ...     print(layer.params["bias"])
    [0.5]
    >>> layer.params["bias"]                  # live weights restored
    array([1.], dtype=float32)
    """

    def __init__(self, model: Module, decay: float = 0.999, warmup: bool = True) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
        self.decay = check_in_range(decay, "decay", 0.0, 1.0, include_high=False)
        self.warmup = check_bool(warmup, "warmup")
        self.params: dict[str, np.ndarray] = dict(model.params)   # the live arrays
        self.shadow: dict[str, np.ndarray] = {name: p.copy() for name, p in self.params.items()}
        self.num_updates = 0
        self._applied = False
        self._workspace: dict[str, np.ndarray] = {}     # the update's temporary s − p

    def current_decay(self) -> float:
        """δ of the next :meth:`update`."""
        if self.warmup:
            return min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        return self.decay

    def update(self) -> None:
        """Move every average towards its live parameter: ``s −= (1 − δ)(s − p)``."""
        if self._applied:
            raise RuntimeError("EMA.update() was called inside ema.applied(): the model holds the "
                               "averaged weights there, not the live ones")
        rate = 1.0 - self.current_decay()
        for name, s in self.shadow.items():
            p = self.params[name]
            step = scratch_prefix(self._workspace, "step", s.shape, s.dtype)
            np.subtract(s, p, out=step)
            step *= p.dtype.type(rate)
            s -= step
        self.num_updates += 1

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        """Context manager: the model holds the averaged weights inside, the live ones after.

        The live weights are copied aside and copied back on exit (also when
        an exception is raised), so they come back bit for bit. BatchNorm
        buffers are left alone.
        """
        if self._applied:
            raise RuntimeError("ema.applied() is already active (it cannot be nested)")
        backup = {name: p.copy() for name, p in self.params.items()}
        for name, p in self.params.items():
            p[...] = self.shadow[name]
        self._applied = True
        try:
            yield
        finally:
            for name, p in self.params.items():
                p[...] = backup[name]
            self._applied = False

    def copy_to(self, model: Module) -> None:
        """Write the averages into ``model.params`` (in place) for good, e.g. before export."""
        if not isinstance(model, Module):
            raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
        _check_same_arrays(self.shadow, model.params, "the EMA", "model.params")
        for name, s in self.shadow.items():
            model.params[name][...] = s

    def config(self) -> dict[str, Any]:
        """The hyperparameters (JSON-serialisable), saved with a run."""
        return {"decay": self.decay, "warmup": self.warmup}

    def state_dict(self) -> dict[str, np.ndarray]:
        """``"num_updates"`` (0-d int64) and ``"shadow/<name>"`` arrays (copies)."""
        state = {"num_updates": np.array(self.num_updates, dtype=np.int64)}
        state.update({f"shadow/{name}": s.copy() for name, s in self.shadow.items()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore a :meth:`state_dict` (copied in place); ``ValueError`` if it does not fit."""
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict of arrays, got {describe(state)}")
        if "num_updates" not in state:
            raise ValueError("EMA state must contain 'num_updates'")
        shadow = {k[len("shadow/"):]: v for k, v in state.items() if k.startswith("shadow/")}
        extra = sorted(set(state) - {"num_updates"} - {f"shadow/{k}" for k in shadow})
        if extra:
            raise ValueError(f"EMA state has unexpected entries {extra}")
        _check_same_arrays(shadow, self.shadow, "the EMA state", "the model's parameters")
        for name, s in self.shadow.items():
            s[...] = shadow[name]
        self.num_updates = int(state["num_updates"])


def _check_same_arrays(source: dict[str, np.ndarray], target: dict[str, np.ndarray],
                       source_name: str, target_name: str) -> None:
    """ValueError listing the names, shapes or dtypes in which ``source`` and ``target`` differ."""
    problems = [f"{name!r} is in {target_name} but not in {source_name}"
                for name in target if name not in source]
    problems += [f"{name!r} is in {source_name} but not in {target_name}"
                 for name in source if name not in target]
    for name, t in target.items():
        if name in source:
            s = np.asarray(source[name])
            if s.shape != t.shape or s.dtype != t.dtype:
                problems.append(f"{name!r} has shape {s.shape} and dtype {s.dtype} in "
                                f"{source_name}, {t.shape} and {t.dtype} in {target_name}")
    if problems:
        raise ValueError(f"{source_name} does not match {target_name}: " + "; ".join(problems))
