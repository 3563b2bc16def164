"""The TT-matrix format (Oseledets 2010; Novikov et al. 2015, §3): :class:`TTMatrix`.

A matrix A of shape (M, N) with ``M = Π m_k`` and ``N = Π n_k`` is read as a
d-way array whose k-th index is the pair ``(i_k, j_k)``:

    A[(i_1, …, i_d), (j_1, …, j_d)] = G_1[:, i_1, j_1, :] · … · G_d[:, i_d, j_d, :]

with cores ``G_k`` of shape ``(r_{k-1}, m_k, n_k, r_k)``, ``r_0 = r_d = 1``.
The row index is ``i = ((i_1 m_2 + i_2) m_3 + i_3) …`` (row-major, first mode
most significant -- what ``np.reshape`` does), and likewise for columns.
A TT-matrix is a TT-tensor with modes ``m_k · n_k``; :meth:`TTMatrix.as_tensor`
gives that view, and rounding and norms go through it.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._checks import as_float_array, check_dtype, check_int_sequence, check_rng, check_scalar
from .svd import tt_svd
from .cores import (check_cores, core_steps_forward, interleave_axes, merge_matrix_cores,
                    tt_matrix_full_forward)
from .tensor import TTTensor


def _check_modes(row_modes: Any, col_modes: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    row_modes = check_int_sequence(row_modes, "row_modes", minimum=1)
    col_modes = check_int_sequence(col_modes, "col_modes", minimum=1)
    if len(row_modes) != len(col_modes):
        raise ValueError(
            f"row_modes and col_modes must have the same length, got {len(row_modes)} row modes "
            f"{row_modes} and {len(col_modes)} column modes {col_modes}")
    return row_modes, col_modes


class TTMatrix:
    """A matrix in the TT-matrix format.

    Parameters
    ----------
    cores : list of ndarray
        ``cores[k]`` has shape ``(r_{k-1}, m_k, n_k, r_k)``, ``r_0 = r_d = 1``, all
        float32 or all float64. Stored as given, not copied.

    Attributes
    ----------
    cores : list of ndarray
    shape : (M, N)
    row_modes, col_modes : tuple of int
        ``(m_1, …, m_d)`` and ``(n_1, …, n_d)``.
    ranks : tuple of int
        ``(1, r_1, …, r_{d-1}, 1)``.
    n_params : int
        ``Σ_k r_{k-1} m_k n_k r_k``.
    compression_ratio : float
        ``M N / n_params``.

    Examples
    --------
    >>> import numpy as np
    >>> from ttnet import TTMatrix
    >>> A = TTMatrix.random((2, 3), (4, 5), ranks=3, rng=0)
    >>> A.shape
    (6, 20)
    >>> x = np.ones(20)
    >>> bool(np.allclose(A @ x, A.full() @ x))
    True
    """

    __array_ufunc__ = None  # ``ndarray @ TTMatrix`` defers to TTMatrix.__rmatmul__

    def __init__(self, cores: Sequence[np.ndarray]):
        self._cores = check_cores(cores, "cores", 4)

    # ------------------------------------------------------------------ properties
    @property
    def cores(self) -> list[np.ndarray]:
        return list(self._cores)

    @property
    def row_modes(self) -> tuple[int, ...]:
        return tuple(c.shape[1] for c in self._cores)

    @property
    def col_modes(self) -> tuple[int, ...]:
        return tuple(c.shape[2] for c in self._cores)

    @property
    def shape(self) -> tuple[int, int]:
        return math.prod(self.row_modes), math.prod(self.col_modes)

    @property
    def ranks(self) -> tuple[int, ...]:
        return (1,) + tuple(c.shape[3] for c in self._cores)

    @property
    def ndim(self) -> int:
        """Number of cores d (the matrix itself is always 2-D)."""
        return len(self._cores)

    @property
    def dtype(self) -> np.dtype:
        return self._cores[0].dtype

    @property
    def n_params(self) -> int:
        return sum(c.size for c in self._cores)

    @property
    def compression_ratio(self) -> float:
        M, N = self.shape
        return M * N / self.n_params

    def __repr__(self) -> str:
        return (f"TTMatrix(shape={self.shape}, row_modes={self.row_modes}, "
                f"col_modes={self.col_modes}, ranks={self.ranks}, dtype={self.dtype})")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dense(cls, W: Any, row_modes: Sequence[int], col_modes: Sequence[int],
                   eps: float | None = None, max_rank: Any = None) -> "TTMatrix":
        """Compress a dense matrix into the TT-matrix format with TT-SVD.

        W (M, N) is reshaped to ``(m_1, …, m_d, n_1, …, n_d)``, its axes are
        interleaved to ``(m_1, n_1, …, m_d, n_d)`` and merged pairwise to the
        d-way array with modes ``m_k n_k``, which :func:`tt_svd` decomposes; the
        cores are then split back into ``(r_{k-1}, m_k, n_k, r_k)``. The
        guarantee is that of TT-SVD: ``‖W − A‖_F <= eps ‖W‖_F``.

        Parameters
        ----------
        W : array_like, shape (M, N)
        row_modes, col_modes : sequence of int, same length d
            With ``Π row_modes = M`` and ``Π col_modes = N``.
        eps, max_rank
            As in :func:`tt_svd` (the theoretical maximal ranks are those of
            the modes ``m_k n_k``).
        """
        W = as_float_array(W, "W", ndim=2)
        row_modes, col_modes = _check_modes(row_modes, col_modes)
        if math.prod(row_modes) != W.shape[0]:
            raise ValueError(
                f"row_modes {row_modes} multiply to {math.prod(row_modes)}, but W has "
                f"{W.shape[0]} rows (W.shape = {W.shape})")
        if math.prod(col_modes) != W.shape[1]:
            raise ValueError(
                f"col_modes {col_modes} multiply to {math.prod(col_modes)}, but W has "
                f"{W.shape[1]} columns (W.shape = {W.shape})")
        d = len(row_modes)
        merged = W.reshape(row_modes + col_modes).transpose(interleave_axes(d))
        merged = merged.reshape([m * n for m, n in zip(row_modes, col_modes)])
        tt = tt_svd(merged, eps=eps, max_rank=max_rank)
        return cls.from_tensor(tt, row_modes, col_modes)

    @classmethod
    def from_tensor(cls, tt: TTTensor, row_modes: Sequence[int],
                    col_modes: Sequence[int]) -> "TTMatrix":
        """View a TT-tensor with modes ``m_k n_k`` as a TT-matrix (cores are reshaped, not copied)."""
        if not isinstance(tt, TTTensor):
            raise TypeError(f"tt must be a TTTensor, got {type(tt).__name__}")
        row_modes, col_modes = _check_modes(row_modes, col_modes)
        expected = tuple(m * n for m, n in zip(row_modes, col_modes))
        if tt.shape != expected:
            raise ValueError(
                f"tt has shape {tt.shape}, but row_modes {row_modes} and col_modes {col_modes} "
                f"need modes m_k * n_k = {expected}")
        cores = [c.reshape(c.shape[0], m, n, c.shape[2])
                 for c, m, n in zip(tt.cores, row_modes, col_modes)]
        return cls(cores)

    @classmethod
    def random(cls, row_modes: Sequence[int], col_modes: Sequence[int], ranks: Any = None,
               rng: Any = None, dtype: Any = np.float64, *, max_rank: Any = None) -> "TTMatrix":
        """A TT-matrix with Gaussian cores whose full matrix has unit-variance entries.

        ``ranks`` are exact and ``max_rank`` is a cap, as in
        :meth:`TTTensor.random`; the theoretical maximal ranks are those of the
        modes ``m_k n_k``.
        """
        row_modes, col_modes = _check_modes(row_modes, col_modes)
        modes = tuple(m * n for m, n in zip(row_modes, col_modes))
        tt = TTTensor.random(modes, ranks, rng=check_rng(rng), dtype=check_dtype(dtype),
                             max_rank=max_rank)
        return cls.from_tensor(tt, row_modes, col_modes)

    def as_tensor(self) -> TTTensor:
        """The same cores viewed as a TT-tensor with modes ``m_k n_k`` (no copy)."""
        return TTTensor(merge_matrix_cores(self._cores))

    def copy(self) -> "TTMatrix":
        return TTMatrix([c.copy() for c in self._cores])

    def astype(self, dtype: Any) -> "TTMatrix":
        dtype = check_dtype(dtype)
        return TTMatrix([c.astype(dtype) for c in self._cores])

    # ------------------------------------------------------------------ dense view
    def full(self) -> np.ndarray:
        """The dense matrix, shape (M, N) (:func:`ttnet.tt.cores.tt_matrix_full_forward`)."""
        return tt_matrix_full_forward(self._cores)[0]

    @property
    def T(self) -> "TTMatrix":
        """The transpose: every core's two middle axes are swapped (a view, no copy)."""
        return TTMatrix([c.transpose(0, 2, 1, 3) for c in self._cores])

    # ------------------------------------------------------------------ products
    def matmul(self, x: Any) -> np.ndarray:
        """``A @ x`` for a dense vector (N,) or matrix (N, B), without forming A.

        The input is read as ``X[j_1, …, j_d, b]`` and the cores are contracted
        one at a time, each exchanging an input mode ``n_k`` for an output mode
        ``m_k``. Before step k the intermediate has shape
        ``(m_1 … m_{k-1}, r_{k-1}, n_k, n_{k+1} … n_d B)`` and step k computes

            Z[p, i_k, r_k, q] = Σ_{r_{k-1}, j_k} G_k[r_{k-1}, i_k, j_k, r_k] · Z[p, r_{k-1}, j_k, q]

        with one batched matrix product (:func:`ttnet.tt.cores.core_steps_forward`);
        all reshapes between steps are free.
        Cost ``Σ_k (m_1…m_k) r_{k-1} n_k r_k (n_{k+1}…n_d) B`` multiply-adds,
        against ``M N B`` for the dense product.

        Returns
        -------
        ndarray, shape (M,) or (M, B), dtype ``result_type(A.dtype, x.dtype)``.
        """
        x = as_float_array(x, "x", finite=False)
        M, N = self.shape
        if x.ndim not in (1, 2) or x.shape[0] != N:
            raise ValueError(f"x must have shape ({N},) or ({N}, B) to multiply a TTMatrix of "
                             f"shape {self.shape}, got shape {x.shape}")
        vector = x.ndim == 1
        B = 1 if vector else x.shape[1]
        dtype = np.result_type(self.dtype, x.dtype)
        z = x.astype(dtype, copy=False).reshape(1, 1, self.col_modes[0], -1)
        z, _ = core_steps_forward(z, [c.astype(dtype, copy=False) for c in self._cores])
        out = z.reshape(M, B)
        return out[:, 0] if vector else out

    def __matmul__(self, x: Any) -> np.ndarray:
        if isinstance(x, TTMatrix):
            raise TypeError("TTMatrix @ TTMatrix is not implemented; use A.full() @ B.full() "
                            "for small matrices")
        return self.matmul(x)

    def __rmatmul__(self, x: Any) -> np.ndarray:
        """``x @ A`` for x of shape (M,) or (B, M), computed as ``(Aᵀ @ xᵀ)ᵀ``."""
        x = as_float_array(x, "x", finite=False)
        M, N = self.shape
        if x.ndim not in (1, 2) or x.shape[-1] != M:
            raise ValueError(f"x must have shape ({M},) or (B, {M}) to multiply a TTMatrix of "
                             f"shape {self.shape} from the left, got shape {x.shape}")
        return self.T.matmul(x.T).T

    # ------------------------------------------------------------------ algebra
    def norm(self) -> float:
        """Frobenius norm, computed in TT form."""
        return self.as_tensor().norm()

    def round(self, eps: float | None = None, max_rank: Any = None) -> "TTMatrix":
        """Recompress to lower ranks (TT rounding of :meth:`as_tensor`)."""
        return TTMatrix.from_tensor(self.as_tensor().round(eps=eps, max_rank=max_rank),
                                    self.row_modes, self.col_modes)

    def _check_same_modes(self, other: Any) -> None:
        if not isinstance(other, TTMatrix):
            raise TypeError(f"other must be a TTMatrix, got {type(other).__name__}")
        if (other.row_modes, other.col_modes) != (self.row_modes, self.col_modes):
            raise ValueError(
                f"other must have row_modes {self.row_modes} and col_modes {self.col_modes}, got "
                f"{other.row_modes} and {other.col_modes}")

    def __add__(self, other: Any) -> "TTMatrix":
        if not isinstance(other, TTMatrix):
            return NotImplemented
        self._check_same_modes(other)
        return TTMatrix.from_tensor(self.as_tensor() + other.as_tensor(),
                                    self.row_modes, self.col_modes)

    def __sub__(self, other: Any) -> "TTMatrix":
        if not isinstance(other, TTMatrix):
            return NotImplemented
        return self + (-other)

    def __mul__(self, alpha: Any) -> "TTMatrix":
        if isinstance(alpha, TTMatrix):
            return NotImplemented
        try:
            alpha = check_scalar(alpha, "alpha")
        except TypeError:
            return NotImplemented
        return TTMatrix.from_tensor(self.as_tensor() * alpha, self.row_modes, self.col_modes)

    __rmul__ = __mul__

    def __neg__(self) -> "TTMatrix":
        return self * -1.0
