"""Weight initialisers: He (Kaiming) and Glorot (Xavier), normal and uniform.

For a weight of shape ``(out, in)`` (Linear) or ``(S, C, kh, kw)`` (Conv2d),
``fan_in`` is the number of inputs that feed one output (``in`` or
``C·kh·kw``) and ``fan_out`` the number of outputs one input feeds (``out`` or
``S·kh·kw``).

* He et al. (2015) keep the variance of the activations constant through ReLU
  layers: ``Var[w] = 2 / fan_in``.
* Glorot & Bengio (2010) balance the forward and backward variances of linear
  (or tanh) layers: ``Var[w] = 2 / (fan_in + fan_out)``.

A uniform distribution U(−a, a) has variance a²/3, so the uniform versions use
``a = √(3 · Var[w])``. Every function draws from ``rng``, so a seed reproduces
the array exactly, and returns the requested dtype.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import check_dtype, check_int_sequence, check_rng

__all__ = ["fan_in_and_fan_out", "he_normal", "he_uniform", "glorot_normal", "glorot_uniform",
           "tt_normal_cores", "tt_normal_std"]


def fan_in_and_fan_out(shape: Any) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``, at least 2-D."""
    shape = check_int_sequence(shape, "shape", minimum=1)
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 entries (out, in, ...), got {shape}")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _normal(shape: Any, std: float, rng: Any, dtype: Any) -> np.ndarray:
    dtype = check_dtype(dtype)
    return check_rng(rng).standard_normal(tuple(shape), dtype=dtype) * dtype.type(std)


def _uniform(shape: Any, bound: float, rng: Any, dtype: Any) -> np.ndarray:
    dtype = check_dtype(dtype)
    u = check_rng(rng).random(tuple(shape), dtype=dtype)             # U[0, 1)
    return (2 * u - 1) * dtype.type(bound)


def he_normal(shape: Any, rng: Any = None, dtype: Any = np.float32) -> np.ndarray:
    """N(0, 2 / fan_in) (He et al. 2015), for layers followed by ReLU."""
    fan_in, _ = fan_in_and_fan_out(shape)
    return _normal(shape, math.sqrt(2 / fan_in), rng, dtype)


def he_uniform(shape: Any, rng: Any = None, dtype: Any = np.float32) -> np.ndarray:
    """U(−a, a) with a = √(6 / fan_in): the variance of :func:`he_normal`."""
    fan_in, _ = fan_in_and_fan_out(shape)
    return _uniform(shape, math.sqrt(6 / fan_in), rng, dtype)


def glorot_normal(shape: Any, rng: Any = None, dtype: Any = np.float32) -> np.ndarray:
    """N(0, 2 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return _normal(shape, math.sqrt(2 / (fan_in + fan_out)), rng, dtype)


def glorot_uniform(shape: Any, rng: Any = None, dtype: Any = np.float32) -> np.ndarray:
    """U(−a, a) with a = √(6 / (fan_in + fan_out)): the variance of :func:`glorot_normal`."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return _uniform(shape, math.sqrt(6 / (fan_in + fan_out)), rng, dtype)


def tt_normal_cores(core_shapes: Any, variance: float, rng: Any = None,
                    dtype: Any = np.float32) -> list[np.ndarray]:
    """Gaussian TT cores whose reconstructed weight has a given variance, whatever the ranks.

    Every entry of a weight built from ``n`` cores with internal ranks
    ``r_1, …, r_{n-1}`` is a sum over the ``R = Π r_k`` index paths through
    the rank indices, each path a product of ``n`` independent core entries.
    With core entries ``N(0, σ²)`` the paths are uncorrelated with mean zero, so

        Var[W] = R · σ^{2n}   ⇒   σ = (Var[W] / R)^{1 / (2n)}.

    Choosing ``Var[W] = 2 / fan_in`` gives the He initialisation of the dense
    layer the TT layer replaces. The scale depends on the ranks only through
    ``R^{1/(2n)}``; the common mistakes -- scaling each core like a dense layer
    (Xavier per core), or dividing by ``R`` instead of ``√R`` -- give weights
    orders of magnitude too small or too large. (The reconstructed entries are
    not Gaussian, only their variance is matched.)

    Parameters
    ----------
    core_shapes : sequence of shapes
        Core ``k`` has shape ``(r_{k-1}, …, r_k)`` with ``r_0 = r_n = 1``.
    variance : float > 0
        Target variance of every entry of the reconstructed weight.
    rng : np.random.Generator, int seed or None
    dtype : np.float32 or np.float64

    Returns
    -------
    list of ndarray, the cores.
    """
    shapes = _check_core_shapes(core_shapes, variance)
    std = tt_normal_std(shapes, variance)
    rng = check_rng(rng)
    return [_normal(s, std, rng, dtype) for s in shapes]


def _check_core_shapes(core_shapes: Any, variance: Any) -> list[tuple[int, ...]]:
    """The core shapes as int tuples (at least one), and a positive finite ``variance``."""
    shapes = [check_int_sequence(s, f"core_shapes[{k}]", minimum=1)
              for k, s in enumerate(core_shapes)]
    if not shapes:
        raise ValueError("core_shapes must hold at least one shape")
    if not (isinstance(variance, (int, float)) and variance > 0 and math.isfinite(variance)):
        raise ValueError(f"variance must be a positive finite number, got {variance!r}")
    return shapes


def tt_normal_std(core_shapes: Any, variance: float) -> float:
    """The standard deviation σ of the core entries drawn by :func:`tt_normal_cores`.

    ``σ = (Var[W] / R)^{1 / (2n)}`` with ``n`` cores and ``R = r_1 ⋯ r_{n-1}``
    the product of the internal ranks (the last axis of every core but the last).

    Parameters
    ----------
    core_shapes : sequence of n shapes, core ``k`` of shape ``(r_{k-1}, …, r_k)``
    variance : float > 0
        Target variance of every entry of the reconstructed weight.

    Returns
    -------
    float
    """
    shapes = _check_core_shapes(core_shapes, variance)
    paths = math.prod(s[-1] for s in shapes[:-1])
    return (variance / paths) ** (1.0 / (2 * len(shapes)))
