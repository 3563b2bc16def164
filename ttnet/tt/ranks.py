"""TT-ranks: the one parser of rank arguments, and the theoretical maximal ranks of a format.

Vocabulary (the same everywhere in ttnet; the numbering table is in docs/notation.md):

* ``ranks`` -- **exact** internal ranks: the sizes of the bonds between neighbouring
  cores. A chain of ``c`` cores has ``c - 1`` internal bonds.
* ``max_rank`` -- a **cap** on those ranks (TT-SVD, rounding, the ``from_*``
  compressions): a rank never exceeds it, and may be smaller.
* ``X.ranks`` / ``layer.ranks`` -- the full tuple ``(1, …, 1)`` of ``c + 1`` bond
  sizes, counted by position: core ``k`` (``cores[k]``, parameter ``core{k}``) has
  shape ``(ranks[k], …, ranks[k + 1])``.

:func:`internal_ranks` is the one parser: an int or a sequence in, the tuple of
internal ranks out, with errors that name the argument. :func:`resolve_ranks`
turns a cap into the full tuple of caps for given modes; :func:`exact_ranks`
checks exact ranks against what the modes allow; :func:`max_ranks` gives that
limit; :func:`renamed_cap` serves the old ``ranks=`` keyword of the ``from_*``
constructors for one release.
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings
from typing import Any, Sequence

import numpy as np

from .._checks import check_int, check_int_sequence

__all__ = ["RankClippedWarning", "internal_ranks", "max_ranks", "resolve_ranks", "exact_ranks",
           "renamed_cap", "user_stacklevel"]


class RankClippedWarning(UserWarning):
    """A per-bond cap (``max_rank``) was above its theoretical maximum and was lowered to it."""


def user_stacklevel() -> int:
    """``stacklevel`` that attributes a warning to the first caller outside ttnet."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("ttnet."):
        level += 1
        frame = frame.f_back
    return level


def internal_ranks(ranks: Any, n_bonds: int, name: str = "ranks") -> tuple[int, ...]:
    """The one rank parser: a rank argument as the tuple of ``n_bonds`` internal ranks.

    Parameters
    ----------
    ranks : int or sequence of ints
        An int ``r``: ``r`` at every bond. A sequence: the ``n_bonds`` internal
        ranks, or the full tuple of ``n_bonds + 2`` with 1 at both ends (what
        ``X.ranks`` and ``layer.ranks`` return).
    n_bonds : int
        Number of internal bonds: the number of cores minus one.
    name : str
        The argument's name in error messages (e.g. ``"max_rank"``, ``"conv_ranks[2]"``).

    Returns
    -------
    tuple of ``n_bonds`` ints, each >= 1.

    Raises
    ------
    TypeError
        ``ranks`` is neither an int nor a sequence of ints.
    ValueError
        A rank < 1, the wrong number of ranks, or a full tuple not starting and
        ending with 1.
    """
    if isinstance(ranks, (Sequence, np.ndarray)) and not isinstance(ranks, (str, bytes)):
        values = check_int_sequence(ranks, name, minimum=1, allow_empty=True)
        if len(values) == n_bonds + 2 and n_bonds + 2 > 0:
            if values[0] != 1 or values[-1] != 1:
                raise ValueError(f"{name} given as the full tuple of {n_bonds + 2} ranks must "
                                 f"start and end with 1, got {values}")
            return values[1:-1]
        if len(values) != n_bonds:
            raise ValueError(f"{name} must have {n_bonds} entries (the internal ranks), or "
                             f"{n_bonds + 2} for the full tuple with 1 at both ends; got "
                             f"{len(values)}: {values}")
        return values
    if isinstance(ranks, (bool, np.bool_)) or not isinstance(ranks, numbers.Integral):
        raise TypeError(f"{name} must be an int or a sequence of {n_bonds} ints, got {ranks!r}")
    return (check_int(ranks, name, minimum=1),) * n_bonds


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


