"""Input validation shared by every public function and class of ttnet.

Each helper checks one argument and, when the argument is wrong, raises a
``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, wrong value)
whose message names the argument, says what it got and what was expected.
Public functions call these helpers at their boundary, so bad input never
crashes deep inside NumPy.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: The floating-point dtypes ttnet computes in.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def describe(value: Any) -> str:
    """Short description of a value for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def as_float_array(x: Any, name: str, *, ndim: int | None = None,
                   min_ndim: int | None = None, finite: bool = True) -> np.ndarray:
    """Return ``x`` as a float32 or float64 ndarray, or raise.

    Integer and boolean arrays become float64; float32 and float64 keep their
    dtype (no copy if ``x`` already is such an array).

    Parameters
    ----------
    x : array_like
        The value to check.
    name : str
        The argument's name, used in error messages.
    ndim, min_ndim : int, optional
        Required exact or minimum number of dimensions.
    finite : bool
        If True (default), NaN or Inf entries raise ``ValueError``.

    Raises
    ------
    TypeError
        If ``x`` is not numeric (strings, objects), is complex (the imaginary
        part is never dropped) or has a floating dtype other than float32 /
        float64.
    ValueError
        If the number of dimensions is wrong or (with ``finite``) an entry is
        NaN or Inf.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real numeric array, got {describe(x)}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and other unconvertible objects
        raise TypeError(f"{name} must be a real numeric array, got {describe(x)}: {exc}") from None
    kind = arr.dtype.kind
    if kind in "iub":
        arr = arr.astype(np.float64)
    elif kind == "f":
        if arr.dtype not in FLOAT_DTYPES:
            raise TypeError(
                f"{name} must have dtype float32 or float64, got dtype {arr.dtype}; "
                f"convert it with .astype(np.float32) or .astype(np.float64)")
    elif kind == "c":
        raise TypeError(
            f"{name} must be a real numeric array, got complex values ({describe(x)}); ttnet "
            f"never drops an imaginary part: pass {name}.real if that is what you mean")
    else:
        raise TypeError(f"{name} must be a real numeric array, got {describe(x)}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got {arr.ndim} (shape {arr.shape})")
    if min_ndim is not None and arr.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s), got {arr.ndim} (shape {arr.shape})")
    if finite:
        check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``arr`` contains NaN or Inf."""
    if not np.all(np.isfinite(arr)):
        n_nan = int(np.count_nonzero(np.isnan(arr)))
        n_inf = int(np.count_nonzero(np.isinf(arr)))
        raise ValueError(
            f"{name} must contain only finite numbers, got {n_nan} NaN and {n_inf} Inf entries")


def check_out(out: Any, name: str, shape: tuple[int, ...], dtype: Any, *,
              contiguous: bool = False) -> np.ndarray:
    """Check an array a function is asked to write its result into (an ``out=`` argument).

    It must be a writeable ndarray of exactly ``shape`` and ``dtype`` (no broadcasting, no
    casting) and, with ``contiguous``, C-contiguous (for the numba kernels that write it
    row by row). Returns ``out``.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {describe(out)}")
    strided = contiguous and not out.flags.c_contiguous
    if out.shape != tuple(shape) or out.dtype != np.dtype(dtype) or strided:
        layout = "a C-contiguous array" if contiguous else "an array"
        raise ValueError(f"{name} must be {layout} of shape {tuple(shape)} and dtype "
                         f"{np.dtype(dtype)}, got {describe(out)}"
                         + (", not C-contiguous" if strided else ""))
    if not out.flags.writeable:
        raise ValueError(f"{name} must be writeable, got a read-only array")
    return out


def check_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise ``TypeError``."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be np.float32 or np.float64, got {describe(dtype)}") from None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be np.float32 or np.float64, got {dt}")
    return dt


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as a Python int, checking type and lower bound.

    Booleans are rejected (``True`` is an int in Python, but never a sensible
    size or rank).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_int_sequence(values: Any, name: str, *, length: int | None = None,
                       minimum: int | None = 1, allow_empty: bool = False) -> tuple[int, ...]:
    """Return ``values`` as a tuple of ints, checking length and lower bound."""
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of integers, got {describe(values)}")
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {values.shape}")
    out = []
    for k, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name}[{k}] must be an integer, got {describe(v)}")
        v = int(v)
        if minimum is not None and v < minimum:
            raise ValueError(f"{name}[{k}] must be >= {minimum}, got {v} (in {name}={tuple(values)})")
        out.append(v)
    if not out and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if length is not None and len(out) != length:
        raise ValueError(f"{name} must have {length} entries, got {len(out)}: {tuple(out)}")
    return tuple(out)


def check_batch_shape(values: Any, name: str, *, length: int) -> tuple[int, ...]:
    """Return the shape of a batch, ``(B, ...)``, as a tuple of ints: ``length`` entries, the
    batch size ``B >= 0`` (an empty batch is a valid batch) and every other size ``>= 1``."""
    shape = check_int_sequence(values, name, length=length, minimum=None)
    for k, size in enumerate(shape):
        minimum = 0 if k == 0 else 1
        if size < minimum:
            raise ValueError(f"{name}[{k}] must be >= {minimum}, got {size} (in {name}={shape}; "
                             f"only the batch size {name}[0] may be 0)")
    return shape


def check_eps(eps: Any, name: str = "eps") -> float | None:
    """Check a relative accuracy: None, or a real number in [0, 1)."""
    if eps is None:
        return None
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
        raise TypeError(f"{name} must be None or a real number in [0, 1), got {describe(eps)}")
    eps = float(eps)
    if not (0.0 <= eps < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {eps}")
    return eps


def check_scalar(value: Any, name: str) -> float:
    """Check a finite real scalar (used for TT scalar multiplication)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """Return a ``np.random.Generator``: ``None`` gives a fresh one, an int seeds one."""
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"{name} as a seed must be >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be None, an int seed or a np.random.Generator, got {describe(rng)}")


