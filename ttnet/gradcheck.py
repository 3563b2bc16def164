"""Finite-difference gradient checks for hand-written backward passes (docs/conventions.md §8).

A backward pass computes ∂L/∂θ for a scalar L. To check it without trusting
any of its algebra, pick a random upstream gradient ``g`` of the output's
shape, set ``L(θ) = Σ g · f(θ)``, and compare each analytic entry ``a_k`` with
the centred difference

    n_k = (L(θ + h e_k) − L(θ − h e_k)) / (2h)       (truncation error O(h²)).

The difference is taken output by output, ``Σ g · (f(θ + h e_k) − f(θ − h e_k))
/ (2h)``, so outputs that do not depend on θ_k cancel exactly instead of
adding round-off. Everything runs in float64 with ``h = 1e-6`` by default.

The error of one array (parameter or input) is

    error = max_k |a_k − n_k| / scale,    scale = max(|a_j|, |n_j|, 1e-12) over all
                                                  checked entries of all arrays,

the worst absolute disagreement relative to the largest derivative of the
whole check. Why not divide each entry by its own size,
``|a_k − n_k| / max(|a_k|, |n_k|)``? Because every numerical derivative of the
same L carries round-off of about ``1e-16 · (size of the terms of L) / h``,
whatever the size of ``a_k``: an entry that is small by cancellation (a
BatchNorm input gradient of 2e-8 next to entries of 0.5, a softmax probability
of 1e-9, a whole input gradient that happens to be 1e-3) then shows a relative
error near 1 although the backward pass is right. Measured against the
check's scale, a correct smooth layer shows errors around 1e-9 and a wrong
one around 1e-1, so ``passed(1e-7)`` separates them cleanly; a gradient that
should be exactly zero (a convolution bias followed by BatchNorm in training
mode) passes too.

Non-smooth functions (ReLU, max-pool) pass only if no input lies within about
``h`` of a kink (a zero of ReLU, a tie in a max-pool window).

Two entry points, both returning a :class:`GradCheckResult` (a table with one
row per checked array):

* :func:`check_function` for a ``*_forward`` / ``*_backward`` pair of
  :mod:`ttnet.nn.functional` (or any pair with the same conventions);
* :func:`check_module` for a :class:`~ttnet.nn.module.Module`, optionally
  followed by a loss such as :class:`~ttnet.nn.losses.SoftmaxCrossEntropy`.

Example
-------
>>> import numpy as np
>>> from ttnet.gradcheck import check_module
>>> from ttnet.nn import Linear
>>> result = check_module(Linear(3, 2, dtype=np.float64, rng=0),
...                       np.random.default_rng(1).standard_normal((4, 3)))
>>> result.passed(1e-7)
True
>>> print(result)                                            # doctest: +SKIP
name    shape   checked  max rel. error  at index  analytic  numeric
weight  (2, 3)  6/6      4.4e-11         (1, 1)    -1.95419  -1.95419
bias    (2,)    2/2      2.1e-11         (1,)      -1.0295   -1.0295
input   (4, 3)  12/12    3.5e-11         (1, 1)    0.740084  0.740084
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._checks import as_float_array, check_in_range, check_int, check_rng
from .nn.module import Module

__all__ = ["GradCheckRow", "GradCheckResult", "check_function", "check_module", "DEFAULT_SEED"]


@dataclass(frozen=True)
class GradCheckRow:
    """The check of one array: where it was worst and how bad.

    Attributes
    ----------
    name : str
        Parameter name, ``"input"`` for a module's input, or the key of an input.
    shape : tuple of int
    checked, total : int
        Entries compared by finite differences, and entries in the array.
    max_error : float
        ``max_k |a_k − n_k| / scale`` over the checked entries (module docstring).
    index : tuple of int
        Entry with the largest ``|a_k − n_k|``.
    analytic, numeric : float
        The two derivatives at that entry.
    """

    name: str
    shape: tuple[int, ...]
    checked: int
    total: int
    max_error: float
    index: tuple[int, ...]
    analytic: float
    numeric: float


class GradCheckResult:
    """Worst error per checked array, printable as a table.

    ``str(result)`` gives a plain-text table and Jupyter shows an HTML one.
    ``result.errors`` maps names to worst errors, ``result.max_error`` is the
    worst overall, ``result.passed(tol)`` is ``max_error <= tol``,
    ``result[name]`` is the :class:`GradCheckRow` of one array and
    ``result.scale`` the largest derivative the errors are relative to.
    """

    _columns = ("name", "shape", "checked", "max rel. error", "at index", "analytic", "numeric")

    def __init__(self, rows: Sequence[GradCheckRow], scale: float = 1.0) -> None:
        self.rows = list(rows)
        self.scale = scale

    @property
    def errors(self) -> dict[str, float]:
        """Worst relative error of each checked array, by name."""
        return {row.name: row.max_error for row in self.rows}

    @property
    def max_error(self) -> float:
        """Worst relative error over all arrays (0 if nothing was checked)."""
        return max((row.max_error for row in self.rows), default=0.0)

    def passed(self, tol: float = 1e-7) -> bool:
        """True if every checked array has error <= ``tol``."""
        return self.max_error <= tol

    def __getitem__(self, name: str) -> GradCheckRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no array named {name!r} was checked; checked: {list(self.errors)}")

    def _cells(self) -> list[list[str]]:
        return [[row.name, str(row.shape), f"{row.checked}/{row.total}", f"{row.max_error:.1e}",
                 str(row.index), f"{row.analytic:.6g}", f"{row.numeric:.6g}"] for row in self.rows]

    def __str__(self) -> str:
        table = [list(self._columns)] + self._cells()
        widths = [max(len(line[k]) for line in table) for k in range(len(self._columns))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
                         for line in table)

    def __repr__(self) -> str:
        return f"GradCheckResult(max_error={self.max_error:.2e}, arrays={list(self.errors)})"

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self._columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
                       for cells in self._cells())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ---------------------------------------------------------------------------
# the shared engine
# ---------------------------------------------------------------------------

def _entries_to_check(size: int, max_entries: int, rng: np.random.Generator) -> np.ndarray:
    """All flat indices if there are at most ``max_entries``, else a random subset."""
    if size <= max_entries:
        return np.arange(size)
    return np.sort(rng.choice(size, size=max_entries, replace=False))


def _numeric_gradient(name: str, array: np.ndarray, analytic: Any,
                      evaluate: Callable[[], np.ndarray], step: float, max_entries: int,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centred differences of ``evaluate`` w.r.t. entries of ``array`` (perturbed in place).

    ``evaluate()`` must recompute the output from the current contents of
    ``array`` and return ``g · f`` *before* summation (an array), so that the
    two evaluations can be subtracted entry by entry.

    Returns the checked flat indices, the analytic and the numerical derivatives there.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != array.shape:
        raise ValueError(f"the backward pass returned a gradient of shape {analytic.shape} for "
                         f"{name}, which has shape {array.shape}")
    indices = _entries_to_check(array.size, max_entries, rng)
    numeric = np.empty(indices.size)
    for n, k in enumerate(indices):
        entry = np.unravel_index(k, array.shape)
        original = array[entry]
        array[entry] = original + step
        plus = evaluate()
        array[entry] = original - step
        minus = evaluate()
        array[entry] = original
        numeric[n] = np.sum(plus - minus) / (2 * step)
    return indices, analytic.reshape(-1)[indices], numeric


def _result(checks: list[tuple[str, np.ndarray, tuple]]) -> GradCheckResult:
    """Rows of errors relative to the largest derivative of the whole check."""
    scale = max([1e-12] + [float(np.max(np.abs(v))) for _, _, (_, a, n) in checks
                           for v in (a, n) if v.size])
    rows = []
    for name, array, (indices, analytic, numeric) in checks:
        if indices.size == 0:
            rows.append(GradCheckRow(name, tuple(array.shape), 0, 0, 0.0, (), 0.0, 0.0))
            continue
        worst = int(np.argmax(np.abs(analytic - numeric)))
        rows.append(GradCheckRow(
            name=name, shape=tuple(array.shape), checked=int(indices.size),
            total=int(array.size), max_error=float(abs(analytic[worst] - numeric[worst]) / scale),
            index=tuple(int(i) for i in np.unravel_index(indices[worst], array.shape)),
            analytic=float(analytic[worst]), numeric=float(numeric[worst])))
    return GradCheckResult(rows, scale)


def _as_float64(value: Any, name: str) -> np.ndarray:
    arr = as_float_array(value, name)
    if arr.dtype != np.float64:
        raise TypeError(f"{name} must be float64 for a gradient check (float32 round-off swamps "
                        f"finite differences), got {arr.dtype}; use .astype(np.float64)")
    return arr


#: Seed used when ``rng`` is None: fixed, so a check gives the same table every run, and not
#: 0 or 42, so it is unlikely to equal the seed of the data (with BatchNorm, an upstream
#: gradient equal to the normalised input has an exactly zero input gradient).
DEFAULT_SEED = 7919


def _options(step: Any, max_entries: Any, rng: Any) -> tuple[float, int, np.random.Generator]:
    return (check_in_range(step, "step", 0.0, 1.0, include_low=False),
            check_int(max_entries, "max_entries", minimum=1),
            check_rng(DEFAULT_SEED if rng is None else rng))


# ---------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------

def check_function(forward: Callable, inputs: Mapping[str, Any] | Sequence[Any],
                   backward: Callable, *, step: float = 1e-6, max_entries: int = 200,
                   rng: Any = None) -> GradCheckResult:
    """Gradient check of a ``forward(*inputs) -> (out, cache)``, ``backward(dout, cache)`` pair.

    Parameters
    ----------
    forward : callable
        Called as ``forward(*inputs)``; returns ``(out, cache)``. Bind
        non-differentiable arguments (stride, labels, ...) with
        ``functools.partial`` or a lambda.
    inputs : dict name -> ndarray, or sequence of ndarray
        The differentiable arguments, float64. A dict gives the table its
        names (a sequence gives ``"arg0"``, ``"arg1"``, ...). ``None`` entries
        are passed through and not checked. The arrays are copied, not changed.
    backward : callable
        ``backward(dout, cache)``; returns the gradient for a single input, or
        a tuple with one gradient per input (``None`` where there is none).
    step : float
        Finite-difference step h.
    max_entries : int
        Arrays with more entries are checked at this many random entries.
    rng : np.random.Generator, int seed or None
        Draws the upstream gradient and the entry subsets. None uses the
        fixed seed :data:`DEFAULT_SEED`, so repeated checks agree. Do not seed
        it like the test data: an upstream gradient that equals a normalised
        input makes BatchNorm's input gradient exactly zero, which finite
        differences cannot resolve.

    Returns
    -------
    GradCheckResult

    Examples
    --------
    >>> import functools, numpy as np
    >>> from ttnet.nn import functional as F
    >>> r = np.random.default_rng(0)
    >>> x, w = r.standard_normal((2, 3, 5, 5)), r.standard_normal((4, 3, 3, 3))
    >>> check_function(functools.partial(F.conv2d_forward, stride=2, padding=1),
    ...                {"x": x, "weight": w, "bias": np.zeros(4)}, F.conv2d_backward).passed()
    True
    """
    if not callable(forward) or not callable(backward):
        raise TypeError("forward and backward must be callables")
    if isinstance(inputs, Mapping):
        names = [str(k) for k in inputs]
        values = list(inputs.values())
    elif isinstance(inputs, Sequence) and not isinstance(inputs, (str, bytes)):
        names = [f"arg{k}" for k in range(len(inputs))]
        values = list(inputs)
    else:
        raise TypeError(f"inputs must be a dict of arrays or a sequence of arrays, got "
                        f"{type(inputs).__name__}")
    step, max_entries, rng = _options(step, max_entries, rng)
    arrays = [None if v is None else _as_float64(v, f"inputs[{n!r}]").copy()
              for n, v in zip(names, values)]

    out, cache = forward(*arrays)
    upstream = rng.standard_normal(np.shape(out))
    grads = backward(upstream, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(arrays):
        raise ValueError(f"backward returned {len(grads)} gradient(s) for {len(arrays)} inputs")

    def evaluate() -> np.ndarray:
        return upstream * np.asarray(forward(*arrays)[0])

    return _result([(name, array, _numeric_gradient(name, array, grad, evaluate, step,
                                                     max_entries, rng))
                    for name, array, grad in zip(names, arrays, grads)
                    if array is not None and grad is not None])


def _snapshot(module: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Copies of every buffer (running statistics) of the module tree."""
    return [(buf, buf.copy()) for m in module.modules() for buf in m.buffers.values()]


