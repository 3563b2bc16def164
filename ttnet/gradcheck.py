"""Finite-difference gradient checks for hand-written backward passes (docs/conventions.md §8).

A backward pass computes ∂L/∂θ for a scalar L. To check it without trusting
any of its algebra, pick a random upstream gradient ``g`` of the output's
shape, set ``L(θ) = Σ g · f(θ)``, and compare each analytic entry ``a_k`` with
the centred difference

    n_k = (L(θ + h e_k) − L(θ − h e_k)) / (2h)       (truncation error O(h²)).

The difference is taken output by output, ``Σ g · (f(θ + h e_k) − f(θ − h e_k))
/ (2h)``, so outputs that do not depend on θ_k cancel exactly instead of
adding round-off. Everything runs in float64 with ``h = 1e-6`` by default.

The error of one array (a parameter or an input) is measured against that
array's own scale::

    error = max_k |a_k − n_k| / scale,
    scale = max(max_k |a_k|, max_k |n_k|, floor),   floor = √u · T / h,

with ``k`` over the checked entries of that array, ``u = 2⁻⁵³`` the unit
round-off of float64 (half its machine epsilon 2⁻⁵²) and ``T`` the largest
``Σ |g · f|`` met while perturbing the array (the size of the terms of L).
``result.passed(tol)`` asks ``error <= tol`` of every array.

*Why each array on its own scale.* Arrays of one check can have derivatives of
very different sizes, and a model can even be reparametrised to make them so
without changing what it computes: multiplying one TT core by ``c`` and the
next by ``1/c`` leaves the weight unchanged and divides the first core's
gradient by ``c``. Against the largest derivative of the whole check, a
gradient of ``1e-4`` next to one of ``1e4`` could be set to zero and still
show an error of ``1e-8``; against its own scale it fails (3e-3 for the TT
layer of notebook 04, 1.0 where the derivatives are above the floor below).

*Why not entry by entry,* ``|a_k − n_k| / max(|a_k|, |n_k|)``? Every numerical
derivative of the same L carries round-off of about ``u · T / h``, whatever
the size of ``a_k``: an entry that is small by cancellation (a BatchNorm input
gradient far below its neighbours, the gradient of a tiny softmax probability)
would show a relative error near 1 although the backward pass is right.
Taking the worst disagreement of the array over its largest derivative avoids
that.

*Why the floor.* An array whose gradient is exactly zero everywhere (a
convolution bias followed by BatchNorm in training mode) has numerical
derivatives that are pure round-off, so its largest derivative is that
round-off and the ratio would be about 1. ``floor = √u · T / h`` is the
derivative whose centred difference still has about half of float64's digits
(its round-off ``u · T / h`` is ``√u ≈ 1e-8`` of it). Below it the error is
measured against the floor: a zero gradient then shows an error of about
``√u``, and with ``tol = 1e-7`` an array fails when its worst disagreement
exceeds ``1e-7 · max(largest derivative, floor)`` — a relative test for arrays
the step resolves, an absolute one at about ten times the round-off of the
differences for those it does not. A reparametrisation cannot move the floor,
because it leaves ``f``, and so ``T``, unchanged.

In ttnet's tests correct smooth layers show errors of at most 2e-8 (most near
1e-10) and wrong ones 1.7e-5 and more, so ``passed(1e-7)`` separates them. For
comparison, each row also reports the old measure, the disagreement relative
to the largest derivative of the whole check (``check_scale_error``, the
table's ``error/check scale``); ``passed`` does not use it.

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
name    shape   checked  error/array scale  error/check scale  at index  analytic  numeric
weight  (2, 3)  6/6      4.4e-11            4.4e-11            (1, 1)    -1.95419  -1.95419
bias    (2,)    2/2      4.4e-11            2.1e-11            (1,)      -1.0295   -1.0295
input   (4, 3)  12/12    5.8e-11            3.5e-11            (1, 1)    0.740084  0.740084
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np

from ._checks import as_float_array, check_in_range, check_int, check_rng
from .nn.module import Module

__all__ = ["GradCheckRow", "GradCheckResult", "check_function", "check_module", "DEFAULT_SEED",
           "UNIT_ROUNDOFF"]


#: Unit round-off of float64, ``u = 2⁻⁵³ ≈ 1.1e-16`` (half the machine epsilon ``2⁻⁵²``).
UNIT_ROUNDOFF = 2.0 ** -53


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
        ``max_k |a_k − n_k| / scale``: the worst disagreement relative to this
        array's own scale (module docstring). :meth:`GradCheckResult.passed`
        tests this number.
    check_scale_error : float
        The same disagreement relative to the largest derivative of the whole
        check (:attr:`GradCheckResult.scale`), for comparison. A gauge
        (rescaling one array and another inversely) can make it small for an
        array whose gradient is wrong; do not judge a check by it.
    scale : float
        This array's scale, ``max(largest |a_k| or |n_k|, floor)``.
    floor : float
        ``√u · T / h``: the smallest derivative the step resolves to about half
        of float64's digits, with ``T`` the largest ``Σ |g · f|`` seen while
        perturbing this array and ``h`` the step.
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
    check_scale_error: float
    scale: float
    floor: float
    index: tuple[int, ...]
    analytic: float
    numeric: float


class GradCheckResult:
    """Worst error per checked array, printable as a table.

    ``str(result)`` gives a plain-text table and Jupyter shows an HTML one.
    ``result.errors`` maps names to worst errors (each relative to its array's
    own scale), ``result.max_error`` is the worst of them, ``result.passed(tol)``
    is ``max_error <= tol``, ``result[name]`` is the :class:`GradCheckRow` of one
    array. For comparison, ``result.check_scale_errors`` holds the same
    disagreements relative to ``result.scale``, the largest derivative of the
    whole check; ``passed`` does not use them.

    The table's columns: ``error/array scale`` is ``max_error`` (what
    ``passed`` tests), ``error/check scale`` is ``check_scale_error``.
    """

    _columns = ("name", "shape", "checked", "error/array scale", "error/check scale",
                "at index", "analytic", "numeric")

    def __init__(self, rows: Sequence[GradCheckRow], scale: float = 1.0) -> None:
        self.rows = list(rows)
        self.scale = scale

    @property
    def errors(self) -> dict[str, float]:
        """Worst error of each checked array relative to its own scale, by name."""
        return {row.name: row.max_error for row in self.rows}

    @property
    def check_scale_errors(self) -> dict[str, float]:
        """Worst error of each checked array relative to :attr:`scale`, by name."""
        return {row.name: row.check_scale_error for row in self.rows}

    @property
    def max_error(self) -> float:
        """Worst per-array error over all arrays (0 if nothing was checked)."""
        return max((row.max_error for row in self.rows), default=0.0)

    def passed(self, tol: float = 1e-7) -> bool:
        """True if every checked array has ``max_error <= tol`` (error against its own scale)."""
        tol = check_in_range(tol, "tol", 0.0, np.inf)
        return all(row.max_error <= tol for row in self.rows)

    def __getitem__(self, name: str) -> GradCheckRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no array named {name!r} was checked; checked: {list(self.errors)}")

    def _cells(self) -> list[list[str]]:
        return [[row.name, str(row.shape), f"{row.checked}/{row.total}", f"{row.max_error:.1e}",
                 f"{row.check_scale_error:.1e}", str(row.index), f"{row.analytic:.6g}",
                 f"{row.numeric:.6g}"] for row in self.rows]

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


class _Check(NamedTuple):
    """What :func:`_numeric_gradient` measured for one array."""

    indices: np.ndarray          # checked flat indices
    analytic: np.ndarray         # the backward pass's derivatives there
    numeric: np.ndarray          # the centred differences there
    terms: float                 # largest Σ |g · f| seen while perturbing


def _numeric_gradient(name: str, array: np.ndarray, analytic: Any,
                      evaluate: Callable[[], np.ndarray], step: float, max_entries: int,
                      rng: np.random.Generator) -> _Check:
    """Centred differences of ``evaluate`` w.r.t. entries of ``array`` (perturbed in place).

    ``evaluate()`` must recompute the output from the current contents of
    ``array`` and return ``g · f`` *before* summation (an array), so that the
    two evaluations can be subtracted entry by entry.

    Returns the checked flat indices, the analytic and the numerical derivatives
    there, and the largest ``Σ |g · f|`` seen while perturbing (the size of the
    terms of L, from which the round-off floor of the array is computed).
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != array.shape:
        raise ValueError(f"the backward pass returned a gradient of shape {analytic.shape} for "
                         f"{name}, which has shape {array.shape}")
    indices = _entries_to_check(array.size, max_entries, rng)
    numeric = np.empty(indices.size)
    terms = 0.0
    for n, k in enumerate(indices):
        entry = np.unravel_index(k, array.shape)
        original = array[entry]
        array[entry] = original + step
        plus = evaluate()
        array[entry] = original - step
        minus = evaluate()
        array[entry] = original
        with np.errstate(invalid="ignore", over="ignore"):   # non-finite values fail the check
            numeric[n] = np.sum(plus - minus) / (2 * step)
            terms = float(np.maximum.reduce([terms, np.sum(np.abs(plus)),
                                             np.sum(np.abs(minus))]))
    return _Check(indices, analytic.reshape(-1)[indices], numeric, terms)


