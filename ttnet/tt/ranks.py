"""TT-ranks: the theoretical maximal ranks of a format and the parsing of rank arguments.

One rank sits on every bond between neighbouring cores; with d cores the full
rank tuple is ``(1, r_1, …, r_{d-1}, 1)`` (the layout of ``TTTensor.ranks``).
:func:`max_ranks` gives the largest ranks a format can need, :func:`resolve_ranks`
turns a user's rank argument into that tuple (clipping with a
:class:`RankClippedWarning`), and :func:`user_stacklevel` attributes such a
warning to the user's line.
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any, Sequence

from .._checks import check_int, check_int_sequence

__all__ = ["RankClippedWarning", "max_ranks", "resolve_ranks", "user_stacklevel"]


class RankClippedWarning(UserWarning):
    """A requested TT-rank was above its theoretical maximum and was lowered to it."""


def user_stacklevel() -> int:
    """``stacklevel`` that attributes a warning to the first caller outside ttnet."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("ttnet."):
        level += 1
        frame = frame.f_back
    return level


def max_ranks(modes: Sequence[int]) -> tuple[int, ...]:
    """Theoretical maximal TT-ranks of a tensor with the given mode sizes.

    The k-th TT-rank is the rank of the k-th unfolding, a matrix of size
    ``(n_1 … n_k) × (n_{k+1} … n_d)``, so it can never exceed
    ``min(n_1 … n_k, n_{k+1} … n_d)`` (Oseledets 2011, Theorem 2.1).

    Parameters
    ----------
    modes : sequence of int
        Mode sizes ``(n_1, …, n_d)``, each >= 1. For a TT-matrix pass the
        products ``m_k · n_k``.

    Returns
    -------
    tuple of d + 1 ints ``(1, R_1, …, R_{d-1}, 1)`` (same layout as ``TTTensor.ranks``).
    """
    modes = check_int_sequence(modes, "modes", minimum=1)
    total = math.prod(modes)
    out = [1]
    left = 1
    for n_k in modes[:-1]:
        left *= n_k
        out.append(min(left, total // left))
    out.append(1)
    return tuple(out)


def resolve_ranks(ranks: Any, modes: Sequence[int], name: str = "ranks") -> tuple[int, ...]:
    """Turn a rank argument into the full rank tuple ``(1, r_1, …, r_{d-1}, 1)``.

    Parameters
    ----------
    ranks : int, sequence of int or None
        ``None``: the theoretical maximum at every bond. An int ``r``: every
        internal rank is ``min(r, maximum)`` -- a cap, lowered silently where a
        bond cannot hold it. A sequence: either the ``d - 1`` internal ranks or
        the full ``d + 1`` tuple with 1 at both ends; an entry above the
        theoretical maximum is lowered to it with a :class:`RankClippedWarning`.
    modes : sequence of int
        Mode sizes (for TT-matrices, the products ``m_k · n_k``).
    name : str
        Argument name for error messages.

    Raises
    ------
    TypeError, ValueError
        On a non-integer rank, a rank < 1, the wrong number of ranks, or a full
        tuple whose end entries are not 1.
    """
    d = len(modes)
    upper = max_ranks(modes)
    if ranks is None:
        return upper
    if not isinstance(ranks, (Sequence,)) or isinstance(ranks, (str, bytes)):
        try:
            r = check_int(ranks, name, minimum=1)
        except TypeError:
            raise TypeError(
                f"{name} must be None, an int or a sequence of ints, got {ranks!r}") from None
        return (1,) + tuple(min(r, u) for u in upper[1:-1]) + (1,)
    values = check_int_sequence(ranks, name, minimum=1, allow_empty=True)
    if len(values) == d + 1:
        if values[0] != 1 or values[-1] != 1:
            raise ValueError(
                f"{name} given as a full tuple of {d + 1} ranks must start and end with 1, "
                f"got {values}")
        internal = values[1:-1]
    elif len(values) == d - 1:
        internal = values
    else:
        raise ValueError(
            f"{name} must hold {d - 1} internal ranks (or the full tuple of {d + 1} with 1 at "
            f"both ends) for {d} modes {tuple(modes)}, got {len(values)}: {values}")
    too_big = [(k + 1, r, u) for k, (r, u) in enumerate(zip(internal, upper[1:-1])) if r > u]
    if too_big:
        detail = ", ".join(f"r_{k} = {r} > {u}" for k, r, u in too_big)
        warnings.warn(
            f"{name}: requested rank above the theoretical maximum {upper} for modes "
            f"{tuple(modes)} ({detail}); clipped to the maximum",
            RankClippedWarning, stacklevel=user_stacklevel())
        internal = tuple(min(r, u) for r, u in zip(internal, upper[1:-1]))
    return (1,) + tuple(internal) + (1,)