def _rng_states(module: Any) -> list[tuple[np.random.Generator, dict]]:
    """States of the random generators of the module tree (Dropout masks)."""
    return [(m.rng, m.rng.bit_generator.state) for m in module.modules()
            if isinstance(getattr(m, "rng", None), np.random.Generator)]


def check_module(module: Any, x: Any, *, loss: Any = None, labels: Any = None,
                 step: float = 1e-6, max_entries: int = 200, rng: Any = None) -> GradCheckResult:
    """Gradient check of a module's ``backward`` for every parameter and for the input.

    Without ``loss`` the scalar is ``L = Σ g · module(x)`` with a random
    upstream gradient ``g``; with ``loss`` (e.g. ``SoftmaxCrossEntropy()``)
    it is ``L = loss(module(x), labels)`` and the whole network is checked end
    to end. The module is checked in its current mode (``train()`` or
    ``eval()``). Before every forward the module's buffers (BatchNorm running
    statistics) and random generators (Dropout) are reset to their state at
    the start, so each evaluation sees the same statistics and masks. At the
    end they are restored, the module's cache is that of a forward at ``x``
    and ``module.grads`` holds the analytic gradients.

    Parameters
    ----------
    module : ttnet.nn.Module
        With float64 parameters (build it with ``dtype=np.float64``).
    x : ndarray
        Input batch, float64. Copied, not changed.
    loss : Module, optional
        A loss with ``forward(out, labels)`` and ``backward()``.
    labels : array_like, optional
        Passed to ``loss``.
    step, max_entries, rng
        As in :func:`check_function`.

    Returns
    -------
    GradCheckResult
        One row per parameter (the names of ``module.params``) and a last row
        ``"input"``.
    """
    if not isinstance(module, Module):
        raise TypeError(f"module must be a ttnet.nn Module, got {type(module).__name__}")
    if loss is not None and not isinstance(loss, Module):
        raise TypeError(f"loss must be a ttnet.nn Module or None, got {type(loss).__name__}")
    for name, p in module.params.items():
        _as_float64(p, f"module.params[{name!r}]")
    step, max_entries, rng = _options(step, max_entries, rng)
    x = _as_float64(x, "x").copy()
    buffers, states = _snapshot(module), _rng_states(module)

    def reset() -> None:
        for buf, saved in buffers:
            buf[...] = saved
        for generator, state in states:
            generator.bit_generator.state = state

    def run() -> np.ndarray:
        reset()
        out = module.forward(x)
        return out if loss is None else loss.forward(out, labels)

    out = run()
    upstream = rng.standard_normal(np.shape(out)) if loss is None else np.float64(1.0)
    dx = module.backward(upstream if loss is None else loss.backward(upstream))
    analytic = {name: g.copy() for name, g in module.grads.items()}

    def evaluate() -> np.ndarray:
        return upstream * np.asarray(run())

    arrays = [*module.params.items(), ("input", x)]
    grads = {**analytic, "input": dx}
    try:
        checks = [(name, array, _numeric_gradient(name, array, grads[name], evaluate, step,
                                                  max_entries, rng)) for name, array in arrays]
    finally:
        run()          # leave the module's cache at the unperturbed point ...
        reset()        # ... and its buffers and generators as they were
    for name, g in analytic.items():
        module.grads[name][...] = g
    return _result(checks)
