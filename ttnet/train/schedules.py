"""Learning-rate schedules: a schedule maps the (fractional) epoch to a learning rate.

A schedule is a pure function of its argument: ``schedule(epoch)`` where
``epoch`` counts from 0 and may be fractional — the trainer calls it before
every step with ``epoch + step / steps_per_epoch``. Having no hidden state is
what makes resuming simple: the learning rate of any step follows from the
epoch counter alone, so a checkpoint needs no schedule state.

* :class:`ConstantLR` — η₀ throughout.
* :class:`StepLR` — η₀ · γ^⌊epoch / step_epochs⌋, changing at whole epochs
  (the paper: η₀ = 0.1, γ = 0.1, every 30 epochs).
* :class:`CosineLR` — half a cosine from η₀ down to η_min over ``total_epochs``,
  updated every step (Loshchilov & Hutter 2017, without restarts).

**Extending a run.** A schedule's :attr:`~Schedule.horizon_keys` name the
arguments that give its length (``total_epochs`` of :class:`CosineLR`; none
for the others). When a run is resumed with more (or fewer) epochs, the
trainer accepts a schedule that differs from the saved one only there and
*re-plans*: the epochs already completed keep the learning rates they were
trained with, and from the resumed epoch on the learning rate is the new
schedule's. For a cosine run of N epochs extended to N′ that means: at epoch N
the rate jumps from ≈η_min back up to ``CosineLR(η₀, N′)(N)`` and falls to
η_min at N′, as in the second part of an N′-epoch run. The result deliberately
differs from an uninterrupted N′-epoch run (whose first N epochs decayed more
slowly): it equals a run whose rate follows the N-epoch cosine up to epoch N
and the N′-epoch cosine after it (``tests/train/test_extend.py``).
:class:`ConstantLR` and :class:`StepLR` do not depend on the run's length, so
an extended run with them equals the uninterrupted longer run bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import check_in_range, check_int

__all__ = ["Schedule", "ConstantLR", "StepLR", "CosineLR"]


def _check_nonnegative(value: Any, name: str) -> float:
    """A finite real number >= 0 (an epoch or a rate)."""
    return check_in_range(value, name, 0.0, np.inf, include_high=False)


class Schedule:
    """Base class: ``schedule(epoch) -> learning rate``; subclasses implement :meth:`lr_at`.

    Attributes
    ----------
    lr : float
        The initial learning rate η₀ (``schedule(0) == lr``).
    """

    lr: float

    #: Arguments of :meth:`config` that set the schedule's length; a resumed run may change
    #: them (it is then re-planned, see the module docstring). Empty: the schedule does not
    #: depend on the run's length.
    horizon_keys: tuple[str, ...] = ()

    def __call__(self, epoch: float) -> float:
        """The learning rate at (fractional, 0-based) ``epoch`` >= 0."""
        return self.lr_at(_check_nonnegative(epoch, "epoch"))

    def lr_at(self, epoch: float) -> float:
        """The formula, for an already checked ``epoch``."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The schedule's type and arguments (JSON-serialisable), saved with a run."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


class ConstantLR(Schedule):
    """η(epoch) = η₀.

    Parameters
    ----------
    lr : float >= 0
        η₀.
    """

    def __init__(self, lr: float) -> None:
        self.lr = _check_nonnegative(lr, "lr")

    def lr_at(self, epoch: float) -> float:
        return self.lr

    def config(self) -> dict[str, Any]:
        return {"type": "ConstantLR", "lr": self.lr}


class StepLR(Schedule):
    """η(epoch) = η₀ · γ^⌊epoch / step_epochs⌋: drop by γ every ``step_epochs`` epochs.

    Parameters
    ----------
    lr : float >= 0
        η₀.
    step_epochs : int >= 1
        The learning rate changes at epochs step_epochs, 2·step_epochs, …
    gamma : float in (0, 1]
        γ, the factor of each drop.

    Examples
    --------
    >>> from ttnet.train import StepLR
    >>> s = StepLR(0.1, step_epochs=30, gamma=0.1)      # the paper's schedule
    >>> s(0), s(29.99), round(s(30), 12), round(s(60.5), 12)
    (0.1, 0.1, 0.01, 0.001)
    """

    def __init__(self, lr: float, step_epochs: int = 30, gamma: float = 0.1) -> None:
        self.lr = _check_nonnegative(lr, "lr")
        self.step_epochs = check_int(step_epochs, "step_epochs", minimum=1)
        gamma = _check_nonnegative(gamma, "gamma")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma}")
        self.gamma = gamma

    def lr_at(self, epoch: float) -> float:
        return self.lr * self.gamma ** math.floor(epoch / self.step_epochs)

    def config(self) -> dict[str, Any]:
        return {"type": "StepLR", "lr": self.lr, "step_epochs": self.step_epochs,
                "gamma": self.gamma}


class CosineLR(Schedule):
    """η(epoch) = η_min + (η₀ − η_min) · (1 + cos(π · epoch / total_epochs)) / 2.

    Falls smoothly from η₀ at epoch 0 to η_min at ``total_epochs`` and stays
    there afterwards.

    Parameters
    ----------
    lr : float >= 0
        η₀.
    total_epochs : int >= 1
        Length of the decay (normally the number of training epochs). It is
        the schedule's horizon: a run resumed with more epochs may change it
        (see "Extending a run" in :mod:`ttnet.train.schedules`).
    min_lr : float in [0, lr]
        η_min.

    Examples
    --------
    >>> from ttnet.train import CosineLR
    >>> s = CosineLR(0.1, total_epochs=10)
    >>> s(0), round(s(5), 12), s(10), s(12)
    (0.1, 0.05, 0.0, 0.0)
    """

    horizon_keys = ("total_epochs",)

    def __init__(self, lr: float, total_epochs: int, min_lr: float = 0.0) -> None:
        self.lr = _check_nonnegative(lr, "lr")
        self.total_epochs = check_int(total_epochs, "total_epochs", minimum=1)
        self.min_lr = _check_nonnegative(min_lr, "min_lr")
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr must be <= lr ({self.lr}), got {self.min_lr}")

    def lr_at(self, epoch: float) -> float:
        progress = min(epoch / self.total_epochs, 1.0)
        return self.min_lr + (self.lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def config(self) -> dict[str, Any]:
        return {"type": "CosineLR", "lr": self.lr, "total_epochs": self.total_epochs,
                "min_lr": self.min_lr}
