"""Uniform k-bit quantization of one array; fake-quantization with the straight-through estimator.

Notation (docs/quantization.md): ``w`` a float array, ``k`` the bit width (2..8),
``s > 0`` a scale, ``z`` an integer zero point.

*Symmetric* (the default): integers ``q ∈ [−Q, Q]`` with ``Q = 2^(k−1) − 1``
(a range symmetric about 0: 8 bits give [−127, 127], 2 bits the ternary
{−1, 0, 1}), ``z = 0``, and

    q = clip(round(w / s), −Q, Q),        ŵ = s · q.

*Asymmetric*: integers ``q ∈ [0, 2^k − 1]`` and

    q = clip(round(w / s) + z, 0, 2^k − 1),   ŵ = s · (q − z).

``round`` is round-half-to-even (``np.rint``). The values ŵ can take span the
*clipping range* ``[lo, hi] = [s·(q_min − z), s·(q_max − z)]``.

Scale rules (``method``), for a range ``[a, b]`` of the values being quantized
(the whole array, or one slice of it with ``axis``):

``"max"``
    Cover every value: symmetric ``s = max|w| / Q``; asymmetric, with the range
    widened to hold 0 (``a = min(min w, 0)``, ``b = max(max w, 0)``, so that 0
    is exactly representable), ``s = (b − a) / (2^k − 1)`` and
    ``z = round(−a / s)`` (rounding z can move the grid's ends by up to s/2, so
    an end value may be clipped, by less than half a step).
``"mse"``
    Shrink that range by a factor ``t`` and keep the ``t`` of the grid
    ``t = 1, 0.99, …, 0.2`` (81 values, :data:`MSE_GRID`) with the smallest
    squared error ``Σ (w − ŵ_t)²``: clipping a few large values costs less than
    the coarser steps that covering them forces on all the others.

A scale of 0 (an all-zero slice) is replaced by 1, which quantizes it exactly.

Fake-quantization (:func:`fake_quantize_forward`) returns ŵ in the input's
dtype. Its true derivative is zero almost everywhere (ŵ is a staircase), so
training uses the *straight-through estimator* (STE) in
:func:`fake_quantize_backward`: the scale and zero point are treated as
constants and rounding as the identity, which leaves

    ∂L/∂w = ∂L/∂ŵ · 1[lo <= w <= hi]

— the gradient passes inside the clipping range and is zero outside. It is the
exact derivative of the surrogate ``clip(w, lo, hi)`` (:func:`clip_surrogate`),
which the tests gradient-check away from the clipping edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._checks import as_float_array, check_bool, check_choice, describe

__all__ = ["BITS", "METHODS", "MSE_GRID", "QuantParams", "check_bits", "choose_qparams",
           "quantize", "dequantize", "fake_quantize", "fake_quantize_forward",
           "fake_quantize_backward", "clip_surrogate", "quantization_error"]

#: The bit widths ttnet quantizes to.
BITS = tuple(range(2, 9))
#: The scale rules.
METHODS = ("max", "mse")
#: Range-shrinking factors tried by the ``"mse"`` rule, largest first.
MSE_GRID = np.linspace(1.0, 0.2, 81)


def check_bits(bits: Any, name: str = "bits") -> int:
    """``bits`` as an int in 2..8, or a ValueError / TypeError naming ``name``."""
    if isinstance(bits, (bool, np.bool_)) or not isinstance(bits, (int, np.integer)):
        raise TypeError(f"{name} must be an integer from 2 to 8, got {describe(bits)}")
    if not 2 <= int(bits) <= 8:
        raise ValueError(f"{name} must be an integer from 2 to 8, got {int(bits)}")
    return int(bits)


@dataclass(frozen=True)
class QuantParams:
    """How one array is quantized.

    Attributes
    ----------
    bits : int
        k, 2..8.
    symmetric : bool
    axis : int or None
        None: one scale for the whole array; an int: one scale per slice along
        this axis (e.g. 0, per output channel of a dense weight).
    scale : ndarray of float32
        Shape ``()`` per-tensor, else the array's shape with every axis but
        ``axis`` of length 1 (so it broadcasts against the array).
    zero_point : ndarray of int32
        Same shape as ``scale``; all zero when symmetric.
    """

    bits: int
    symmetric: bool
    axis: int | None
    scale: np.ndarray
    zero_point: np.ndarray

    @property
    def qmin(self) -> int:
        return -(2 ** (self.bits - 1) - 1) if self.symmetric else 0

    @property
    def qmax(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.symmetric else 2 ** self.bits - 1

    @property
    def clip_range(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi) = (s·(q_min − z), s·(q_max − z))``, broadcastable against the array."""
        s = self.scale.astype(np.float64)
        return s * (self.qmin - self.zero_point), s * (self.qmax - self.zero_point)

    @property
    def n_scales(self) -> int:
        """Number of scales (1 per tensor, or one per slice)."""
        return int(self.scale.size)


