"""The tensor-train format for a d-dimensional array: :class:`TTTensor`.

A TT-tensor X of shape ``(n_1, …, n_d)`` stores d cores ``G_k`` of shape
``(r_{k-1}, n_k, r_k)`` with ``r_0 = r_d = 1``, and represents

    X[i_1, …, i_d] = G_1[:, i_1, :] · G_2[:, i_2, :] · … · G_d[:, i_d, :]

(a product of ``r_{k-1} × r_k`` matrices; Oseledets 2011, eq. 1.2). It stores
``Σ_k r_{k-1} n_k r_k`` numbers instead of ``Π_k n_k``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from .._checks import as_float_array, check_dtype, check_int_sequence, check_rng, check_scalar
from ._scaling import ldexp_float, normalized
from .cores import check_cores, tt_full_forward
from .ranks import exact_ranks, resolve_ranks


class TTTensor:
    """A d-dimensional array in the tensor-train (TT) format.

    Parameters
    ----------
    cores : list of ndarray
        ``cores[k]`` has shape ``(r_{k-1}, n_k, r_k)`` with ``r_0 = r_d = 1``;
        all float32 or all float64 (integer cores become float64). The arrays
        are stored as given, not copied.

    Attributes
    ----------
    cores : list of ndarray
        The core arrays (a new list holding the same array objects).
    shape : tuple of int
        ``(n_1, …, n_d)``.
    ranks : tuple of int
        ``(1, r_1, …, r_{d-1}, 1)``.
    ndim : int
        d, the number of cores.
    n_params : int
        ``Σ_k r_{k-1} n_k r_k``.
    compression_ratio : float
        ``Π_k n_k / n_params``.

    Examples
    --------
    >>> import numpy as np
    >>> from ttnet import TTTensor
    >>> X = TTTensor.random((4, 5, 6), ranks=2, rng=0)
    >>> X.shape, X.ranks
    ((4, 5, 6), (1, 2, 2, 1))
    >>> bool(np.isclose(X.norm(), np.linalg.norm(X.full())))
    True
    """

    __array_ufunc__ = None  # make ``ndarray * TTTensor`` defer to TTTensor.__rmul__

    def __init__(self, cores: Sequence[np.ndarray]):
        self._cores = check_cores(cores, "cores", 3)

    # ------------------------------------------------------------------ properties
    @property
    def cores(self) -> list[np.ndarray]:
        return list(self._cores)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(c.shape[1] for c in self._cores)

    @property
    def ranks(self) -> tuple[int, ...]:
        return (1,) + tuple(c.shape[2] for c in self._cores)

    @property
    def ndim(self) -> int:
        return len(self._cores)

    @property
    def dtype(self) -> np.dtype:
        return self._cores[0].dtype

    @property
    def n_params(self) -> int:
        return sum(c.size for c in self._cores)

    @property
    def compression_ratio(self) -> float:
        return math.prod(self.shape) / self.n_params

    def __repr__(self) -> str:
        return f"TTTensor(shape={self.shape}, ranks={self.ranks}, dtype={self.dtype})"

    # ------------------------------------------------------------------ construction
    @classmethod
    def random(cls, shape: Sequence[int], ranks: Any = None, rng: Any = None,
               dtype: Any = np.float64, *, max_rank: Any = None) -> "TTTensor":
        """A TT-tensor with independent Gaussian cores.

        Core k has entries ``N(0, 1 / r_{k-1})``, so every entry of the full
        tensor has mean 0 and variance ``Π_k r_k / Π_k r_{k-1} = 1`` (the sum
        over the ``Π r_k`` index paths telescopes), whatever the ranks.

        Parameters
        ----------
        shape : sequence of int
            Mode sizes ``(n_1, …, n_d)``.
        ranks : int or sequence of int, optional
            The exact internal ranks ``(r_1, …, r_{d-1})`` (one int for every
            bond, the ``d - 1`` ranks, or the full tuple with 1 at both ends;
            :func:`ttnet.tt.ranks.internal_ranks`). A rank above the
            theoretical maximum (:func:`ttnet.tt.max_ranks`) is lowered to it
            with a ``DeprecationWarning``; from the next release it raises.
        rng : np.random.Generator, int or None
            Source of randomness (an int is a seed).
        dtype : np.float32 or np.float64
        max_rank : int or sequence of int, optional (keyword only)
            A cap instead of exact ranks: every rank is ``min(max_rank,
            maximum)`` (:func:`ttnet.tt.ranks.resolve_ranks`). With neither
            ``ranks`` nor ``max_rank`` the ranks are the theoretical maxima.
        """
        shape = check_int_sequence(shape, "shape", minimum=1)
        if ranks is not None and max_rank is not None:
            raise TypeError(f"pass ranks (exact) or max_rank (a cap), not both; got "
                            f"ranks={ranks!r}, max_rank={max_rank!r}")
        if ranks is not None:
            full_ranks = exact_ranks(ranks, shape, "ranks")
        else:
            full_ranks = resolve_ranks(max_rank, shape, "max_rank")
        rng = check_rng(rng)
        dtype = check_dtype(dtype)
        cores = []
        for k, n_k in enumerate(shape):
            r0, r1 = full_ranks[k], full_ranks[k + 1]
            core = rng.standard_normal((r0, n_k, r1)) / math.sqrt(r0)
            cores.append(core.astype(dtype))
        return cls(cores)

    def copy(self) -> "TTTensor":
        """A deep copy (the cores are copied)."""
        return TTTensor([c.copy() for c in self._cores])

    def astype(self, dtype: Any) -> "TTTensor":
        """A copy with cores cast to ``dtype`` (np.float32 or np.float64)."""
        dtype = check_dtype(dtype)
        return TTTensor([c.astype(dtype) for c in self._cores])

    # ------------------------------------------------------------------ dense view
    def full(self) -> np.ndarray:
        """The dense array, shape ``(n_1, …, n_d)``.

        Contracts the cores left to right (:func:`ttnet.tt.cores.tt_full_forward`):
        after step k the partial product is a matrix of shape ``(n_1 … n_k, r_k)``. Memory is that of the result, so
        only call this on tensors that fit in memory.
        """
        return tt_full_forward(self._cores)[0].reshape(self.shape)

    # ------------------------------------------------------------------ algebra
    def dot(self, other: "TTTensor") -> float:
        """Inner product ``Σ_i X[i] Y[i]`` computed in TT form.

        Sweeps left to right carrying the ``r_k × r'_k`` matrix
        ``Φ_k = Σ_{i_1..i_k} (G_1[i_1]…G_k[i_k])ᵀ (H_1[i_1]…H_k[i_k])``;
        cost ``O(d n r³)``, the dense tensor is never formed. Computed in
        float64, with every core and every ``Φ_k`` rescaled by a power of two
        to a largest entry of about 1 (the scale is carried as an exponent), so
        no intermediate product can overflow or underflow; the result is
        ``±inf`` only if the inner product itself exceeds the float64 range.
        """
        self._check_same_shape(other, "other")
        phi, exponent = np.ones((1, 1)), 0
        for g, h in zip(self._cores, other._cores):
            g, eg = normalized(g.astype(np.float64))
            h, eh = normalized(h.astype(np.float64))
            # phi (a, b), g (a, n, c), h (b, n, e) -> (c, e)
            t = np.tensordot(phi, g, axes=(0, 0))          # (b, n, c)
            phi, ep = normalized(np.tensordot(t, h, axes=([0, 1], [0, 1])))  # (c, e)
            exponent += eg + eh + ep
        return ldexp_float(float(phi[0, 0]), exponent)

    def norm(self) -> float:
        """Frobenius norm ``‖X‖_F``, computed in TT form.

        Orthogonalises the cores left to right with QR (Oseledets 2011,
        Algorithm 2); the norm is then that of the last core. This is more
        accurate than ``sqrt(X.dot(X))`` (no squaring) and never forms the
        dense tensor. Computed in float64 with power-of-two rescaling of the
        cores (:func:`ttnet.tt.round.orthogonalized`), so it is finite whenever
        the norm fits in float64, e.g. for float32 cores whose norm exceeds the
        float32 range.
        """
        from .round import orthogonalized  # local import: round imports this module

        cores, exponent = orthogonalized(self._cores, left_to_right=True)
        return ldexp_float(float(np.linalg.norm(cores[-1].ravel())), exponent)

    def round(self, eps: float | None = None, max_rank: Any = None) -> "TTTensor":
        """Recompress to lower ranks; see :func:`ttnet.tt.round.tt_round`."""
        from .round import tt_round  # local import: round imports this module

        return tt_round(self, eps=eps, max_rank=max_rank)

    def __add__(self, other: Any) -> "TTTensor":
        """Sum in TT form: ranks add (``r_k + r'_k``), cores become block matrices.

        ``(X + Y)[i] = [G_1 H_1] · diag(G_2, H_2) · … · [G_d ; H_d]`` (Oseledets
        2011, §4.1). Call :meth:`round` afterwards to bring the ranks down.
        """
        if not isinstance(other, TTTensor):
            return NotImplemented
        self._check_same_shape(other, "other")
        dtype = np.result_type(self.dtype, other.dtype)
        d = self.ndim
        if d == 1:
            return TTTensor([(self._cores[0] + other._cores[0]).astype(dtype)])
        cores = []
        for k, (g, h) in enumerate(zip(self._cores, other._cores)):
            (a, n, b), (c, _, e) = g.shape, h.shape
            if k == 0:
                core = np.concatenate([g, h], axis=2).astype(dtype, copy=False)
            elif k == d - 1:
                core = np.concatenate([g, h], axis=0).astype(dtype, copy=False)
            else:
                core = np.zeros((a + c, n, b + e), dtype=dtype)
                core[:a, :, :b] = g
                core[a:, :, b:] = h
            cores.append(core)
        return TTTensor(cores)

    def __neg__(self) -> "TTTensor":
        return self * -1.0

    def __sub__(self, other: Any) -> "TTTensor":
        if not isinstance(other, TTTensor):
            return NotImplemented
        return self + (-other)

    def __mul__(self, alpha: Any) -> "TTTensor":
        """Scalar multiple: only the first core is scaled."""
        if isinstance(alpha, TTTensor) or not isinstance(alpha, numbers.Real):
            return NotImplemented
        alpha = check_scalar(alpha, "alpha")
        cores = [c.copy() for c in self._cores]
        cores[0] *= self.dtype.type(alpha)
        return TTTensor(cores)

    __rmul__ = __mul__

    def __truediv__(self, alpha: Any) -> "TTTensor":
        if isinstance(alpha, TTTensor) or not isinstance(alpha, numbers.Real):
            return NotImplemented
        alpha = check_scalar(alpha, "alpha")
        if alpha == 0.0:
            raise ZeroDivisionError("cannot divide a TTTensor by zero")
        return self * (1.0 / alpha)

    def _check_same_shape(self, other: Any, name: str) -> None:
        if not isinstance(other, TTTensor):
            raise TypeError(f"{name} must be a TTTensor, got {type(other).__name__}")
        if other.shape != self.shape:
            raise ValueError(f"{name} must have shape {self.shape}, got {other.shape}")