def _relative(disagreement: float, scale: float) -> float:
    """``disagreement / scale``; 0 if they agree exactly, inf if either is not finite."""
    if not (np.isfinite(disagreement) and np.isfinite(scale)):
        return float("inf")
    return 0.0 if disagreement == 0 else disagreement / scale


def _result(checks: list[tuple[str, np.ndarray, _Check]], step: float) -> GradCheckResult:
    """One row per array: its error against its own scale and against the check's scale."""
    largest = {name: float(np.max(np.maximum(np.abs(c.analytic), np.abs(c.numeric))))
               for name, _, c in checks if c.indices.size}
    check_scale = max([1e-12] + [v for v in largest.values() if np.isfinite(v)])
    rows = []
    for name, array, c in checks:
        floor = float(np.sqrt(UNIT_ROUNDOFF) * c.terms / step)
        if c.indices.size == 0:
            rows.append(GradCheckRow(name, tuple(array.shape), 0, int(array.size), 0.0, 0.0,
                                     floor, floor, (), 0.0, 0.0))
            continue
        with np.errstate(invalid="ignore"):                   # inf − inf is NaN: a failure
            difference = np.abs(c.analytic - c.numeric)
        worst = int(np.argmax(difference))                    # the first NaN, if there is one
        disagreement = float(difference[worst])
        scale = float(np.maximum(largest[name], floor))       # NaN propagates
        rows.append(GradCheckRow(
            name=name, shape=tuple(array.shape), checked=int(c.indices.size),
            total=int(array.size), max_error=_relative(disagreement, scale),
            check_scale_error=_relative(disagreement, check_scale), scale=scale, floor=floor,
            index=tuple(int(i) for i in np.unravel_index(c.indices[worst], array.shape)),
            analytic=float(c.analytic[worst]), numeric=float(c.numeric[worst])))
    return GradCheckResult(rows, check_scale)


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
                    if array is not None and grad is not None], step)


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
    return _result(checks, step)