def resolve_ranks(max_rank: Any, modes: Sequence[int], name: str = "max_rank") -> tuple[int, ...]:
    """Turn a cap into the full tuple of caps ``(1, c_1, …, c_{d-1}, 1)`` for ``modes``.

    Parameters
    ----------
    max_rank : int, sequence of int or None
        ``None``: the theoretical maximum at every bond (no cap). An int ``r``:
        ``min(r, maximum)`` at every bond -- lowered silently where a bond
        cannot hold it. A sequence (parsed by :func:`internal_ranks`): one cap
        per bond; an entry above the theoretical maximum is lowered to it with a
        :class:`RankClippedWarning`.
    modes : sequence of int
        Mode sizes (for TT-matrices, the products ``m_k · n_k``).
    name : str
        Argument name for error messages.
    """
    upper = max_ranks(modes)
    if max_rank is None:
        return upper
    caps = internal_ranks(max_rank, len(modes) - 1, name)
    if isinstance(max_rank, numbers.Integral):
        return (1,) + tuple(min(c, u) for c, u in zip(caps, upper[1:-1])) + (1,)
    too_big = [(k + 1, c, u) for k, (c, u) in enumerate(zip(caps, upper[1:-1])) if c > u]
    if too_big:
        detail = ", ".join(f"r_{k} = {c} > {u}" for k, c, u in too_big)
        warnings.warn(
            f"{name}: requested rank above the theoretical maximum {upper} for modes "
            f"{tuple(modes)} ({detail}); clipped to the maximum",
            RankClippedWarning, stacklevel=user_stacklevel())
    return (1,) + tuple(min(c, u) for c, u in zip(caps, upper[1:-1])) + (1,)


def exact_ranks(ranks: Any, modes: Sequence[int], name: str = "ranks") -> tuple[int, ...]:
    """Exact internal ranks for ``modes`` as the full tuple ``(1, r_1, …, r_{d-1}, 1)``.

    A rank above the theoretical maximum (:func:`max_ranks`) cannot be exact.
    Until the next release such a rank is still lowered to the maximum, with a
    :class:`DeprecationWarning` that names the bond and suggests ``max_rank=``
    (the cap); after it, it will raise ValueError.
    """
    upper = max_ranks(modes)
    values = internal_ranks(ranks, len(modes) - 1, name)
    too_big = [(k + 1, r, u) for k, (r, u) in enumerate(zip(values, upper[1:-1])) if r > u]
    if too_big:
        detail = ", ".join(f"bond {k} (between cores[{k - 1}] and cores[{k}]) holds at most "
                           f"{u}, got {r}" for k, r, u in too_big)
        warnings.warn(
            f"{name}={ranks!r} asks for ranks the modes {tuple(modes)} cannot hold: {detail}. "
            f"ranks are exact: pass max_rank={ranks!r} for a cap. Lowered to the maximum for "
            f"now; from the next release this raises ValueError",
            DeprecationWarning, stacklevel=user_stacklevel())
    return (1,) + tuple(min(r, u) for r, u in zip(values, upper[1:-1])) + (1,)


def renamed_cap(max_rank: Any, ranks: Any, where: str) -> Any:
    """The cap of a ``from_*`` constructor, taking the old keyword ``ranks=`` for one release.

    ``ranks`` (not None) is the old name of ``max_rank``: it is returned with a
    :class:`DeprecationWarning`. Giving both is a TypeError.
    """
    if ranks is None:
        return max_rank
    if max_rank is not None:
        raise TypeError(f"{where}: got max_rank={max_rank!r} and ranks={ranks!r}; pass only "
                        f"max_rank (ranks is its old name)")
    warnings.warn(f"{where}(ranks=...) is deprecated: the cap is called max_rank (ranks always "
                  f"means exact ranks); pass max_rank={ranks!r}. ranks= will be removed in the "
                  f"next release", DeprecationWarning, stacklevel=user_stacklevel())
    return ranks