def _reduce_axes(ndim: int, axis: int | None) -> tuple[int, ...]:
    return tuple(a for a in range(ndim) if a != axis) if axis is not None else tuple(range(ndim))


def _params_for_range(low: np.ndarray, high: np.ndarray, bits: int, symmetric: bool
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero point whose grid covers ``[low, high]`` (``max`` rule formulas)."""
    if symmetric:
        qmax = 2 ** (bits - 1) - 1
        scale = np.maximum(np.abs(low), np.abs(high)) / qmax
        zero = np.zeros(scale.shape, dtype=np.int64)
    else:
        levels = 2 ** bits - 1
        low, high = np.minimum(low, 0.0), np.maximum(high, 0.0)
        scale = (high - low) / levels
        safe = np.where(scale > 0, scale, 1.0)
        zero = np.clip(np.rint(-low / safe), 0, levels).astype(np.int64)
    scale = np.where(scale > 0, scale, 1.0)
    return scale, zero


def _fake(w: np.ndarray, scale: np.ndarray, zero: np.ndarray, qmin: int, qmax: int) -> np.ndarray:
    return scale * (np.clip(np.rint(w / scale) + zero, qmin, qmax) - zero)


def _mse_search(w64: np.ndarray, axis: int | None, low: np.ndarray, high: np.ndarray, bits: int,
                symmetric: bool, qmin: int, qmax: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``"mse"`` rule: for each slice, the ``t`` of :data:`MSE_GRID` (the first one
    on ties) whose grid for ``[t·a, t·b]`` gives the smallest ``Σ (w − ŵ_t)²``.

    ``low``/``high`` (keepdims shape) are the slices' ``a``/``b``. The slices are laid
    out as the rows of one matrix and a single scratch array is reused for every ``t``
    (the same float64 arithmetic as :func:`_fake`, without a fresh temporary per step).
    """
    rows = (np.moveaxis(w64, axis, 0).reshape(w64.shape[axis], -1) if axis is not None
            else w64.reshape(1, -1))
    shape = low.shape
    low, high = low.reshape(-1, 1), high.reshape(-1, 1)
    buf = np.empty_like(rows)
    best_err = best_scale = best_zero = None
    for t in MSE_GRID:
        s_t, z_t = _params_for_range(t * low, t * high, bits, symmetric)
        np.divide(rows, s_t, out=buf)
        np.rint(buf, out=buf)
        buf += z_t
        np.clip(buf, qmin, qmax, out=buf)
        buf -= z_t
        buf *= s_t
        np.subtract(rows, buf, out=buf)
        err = np.einsum("ij,ij->i", buf, buf)[:, None]
        if best_err is None:
            best_err, best_scale, best_zero = err, s_t, z_t
        else:
            better = err < best_err
            best_err = np.where(better, err, best_err)
            best_scale = np.where(better, s_t, best_scale)
            best_zero = np.where(better, z_t, best_zero)
    return best_scale.reshape(shape), best_zero.reshape(shape)


def choose_qparams(w: Any, bits: int, *, symmetric: bool = True, axis: int | None = None,
                   method: str = "max") -> QuantParams:
    """Scale (and zero point) of ``w`` at ``bits`` bits by the rule ``method``.

    Parameters
    ----------
    w : float array, any shape
    bits : int in 2..8
    symmetric : bool
    axis : int or None
        One scale per slice along ``axis`` (None: one for the whole array).
    method : ``"max"`` or ``"mse"`` (module docstring)

    Returns
    -------
    QuantParams
    """
    w = as_float_array(w, "w")
    bits = check_bits(bits)
    symmetric = check_bool(symmetric, "symmetric")
    method = check_choice(method, "method", METHODS)
    if axis is not None:
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not (
                -w.ndim <= axis < w.ndim):
            raise ValueError(f"axis must be None or an axis of w (ndim {w.ndim}), got {axis!r}")
        axis = int(axis) % w.ndim
    if w.size == 0:
        raise ValueError("w must not be empty")
    w64 = w.astype(np.float64)
    axes = _reduce_axes(w.ndim, axis)
    low = w64.min(axis=axes, keepdims=True)
    high = w64.max(axis=axes, keepdims=True)
    qmin = -(2 ** (bits - 1) - 1) if symmetric else 0
    qmax = 2 ** (bits - 1) - 1 if symmetric else 2 ** bits - 1
    if method == "max":
        scale, zero = _params_for_range(low, high, bits, symmetric)
    else:
        scale, zero = _mse_search(w64, axis, low, high, bits, symmetric, qmin, qmax)
    if axis is None:
        scale, zero = scale.reshape(()), zero.reshape(())
    return QuantParams(bits, symmetric, axis, np.asarray(scale, dtype=np.float32),
                       np.asarray(zero, dtype=np.int32))


def _check_qparams(qp: Any) -> QuantParams:
    if not isinstance(qp, QuantParams):
        raise TypeError(f"qparams must be a QuantParams (from choose_qparams), got "
                        f"{describe(qp)}")
    return qp


def quantize(w: Any, qparams: QuantParams) -> np.ndarray:
    """``q = clip(round(w/s) + z, q_min, q_max)``: int8 (symmetric grid) or uint8 (asymmetric)."""
    w = as_float_array(w, "w")
    qp = _check_qparams(qparams)
    s = qp.scale.astype(np.float64)
    q = np.clip(np.rint(w.astype(np.float64) / s) + qp.zero_point, qp.qmin, qp.qmax)
    return q.astype(np.int8 if qp.symmetric else np.uint8)


def dequantize(q: Any, qparams: QuantParams, dtype: Any = np.float32) -> np.ndarray:
    """``ŵ = s · (q − z)`` in ``dtype``."""
    qp = _check_qparams(qparams)
    q = np.asarray(q)
    if not np.issubdtype(q.dtype, np.integer):
        raise TypeError(f"q must be an integer array, got {describe(q)}")
    out = qp.scale.astype(np.float64) * (q.astype(np.float64) - qp.zero_point)
    return out.astype(dtype)


def fake_quantize_forward(w: Any, bits: int, *, symmetric: bool = True, axis: int | None = None,
                          method: str = "max") -> tuple[np.ndarray, dict[str, Any]]:
    """ŵ = dequantize(quantize(w)) with fresh parameters; returns ``(ŵ, cache)``.

    ŵ has ``w``'s shape and dtype. The cache holds the STE mask
    ``1[lo <= w <= hi]`` and the :class:`QuantParams`.
    """
    w = as_float_array(w, "w")
    qp = choose_qparams(w, bits, symmetric=symmetric, axis=axis, method=method)
    lo, hi = qp.clip_range
    w64 = w.astype(np.float64)
    out = _fake(w64, qp.scale.astype(np.float64), qp.zero_point, qp.qmin, qp.qmax)
    mask = (w64 >= lo) & (w64 <= hi)
    return out.astype(w.dtype), {"mask": mask, "qparams": qp, "shape": w.shape, "dtype": w.dtype}


def fake_quantize_backward(dout: Any, cache: dict[str, Any]) -> np.ndarray:
    """Straight-through estimator: ``∂L/∂w = ∂L/∂ŵ · 1[lo <= w <= hi]``."""
    dout = as_float_array(dout, "dout", finite=False)
    if dout.shape != cache["shape"]:
        raise ValueError(f"dout must have the shape of w {cache['shape']}, got {dout.shape}")
    return np.where(cache["mask"], dout, 0).astype(cache["dtype"])


def fake_quantize(w: Any, bits: int, **kwargs: Any) -> np.ndarray:
    """ŵ of :func:`fake_quantize_forward` without the cache."""
    return fake_quantize_forward(w, bits, **kwargs)[0]


def clip_surrogate(w: Any, qparams: QuantParams) -> tuple[np.ndarray, dict[str, Any]]:
    """``clip(w, lo, hi)`` with ``qparams`` fixed: the function whose exact derivative the STE is.

    Returns ``(out, cache)`` for :func:`fake_quantize_backward`, so the pair can be
    gradient-checked (:func:`ttnet.gradcheck.check_function`).
    """
    w = as_float_array(w, "w")
    qp = _check_qparams(qparams)
    lo, hi = qp.clip_range
    w64 = w.astype(np.float64)
    return (np.clip(w64, lo, hi).astype(w.dtype),
            {"mask": (w64 >= lo) & (w64 <= hi), "qparams": qp, "shape": w.shape,
             "dtype": w.dtype})


def quantization_error(w: Any, bits: int, **kwargs: Any) -> float:
    """Relative error ``‖w − ŵ‖_F / ‖w‖_F`` of :func:`fake_quantize` (0 for w = 0)."""
    w = as_float_array(w, "w").astype(np.float64)
    norm = np.linalg.norm(w)
    err = np.linalg.norm(w - fake_quantize(w, bits, **kwargs))
    return float(err / norm) if norm > 0 else float(err)
