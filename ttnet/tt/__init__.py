"""The tensor-train format, from scratch in NumPy (Oseledets 2011).

* :class:`TTTensor` -- a d-dimensional array as a train of 3-D cores.
* :class:`TTMatrix` -- a matrix whose row and column indices are split into modes.
* :func:`tt_svd` -- dense array -> TT (TT-SVD, with an error bound).
* :func:`tt_round` -- TT -> TT with lower ranks (rounding, same bound).
* :func:`factorize`, :func:`max_ranks` -- choosing modes and ranks.
* :func:`achievable_eps` -- the smallest ``eps`` whose bound can be guaranteed.

This package knows nothing about neural networks.
"""

from .matrix import TTMatrix
from .modes import factorize
from .ranks import RankClippedWarning, max_ranks
from .round import orthogonalize_left_to_right, orthogonalize_right_to_left, tt_round
from .svd import (AccuracyWarning, achievable_eps, roundoff_tolerance, truncated_svd,
                  truncation_rank, tt_svd)
from .tensor import TTTensor

__all__ = [
    "TTTensor", "TTMatrix", "tt_svd", "tt_round", "factorize", "max_ranks",
    "RankClippedWarning", "AccuracyWarning", "achievable_eps", "truncation_rank", "truncated_svd",
    "roundoff_tolerance",
    "orthogonalize_left_to_right", "orthogonalize_right_to_left",
]
