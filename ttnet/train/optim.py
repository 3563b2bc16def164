"""Optimisers: :class:`SGD` (momentum, Nesterov, weight decay) and :class:`Adam`.

An optimiser holds references to a model's ``params`` and ``grads`` arrays
(docs/conventions.md §5) and, on :meth:`Optimizer.step`, updates every parameter *in
place* from the gradient written by the last ``backward``. Because the arrays
are updated in place, every view of them — a parent ``Sequential``'s dotted
names, a TT layer's ``cores`` — sees the new values.

The update rules are PyTorch's (``torch.optim.SGD`` with ``dampening=0`` and
``torch.optim.Adam``), so results can be compared line by line. All arithmetic
runs in the parameter's dtype: the Python scalars (learning rate, momentum, …)
are cast to that dtype first, so a float32 network never computes its update
in float64.

The learning rate is the attribute :attr:`Optimizer.lr`; the trainer sets it
from a schedule (:mod:`ttnet.train.schedules`) before every step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import check_bool, check_in_range, describe
from ..nn.module import Module
from ..ops.workspace import scratch_prefix

__all__ = ["Optimizer", "SGD", "Adam"]


def _check_lr(lr: Any, name: str = "lr") -> float:
    """A learning rate: a finite real number >= 0."""
    return check_in_range(lr, name, 0.0, np.inf, include_high=False)


class Optimizer:
    """Base class: the parameters, the gradients, the learning rate and the state.

    Parameters
    ----------
    model : Module
        Its ``params`` and ``grads`` dicts are captured (the same array
        objects, not copies). Parameters are updated in place, so never
        replace ``model.params[name]`` by a new array after this point.
    lr : float >= 0
        Learning rate (η below); may be changed between steps.

    Attributes
    ----------
    params, grads : dict[str, ndarray]
        The model's arrays, in the model's name order.
    step_count : int
        Number of :meth:`step` calls so far (``t`` in Adam's bias correction).
    """

    def __init__(self, model: Module, lr: float) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
        if not model.params:
            raise ValueError(f"model must have trainable parameters, got {type(model).__name__} "
                             f"with an empty params dict")
        self.params: dict[str, np.ndarray] = dict(model.params)
        self.grads: dict[str, np.ndarray] = {}
        for name, p in self.params.items():
            g = model.grads.get(name)
            if g is None or g.shape != p.shape or g.dtype != p.dtype:
                raise ValueError(
                    f"model.grads[{name!r}] must match model.params[{name!r}] "
                    f"(shape {p.shape}, dtype {p.dtype}), got "
                    f"{'nothing' if g is None else describe(g)}")
            if p.dtype.kind != "f":
                raise TypeError(f"model.params[{name!r}] must be a float array, got dtype "
                                f"{p.dtype}")
            self.grads[name] = g
        self.lr = lr
        self.step_count = 0

    @property
    def lr(self) -> float:
        """The learning rate η used by the next :meth:`step`."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _check_lr(value)

    # -- to be provided by subclasses ----------------------------------------
    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        """Update ``p`` in place from its gradient ``g``."""
        raise NotImplementedError

    def _state_arrays(self) -> dict[str, dict[str, np.ndarray]]:
        """Per-parameter state arrays by kind, e.g. ``{"momentum": {name: array}}``."""
        return {}

    def config(self) -> dict[str, Any]:
        """The hyperparameters (JSON-serialisable), without the learning rate.

        The learning rate comes from the schedule and is recorded there.
        """
        return {"type": type(self).__name__}

    # -- public --------------------------------------------------------------
    def step(self) -> None:
        """Apply one update to every parameter from the current gradients."""
        self.step_count += 1
        for name, p in self.params.items():
            self._update(name, p, self.grads[name])

    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything that influences future steps, as arrays (for ``.npz`` files).

        Keys are ``"step_count"`` (0-d int64) and ``"<kind>/<param name>"``
        (e.g. ``"momentum/0.weight"``). The arrays are copies.
        """
        state = {"step_count": np.array(self.step_count, dtype=np.int64)}
        for kind, arrays in self._state_arrays().items():
            for name, arr in arrays.items():
                state[f"{kind}/{name}"] = arr.copy()
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore a :meth:`state_dict` (the arrays are copied in place).

        Raises
        ------
        ValueError
            If a key is missing or unexpected, or an array has the wrong shape
            or dtype — i.e. the state belongs to another optimiser or model.
        """
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict of arrays, got {describe(state)}")
        expected = {"step_count"} | {f"{kind}/{name}"
                                     for kind, arrays in self._state_arrays().items()
                                     for name in arrays}
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        if missing or unexpected:
            raise ValueError(f"{type(self).__name__} state does not match this optimiser: "
                             f"missing {missing}, unexpected {unexpected}")
        for kind, arrays in self._state_arrays().items():
            for name, target in arrays.items():
                source = np.asarray(state[f"{kind}/{name}"])
                if source.shape != target.shape or source.dtype != target.dtype:
                    raise ValueError(
                        f"{type(self).__name__} state {kind}/{name} must have shape "
                        f"{target.shape} and dtype {target.dtype}, got {describe(source)}")
        for kind, arrays in self._state_arrays().items():
            for name, target in arrays.items():
                target[...] = state[f"{kind}/{name}"]
        self.step_count = int(state["step_count"])


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay.

    For each parameter p with gradient ∇ (PyTorch's ``torch.optim.SGD``,
    ``dampening=0``):

    ::

        g = ∇ + λ·p                  weight decay (gradient of the L2 penalty λ‖p‖²/2)
        v ← μ·v + g                  momentum buffer, v = 0 before the first step
        d = g + μ·v  (Nesterov)      or  d = v  (classical momentum)
        p ← p − η·d

    With ``momentum=0`` there is no buffer and ``d = g``. The paper trains
    with μ = 0.9, η = 0.1 and no weight decay (Garipov et al. 2016, CIFAR-10 experiments).

    Parameters
    ----------
    model : Module
    lr : float >= 0
        η.
    momentum : float in [0, 1)
        μ.
    nesterov : bool
        Use Nesterov's look-ahead ``d = g + μ v`` (requires ``momentum > 0``).
    weight_decay : float >= 0
        λ; applied to every parameter (BatchNorm γ, β and biases included).

    Examples
    --------
    >>> import numpy as np
    >>> from ttnet.nn import Linear
    >>> from ttnet.train import SGD
    >>> layer = Linear(2, 1, rng=0)          # bias starts at 0
    >>> opt = SGD(layer, lr=0.5, momentum=0.9)
    >>> layer.grads["bias"][...] = 1.0       # as if backward had written it
    >>> opt.step(); opt.step()
    >>> layer.params["bias"]                 # 0 − 0.5·1 − 0.5·(0.9·1 + 1)
    array([-1.45], dtype=float32)
    """

    def __init__(self, model: Module, lr: float = 0.1, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__(model, lr)
        self.momentum = check_in_range(momentum, "momentum", 0.0, 1.0, include_high=False)
        nesterov = check_bool(nesterov, "nesterov")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True requires momentum > 0, got momentum=0")
        self.nesterov = nesterov
        self.weight_decay = check_in_range(weight_decay, "weight_decay", 0.0, np.inf, include_high=False)
        self.velocity: dict[str, np.ndarray] = (
            {name: np.zeros_like(p) for name, p in self.params.items()} if self.momentum else {})
        # η·d goes into one reused array: for the paper's 13.9-million-parameter network a
        # fresh 50 MB array every step costs as much as the arithmetic that fills it
        self._workspace: dict[str, np.ndarray] = {}

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        t = p.dtype.type                     # cast every scalar: no float64 creep
        if self.weight_decay:
            g = g + t(self.weight_decay) * p
        if self.momentum:
            v = self.velocity[name]
            v *= t(self.momentum)
            v += g
            d = g + t(self.momentum) * v if self.nesterov else v
        else:
            d = g
        step = scratch_prefix(self._workspace, "step", p.shape, p.dtype)
        p -= np.multiply(d, t(self.lr), out=step)

    def _state_arrays(self) -> dict[str, dict[str, np.ndarray]]:
        return {"momentum": self.velocity} if self.momentum else {}

    def config(self) -> dict[str, Any]:
        return {"type": "SGD", "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015, Algorithm 1) with optional L2 weight decay.

    At step t = 1, 2, … for each parameter p with gradient ∇ (the same
    arithmetic as ``torch.optim.Adam``):

    ::

        g = ∇ + λ·p
        m ← β₁·m + (1 − β₁)·g            first-moment estimate, m = 0 initially
        v ← β₂·v + (1 − β₂)·g²           second-moment estimate, v = 0 initially
        p ← p − η/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)

    The factors 1/(1 − β^t) are the bias corrections: m and v start at zero,
    so without them the first steps would be too small.

    Parameters
    ----------
    model : Module
    lr : float >= 0
        η.
    betas : pair of float in [0, 1)
        (β₁, β₂).
    eps : float > 0
        ε.
    weight_decay : float >= 0
        λ, added to the gradient (classic L2, not AdamW's decoupled decay).
    """

    def __init__(self, model: Module, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(model, lr)
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {describe(betas)}")
        self.betas = (check_in_range(betas[0], "betas[0]", 0.0, 1.0, include_high=False),
                      check_in_range(betas[1], "betas[1]", 0.0, 1.0, include_high=False))
        self.eps = check_in_range(eps, "eps", 0.0, np.inf, include_high=False)
        if self.eps == 0:
            raise ValueError("eps must be > 0, got 0.0")
        self.weight_decay = check_in_range(weight_decay, "weight_decay", 0.0, np.inf, include_high=False)
        self.m = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.v = {name: np.zeros_like(p) for name, p in self.params.items()}

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        t = p.dtype.type
        beta1, beta2 = self.betas
        if self.weight_decay:
            g = g + t(self.weight_decay) * p
        m, v = self.m[name], self.v[name]
        m *= t(beta1)
        m += t(1 - beta1) * g
        v *= t(beta2)
        v += t(1 - beta2) * (g * g)
        correction1 = 1 - beta1 ** self.step_count          # Python floats (float64)
        correction2 = 1 - beta2 ** self.step_count
        denom = np.sqrt(v) / t(np.sqrt(correction2)) + t(self.eps)
        p -= t(self.lr / correction1) * (m / denom)

    def _state_arrays(self) -> dict[str, dict[str, np.ndarray]]:
        return {"m": self.m, "v": self.v}

    def config(self) -> dict[str, Any]:
        return {"type": "Adam", "betas": list(self.betas), "eps": self.eps,
                "weight_decay": self.weight_decay}
