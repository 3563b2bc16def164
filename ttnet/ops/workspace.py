"""Scratch arrays kept between calls.

Large arrays cost more to allocate than to fill (the operating system zeroes
every fresh page), so layers keep their big scratch arrays in a workspace
dict and reuse them from one batch to the next.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import describe

__all__ = ["scratch", "check_workspace"]


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