def check_pair(value: Any, name: str, *, minimum: int = 1) -> tuple[int, int]:
    """Return an int or a pair of ints as a ``(height, width)`` tuple, checking the lower bound.

    Used for kernel sizes, strides and paddings: ``3`` means ``(3, 3)``.
    """
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes)):
        return check_int_sequence(value, name, length=2, minimum=minimum)  # type: ignore[return-value]
    value = check_int(value, name, minimum=minimum)
    return value, value


def check_in_range(value: Any, name: str, low: float, high: float, *,
                   include_low: bool = True, include_high: bool = True) -> float:
    """Return ``value`` as a float if it is a real number in the given interval, else raise.

    ``include_low`` / ``include_high`` choose closed or open ends, e.g. a dropout
    probability lies in ``[0, 1)``.
    """
    value = check_scalar(value, name)
    above = value >= low if include_low else value > low
    below = value <= high if include_high else value < high
    if not (above and below):
        interval = f"{'[' if include_low else '('}{low}, {high}{']' if include_high else ')'}"
        raise ValueError(f"{name} must be in {interval}, got {value}")
    return value


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a Python bool if it is ``True`` or ``False`` (or a NumPy bool), else raise.

    Integers such as ``0`` and ``1`` are rejected: a flag passed as a number is
    usually an argument in the wrong position.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {describe(value)}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of the strings ``choices``, else raise.

    The error lists every valid value, e.g.
    ``split must be one of 'train', 'test'; got 'valid'``.
    """
    valid = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {valid}; got {describe(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {valid}; got {value!r}")
    return value


def check_path(value: Any, name: str, *, allow_none: bool = False) -> Path | None:
    """Return ``value`` as a ``pathlib.Path`` (``~`` expanded) if it is a str or ``os.PathLike``.

    With ``allow_none``, ``None`` is passed through (an optional directory).
    Empty strings are rejected: ``Path("")`` silently means the current directory.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
        text = os.fspath(value)
        if isinstance(text, str) and text != "":
            return Path(text).expanduser()
        if isinstance(text, str):
            raise ValueError(f"{name} must be a non-empty path, got ''")
    expected = "a path (str or os.PathLike)" + (" or None" if allow_none else "")
    raise TypeError(f"{name} must be {expected}, got {describe(value)}")


#: Assumed memory when the operating system does not report it (1 TiB).
_UNKNOWN_MEMORY = 2 ** 40


def memory_bytes() -> int:
    """The machine's physical memory in bytes (1 TiB where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return _UNKNOWN_MEMORY


def check_allocation(n_numbers: int, dtype: Any, what: str, *, copies: int = 2,
                     at_least: bool = False) -> None:
    """Refuse, before allocating, a parameter count that cannot fit in this machine's memory.

    Parameters
    ----------
    n_numbers : int
        The number of parameters, computed arithmetically (a Python int: no overflow).
    dtype : np.float32 or np.float64
    what : str
        Names the object and the arguments that set its size, e.g.
        ``"Linear(in_features=10000000, out_features=10000000)"``; the message starts with it.
    copies : int
        How many arrays of that size are allocated (2: the parameters and their gradients).
    at_least : bool
        ``n_numbers`` is a partial count (the message says "at least").

    Raises
    ------
    ValueError
        If ``copies · n_numbers · itemsize`` exceeds the physical memory
        (:func:`memory_bytes`); the message gives the parameter count.
    """
    itemsize = np.dtype(dtype).itemsize
    needed = copies * n_numbers * itemsize
    available = memory_bytes()
    if needed > available:
        raise ValueError(
            f"{what} would have {'at least ' if at_least else ''}{n_numbers:,} parameters: "
            f"{needed / 1e9:,.4g} GB for them and their gradients in {np.dtype(dtype)}, more than "
            f"this machine's {available / 1e9:,.4g} GB of memory")
