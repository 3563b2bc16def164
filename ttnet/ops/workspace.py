"""Scratch arrays kept between calls.

Large arrays cost more to allocate than to fill (the operating system zeroes
every fresh page), so layers keep their big scratch arrays in a workspace
dict and reuse them from one batch to the next (:func:`scratch`), and the
optimisers and the EMA keep one temporary for the updates of all their
parameters (:func:`scratch_prefix`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import describe

__all__ = ["scratch", "scratch_prefix", "check_workspace"]


def check_workspace(workspace: Any) -> None:
    """Raise ``TypeError`` unless ``workspace`` is a dict or None (checked at the public
    entry points that take one, before :func:`scratch` uses it)."""
    if workspace is not None and not isinstance(workspace, dict):
        raise TypeError(f"workspace must be a dict or None, got {describe(workspace)}")


def scratch(workspace: dict | None, name: str, shape: tuple[int, ...],
            dtype: np.dtype) -> np.ndarray:
    """An uninitialised array: ``workspace[name]`` if it has this shape and dtype, else a new one.

    With ``workspace=None`` a new array every call. The caller fills it before
    reading it; an array it returns (or keeps in a cache) is valid until the
    next call with the same workspace and name.
    """
    if workspace is None:
        return np.empty(shape, dtype=dtype)
    buffer = workspace.get(name)
    if buffer is None or buffer.shape != shape or buffer.dtype != dtype:
        buffer = workspace[name] = np.empty(shape, dtype=dtype)
    return buffer


def scratch_prefix(workspace: dict, name: str, shape: tuple[int, ...],
                   dtype: np.dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` laid over the start of one flat buffer per dtype.

    For a loop over arrays of many shapes that needs one temporary at a time (an
    optimiser's update of each parameter): the buffer, ``workspace[f"{name}/{dtype}"]``,
    grows to the largest request and is then reused, so the loop allocates nothing
    after its first pass, and keeps one temporary of the largest size rather than
    one per shape. Valid until the next call with the same workspace, name and dtype.

    Raises
    ------
    TypeError
        If ``workspace`` is not a dict (unlike :func:`scratch`, there is no ``None``: the
        point of this function is the reuse).
    """
    if not isinstance(workspace, dict):
        raise TypeError(f"workspace must be a dict, got {describe(workspace)}")
    dtype = np.dtype(dtype)
    size, key = math.prod(shape), f"{name}/{dtype}"
    buffer = workspace.get(key)
    if buffer is None or buffer.size < size:
        buffer = workspace[key] = np.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)
