"""Exact power-of-two rescaling, which keeps the TT computations clear of overflow and underflow.

Multiplying a binary floating-point number by ``2**e`` changes only its
exponent, so it is exact as long as the result stays in the normal range.
ttnet's TT algorithms therefore work on float64 copies whose largest entry is
brought to about 1 and carry the removed factor as an integer exponent; the
factor is put back (:func:`store_cores`) only when the result is stored.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np


def pow2_exponent(x: float) -> int:
    """The integer e with ``x · 2**-e`` in [0.5, 1) for ``x > 0``; 0 for ``x == 0``."""
    return math.frexp(x)[1] if x > 0 else 0


def max_abs(a: np.ndarray) -> float:
    """``max |a_i|`` without forming ``|a|``."""
    return float(max(a.max(), -a.min()))


def normalized(a: np.ndarray) -> tuple[np.ndarray, int]:
    """``(a · 2**-e, e)`` with ``max |a · 2**-e|`` in [0.5, 1) (``e = 0`` for a zero array).

    ``a`` must be float64; the scaling is exact (entries more than 2**1021 times
    smaller than the largest one may lose digits, which no relative bound can see).
    """
    e = pow2_exponent(max_abs(a))
    return (np.ldexp(a, -e) if e else a), e


def ldexp_float(x: float, e: int) -> float:
    """``x · 2**e`` as a Python float, ``±inf`` if it exceeds the float64 range."""
    try:
        return math.ldexp(x, e)
    except OverflowError:
        return math.copysign(math.inf, x)


def store_cores(cores: Sequence[np.ndarray], exponent: int, dtype: Any) -> list[np.ndarray]:
    """Cores in ``dtype`` that represent ``2**exponent · TT(cores)``.

    ``cores`` are float64, left-orthonormal except the last, which carries the
    norm. The factor ``2**exponent`` normally goes into the last core, so the
    result keeps that layout. If the last core's norm would then leave
    ``[sqrt(tiny), sqrt(max)]`` of ``dtype`` (float32: about ``[1e-19, 2e19]``),
    where its entries could overflow or lose digits to underflow, the
    factor is spread over all d cores instead, each getting about ``‖X‖^(1/d)``.
    Either way only exponents change, so rounding to ``dtype`` commits the same
    relative error ``u`` per entry as for a tensor of moderate size.
    """
    finfo = np.finfo(dtype)
    d = len(cores)
    total = exponent + pow2_exponent(float(np.linalg.norm(cores[-1])))  # about log2 ‖X‖_F
    low = pow2_exponent(math.sqrt(float(finfo.tiny)))
    high = pow2_exponent(math.sqrt(float(finfo.max)))
    if low <= total <= high or d == 1:
        shifts = [0] * (d - 1) + [exponent]
    else:
        per_core = total // d
        shifts = [per_core] * (d - 1) + [exponent - per_core * (d - 1)]
    return [(np.ldexp(c, s) if s else c).astype(dtype, copy=False) for c, s in zip(cores, shifts)]
