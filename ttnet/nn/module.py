"""The :class:`Module` base class: the layer interface of docs/conventions.md §5."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np


class Module:
    """A layer (or a network of layers) with a hand-written backward pass.

    Attributes
    ----------
    params : dict[str, ndarray]
        Trainable arrays by name (``"weight"``, ``"bias"``, ``"gamma"``, ...).
        Optimisers update them *in place* (``p -= lr * g``), so every view of
        them (e.g. a parent :class:`~ttnet.nn.layers.Sequential`) stays valid.
    grads : dict[str, ndarray]
        Same keys, shapes and dtypes as ``params``. :meth:`backward` *writes*
        the gradients of the last forward into these arrays (in place, so the
        array objects never change). It does not accumulate across calls.
    buffers : dict[str, ndarray]
        Non-trainable state saved with the model (BatchNorm running statistics).
    training : bool
        True after :meth:`train` (the default), False after :meth:`eval`.

    Subclasses register arrays with :meth:`add_param` / :meth:`add_buffer` and
    implement :meth:`forward` and :meth:`backward`. Calling the module calls
    :meth:`forward`.
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.training = True
        self._cache: Any = None

    # -- registration -------------------------------------------------------
    def add_param(self, name: str, value: np.ndarray) -> None:
        """Register a trainable array and a zero gradient of its shape and dtype."""
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)

    def add_buffer(self, name: str, value: np.ndarray) -> None:
        """Register a non-trainable array (updated in place by the layer)."""
        self.buffers[name] = value

    def _write_grads(self, **grads: np.ndarray | None) -> None:
        """Overwrite ``grads[name]`` in place with each value; ``None`` (no bias) is skipped."""
        for name, value in grads.items():
            if value is not None:
                self.grads[name][...] = value

    def _last_cache(self) -> Any:
        """The cache of the last forward, or a clear error if there was none."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward was called before forward")
        return self._cache

    # -- the interface ------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Compute the output and cache what :meth:`backward` needs."""
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Given ∂L/∂output of the last forward, write ``grads`` and return ∂L/∂input."""
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``mode=True``) or evaluation mode on this module and its children."""
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"mode must be a bool, got {mode!r}")
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> "Module":
        """Set evaluation mode (BatchNorm uses running statistics, Dropout is the identity)."""
        return self.train(False)

    def children(self) -> list["Module"]:
        """Direct sub-modules (none for a plain layer)."""
        return []

    def modules(self) -> Iterator["Module"]:
        """This module and all its descendants, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    @property
    def n_params(self) -> int:
        """Number of trainable scalars, ``Σ params[name].size``."""
        return sum(int(p.size) for p in self.params.values())

    def extra_repr(self) -> str:
        """Arguments shown by ``repr``; subclasses override."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
