"""TT layers: :class:`TTLinear` (TT-FC), :class:`TTConv2d` (the paper's TT-conv) and
:class:`NaiveTTConv2d` (the baseline it is compared against).

All follow the layer interface of docs/conventions.md §5 and add ``cores`` (the core
arrays, the same objects as in ``params``), ``ranks`` (the full rank tuple) and
``weight()`` (the dense weight reconstructed from the cores). The maths lives in
:mod:`ttnet.nn.tt_functional`; these classes hold the parameters, pick the
algorithm and write the gradients.

``ranks`` are the exact internal ranks: one int for every internal bond, the
sequence of internal ranks, or the full tuple with 1 at both ends
(:func:`ttnet.tt.ranks.internal_ranks`). Ranks above the theoretical maximum of
the format are allowed (the cores are then over-parametrised, as in some of
the paper's configurations) and kept. The ``from_*`` constructors, which
compress with TT-SVD, take a cap ``max_rank`` instead (their old keyword
``ranks=`` still works until the next release, with a ``DeprecationWarning``).
Core ``k`` is ``params[f"core{k}"]``, numbered by position from 0; its symbol
in the papers is in the table of docs/notation.md.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .._checks import (as_float_array, check_batch_shape, check_bool, check_dtype, check_int,
                      check_rng)
from ..ops.im2col import window_params
from ..ops.kernel_layouts import check_channel_modes, conv_kernel_to_naive_tt, conv_kernel_to_tt
from ..tt import TTMatrix
from ..tt.ranks import internal_ranks, renamed_cap
from . import tt_functional as TF
from .init import tt_normal_cores
from .layers import Conv2d, Linear
from .module import Module

__all__ = ["TTLinear", "TTConv2d", "NaiveTTConv2d"]

_ALGORITHM_CHOICES = ("auto",) + TF.ALGORITHMS
_CONV_ALGORITHM_CHOICES = ("auto",) + TF.CONV_ALGORITHMS


class _TTLayer(Module):
    """Shared behaviour: ``cores``, ``ranks``, ``_load_cores`` (the ``from_*`` constructors)."""

    n_cores: int

    @property
    def cores(self) -> list[np.ndarray]:
        """The core arrays, ``params["core0"], params["core1"], …`` (the same objects)."""
        return [self.params[f"core{k}"] for k in range(self.n_cores)]

    @property
    def ranks(self) -> tuple[int, ...]:
        """The full rank tuple ``(1, …, 1)``: core k is ``(ranks[k], …, ranks[k + 1])``."""
        return (1,) + tuple(c.shape[-1] for c in self.cores)

    def _add_cores(self, cores: Sequence[np.ndarray]) -> None:
        self.n_cores = len(cores)
        for k, core in enumerate(cores):
            self.add_param(f"core{k}", core)

    def _load_cores(self, cores: Sequence[np.ndarray]) -> None:
        """Copy ``cores`` (same shapes) into the parameter arrays, in place."""
        for target, source in zip(self.cores, cores):
            target[...] = source

    def _write_core_grads(self, dcores: Sequence[np.ndarray], dbias: np.ndarray | None) -> None:
        """Write (overwrite, not accumulate) ``grads["core{k}"]`` and ``grads["bias"]``."""
        self._write_grads(bias=dbias, **{f"core{k}": g for k, g in enumerate(dcores)})

    def _copy_bias_from(self, dense: Module) -> None:
        """Take over the bias of the dense layer this one compresses."""
        if "bias" in dense.params:
            self.params["bias"][...] = dense.params["bias"]


class _TTMatrixLayer(_TTLayer):
    """TT layers whose weight is a TT-matrix, with several algorithms and a cost model."""

    algorithm: str

    def cost(self, input_shape: Sequence[int]) -> dict[str, dict[str, int]]:
        raise NotImplementedError

    def choose_algorithm(self, input_shape: Sequence[int]) -> str:
        """The algorithm ``forward`` uses for this input shape.

        The one given at construction, or with ``"auto"`` the one whose forward +
        backward the time model predicts to be fastest (:meth:`cost`,
        :func:`ttnet.nn.tt_functional.fastest_algorithm`).
        """
        if self.algorithm != "auto":
            return self.algorithm
        return TF.fastest_algorithm(self.cost(input_shape))

    def to_tt_matrix(self) -> TTMatrix:
        """The weight as a :class:`~ttnet.tt.TTMatrix` (sharing the core arrays)."""
        return TTMatrix(self.cores)


# ---------------------------------------------------------------------------
class TTLinear(_TTMatrixLayer):
    """TT-FC layer (Novikov et al. 2015): ``y = x Wᵀ + b`` with W a TT-matrix.

    W has shape ``(M, N)``, ``M = Π out_modes``, ``N = Π in_modes``, row modes
    ``out_modes`` and column modes ``in_modes``, so ``weight()`` is the
    ``(out, in)`` matrix of the equivalent :class:`~ttnet.nn.layers.Linear`.

    Parameters
    ----------
    in_modes, out_modes : sequences of d ints
        ``(n_1, …, n_d)`` and ``(m_1, …, m_d)``.
    ranks : int or sequence of d − 1 ints
        The exact internal TT-ranks ``(r_1, …, r_{d-1})``: one int for every
        bond, the d − 1 ranks, or the full tuple with 1 at both ends.
    bias : bool
    dtype : np.float32 or np.float64
    rng : np.random.Generator, int seed or None
        Draws the cores (:func:`ttnet.nn.init.tt_normal_cores`, He variance
        ``2 / N`` for the reconstructed weight whatever the ranks).
    algorithm : {"auto", "full", "sequential"}
        How forward and backward are computed (:mod:`ttnet.nn.tt_functional`).
        ``"auto"`` picks the algorithm the time model predicts to be fastest for
        the batch at hand (:meth:`cost`); ``last_algorithm`` records the choice.

    Attributes
    ----------
    params : ``core{k}`` (k = 0..d-1) is the paper's G_{k+1}, of shape
        ``(r_k, m_{k+1}, n_{k+1}, r_{k+1})`` (docs/notation.md §2), and ``bias`` (M,).
    cores : list of the core arrays (the same objects as in ``params``).
    """

    def __init__(self, in_modes: Sequence[int], out_modes: Sequence[int], ranks: Any,
                 bias: bool = True, dtype: Any = np.float32, rng: Any = None,
                 algorithm: str = "auto") -> None:
        super().__init__()
        in_modes, out_modes = check_channel_modes(in_modes, out_modes)
        self.in_modes, self.out_modes = in_modes, out_modes
        self.in_features, self.out_features = math.prod(in_modes), math.prod(out_modes)
        d = len(in_modes)
        full = (1,) + internal_ranks(ranks, d - 1) + (1,)
        self.algorithm = TF.check_algorithm(algorithm, _ALGORITHM_CHOICES)
        self.last_algorithm: str | None = None
        dtype = check_dtype(dtype)
        shapes = [(full[k], out_modes[k], in_modes[k], full[k + 1]) for k in range(d)]
        self._add_cores(tt_normal_cores(shapes, 2.0 / self.in_features, rng=check_rng(rng),
                                        dtype=dtype))
        if check_bool(bias, "bias"):
            self.add_param("bias", np.zeros(self.out_features, dtype=dtype))

    def cost(self, input_shape: Sequence[int]) -> dict[str, dict[str, int]]:
        """Flops, cached bytes, traffic and predicted time of forward + backward, per algorithm.

        ``input_shape`` is ``(B, N)``; see :func:`ttnet.nn.tt_functional.tt_linear_cost`.
        """
        input_shape = check_batch_shape(input_shape, "input_shape", length=2)
        itemsize = self.cores[0].dtype.itemsize
        return TF.tt_linear_cost(self.in_modes, self.out_modes, self.ranks, input_shape[0],
                                 itemsize)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(B, N) → (B, M) by the algorithm :meth:`choose_algorithm` picks for x's shape."""
        x = np.asarray(x)
        as_float_array(x, "x", ndim=2, finite=False)   # a shape to choose by (errors name x)
        algorithm = self.choose_algorithm(x.shape)
        bias = self.params.get("bias")
        if algorithm == "full":
            out, self._cache = TF.tt_linear_full_forward(x, self.cores, bias)
        else:
            out, self._cache = TF.tt_linear_sequential_forward(x, self.cores, bias)
        self.last_algorithm = algorithm
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Write the core (and bias) gradients of the last forward, by its algorithm; return dx."""
        cache = self._last_cache()
        if cache["algorithm"] == "full":
            dx, dcores, dbias = TF.tt_linear_full_backward(dout, cache)
        else:
            dx, dcores, dbias = TF.tt_linear_sequential_backward(dout, cache)
        self._write_core_grads(dcores, dbias)
        return dx

    def weight(self) -> np.ndarray:
        """The dense ``(M, N)`` weight reconstructed from the cores (a new array)."""
        return TF.tt_matrix_full_forward(self.cores)[0]

    @classmethod
    def from_linear(cls, linear: Linear, in_modes: Sequence[int], out_modes: Sequence[int],
                    max_rank: Any = None, eps: float | None = None,
                    algorithm: str = "auto", *, ranks: Any = None) -> "TTLinear":
        """Compress a (trained) :class:`~ttnet.nn.layers.Linear` with TT-SVD, keeping its bias.

        ``max_rank`` caps the internal ranks (``ranks=`` is its old name, accepted
        with a ``DeprecationWarning`` until the next release) and ``eps`` bounds the relative weight
        error, ``‖W − W_TT‖_F <= eps ‖W‖_F`` (:meth:`ttnet.tt.TTMatrix.from_dense`),
        in float32 too, for every ``eps`` at or above :func:`ttnet.tt.achievable_eps`
        of the merged modes ``m_k n_k`` (1e-6 to 2e-5 in float32); a smaller
        ``eps`` gets an :class:`~ttnet.tt.AccuracyWarning` naming the bound that
        holds. With neither the layer is reproduced to round-off.
        """
        if not isinstance(linear, Linear):
            raise TypeError(f"linear must be a ttnet.nn.Linear, got {type(linear).__name__}")
        W = linear.params["weight"]
        in_modes, out_modes = check_channel_modes(in_modes, out_modes)
        if math.prod(in_modes) != W.shape[1]:
            raise ValueError(f"in_modes {in_modes} multiply to {math.prod(in_modes)}, but linear "
                             f"has {W.shape[1]} input features")
        if math.prod(out_modes) != W.shape[0]:
            raise ValueError(f"out_modes {out_modes} multiply to {math.prod(out_modes)}, but "
                             f"linear has {W.shape[0]} output features")
        max_rank = renamed_cap(max_rank, ranks, "TTLinear.from_linear")
        tt = TTMatrix.from_dense(W, out_modes, in_modes, eps=eps, max_rank=max_rank)
        layer = cls(in_modes, out_modes, tt.ranks[1:-1], bias="bias" in linear.params,
                    dtype=W.dtype, rng=0, algorithm=algorithm)
        layer._load_cores(tt.cores)
        layer._copy_bias_from(linear)
        return layer

    def extra_repr(self) -> str:
        return (f"in_modes={self.in_modes}, out_modes={self.out_modes}, ranks={self.ranks}, "
                f"bias={'bias' in self.params}, algorithm={self.algorithm!r}")


# ---------------------------------------------------------------------------
class TTConv2d(_TTMatrixLayer):
    """TT-conv layer (Garipov et al. 2016): a convolution whose kernel is a TT-matrix.

    The kernel ``K (S, C, l, l)`` is the TT-matrix of shape ``S × (l² C)`` with
    ``d + 1`` cores (docs/conventions.md §4, :mod:`ttnet.ops.kernel_layouts`):

        K[s, c, i, j] = G_0[0, 0, i l + j, :] · G_1[:, s_1, c_1, :] ⋯ G_d[:, s_d, c_d, 0].

    Parameters
    ----------
    in_modes, out_modes : sequences of d ints
        ``C = Π c_k`` input and ``S = Π s_k`` output channels.
    ranks : int or sequence of d ints
        The exact internal ranks ``(r_0, …, r_{d-1})`` (one int for every bond,
        the d ranks, or the full tuple with 1 at both ends); ``r_0`` sits between
        the spatial core and core 1, so ``layer.ranks[k] = r_{k-1}``.
    kernel_size : int (or a pair of equal ints)
        l; the kernel is square.
    stride, padding : int or pair
    bias : bool
    algorithm : {"auto", "full", "sequential", "separable"}
        ``"full"`` builds the kernel and runs the dense convolution (im2col or Winograd);
        ``"sequential"`` convolves each channel with the spatial core and then
        contracts the channel cores one by one; ``"separable"`` does the same
        spatial step and then applies the channel cores' matrix in one product
        (:func:`ttnet.nn.tt_functional.tt_conv2d_forward`). ``"auto"`` picks the
        one the time model predicts to be fastest (:meth:`cost`).
    dtype : np.float32 or np.float64
    rng : np.random.Generator, int seed or None
        Draws the cores with the He variance ``2 / (C l²)`` for the kernel.

    Attributes
    ----------
    params : ``core0`` is G_0, ``(1, 1, l², r_0)``; ``core{k}`` (k = 1..d) is G_k,
        ``(r_{k-1}, s_k, c_k, r_k)`` (docs/notation.md §2); ``bias`` (S,).
    """

    def __init__(self, in_modes: Sequence[int], out_modes: Sequence[int], ranks: Any,
                 kernel_size: Any, stride: Any = 1, padding: Any = 0, bias: bool = True,
                 algorithm: str = "auto", dtype: Any = np.float32, rng: Any = None) -> None:
        super().__init__()
        in_modes, out_modes = check_channel_modes(in_modes, out_modes)
        (kh, kw), self.stride, self.padding = window_params(kernel_size, stride, padding)
        if kh != kw:
            raise ValueError(f"kernel_size must be square for TTConv2d (the spatial core holds "
                             f"l² entries), got {(kh, kw)}")
        self.kernel_size = kh
        self._workspace: dict[str, np.ndarray] = {}  # scratch of "full" and "separable"
        self.in_modes, self.out_modes = in_modes, out_modes
        self.in_channels, self.out_channels = math.prod(in_modes), math.prod(out_modes)
        d = len(in_modes)
        full = (1,) + internal_ranks(ranks, d) + (1,)
        self.algorithm = TF.check_algorithm(algorithm, _CONV_ALGORITHM_CHOICES)
        self.last_algorithm: str | None = None
        dtype = check_dtype(dtype)
        shapes = [(1, 1, kh * kh, full[1])]
        shapes += [(full[k + 1], out_modes[k], in_modes[k], full[k + 2]) for k in range(d)]
        fan_in = self.in_channels * kh * kh
        self._add_cores(tt_normal_cores(shapes, 2.0 / fan_in, rng=check_rng(rng), dtype=dtype))
        if check_bool(bias, "bias"):
            self.add_param("bias", np.zeros(self.out_channels, dtype=dtype))

    def cost(self, input_shape: Sequence[int]) -> dict[str, dict[str, int]]:
        """Flops, cached bytes, traffic and predicted time of forward + backward, per algorithm.

        ``input_shape`` is ``(B, C, H, W)``; see :func:`ttnet.nn.tt_functional.tt_conv2d_cost`.
        """
        input_shape = check_batch_shape(input_shape, "input_shape", length=4)
        return TF.tt_conv2d_cost(self.in_modes, self.out_modes, self.ranks, self.kernel_size,
                                 input_shape, self.stride, self.padding,
                                 self.cores[0].dtype.itemsize)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(B, C, H, W) → (B, S, H', W') by the algorithm :meth:`choose_algorithm` picks."""
        x = np.asarray(x)
        as_float_array(x, "x", ndim=4, finite=False)   # a shape to choose by (errors name x)
        algorithm = self.choose_algorithm(x.shape)
        bias = self.params.get("bias")
        out, self._cache = TF.tt_conv2d_forward(x, self.cores, bias, self.stride, self.padding,
                                                algorithm, workspace=self._workspace)
        self.last_algorithm = algorithm
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Write the core (and bias) gradients of the last forward, by its algorithm; return dx."""
        cache = self._last_cache()
        dx, dcores, dbias = TF.tt_conv2d_backward(dout, cache)
        self._write_core_grads(dcores, dbias)
        return dx

    def weight(self) -> np.ndarray:
        """The dense ``(S, C, l, l)`` kernel reconstructed from the cores (a new array)."""
        return TF.tt_conv_kernel_forward(self.cores)[0]

    @classmethod
    def from_conv(cls, conv: Conv2d, in_modes: Sequence[int], out_modes: Sequence[int],
                  max_rank: Any = None, eps: float | None = None,
                  algorithm: str = "auto", *, ranks: Any = None) -> "TTConv2d":
        """Compress a (trained) :class:`~ttnet.nn.layers.Conv2d` with the paper's scheme.

        TT-SVD of the kernel's ``S × (l² C)`` matrix
        (:func:`ttnet.ops.kernel_layouts.conv_kernel_to_tt`); ``eps`` bounds the relative
        kernel error, ``‖K − K_TT‖_F <= eps ‖K‖_F`` (float32 included; below
        :func:`ttnet.tt.achievable_eps` an :class:`~ttnet.tt.AccuracyWarning`
        names the bound that holds), ``max_rank`` caps the internal ranks
        (``ranks=`` is its old name, accepted with a ``DeprecationWarning`` until
        the next release). Stride, padding and bias are kept.
        """
        if not isinstance(conv, Conv2d):
            raise TypeError(f"conv must be a ttnet.nn.Conv2d, got {type(conv).__name__}")
        K = conv.params["weight"]
        max_rank = renamed_cap(max_rank, ranks, "TTConv2d.from_conv")
        tt = conv_kernel_to_tt(K, in_modes, out_modes, max_rank=max_rank, eps=eps)
        layer = cls(in_modes, out_modes, tt.ranks[1:-1], K.shape[2], conv.stride, conv.padding,
                    bias="bias" in conv.params, algorithm=algorithm, dtype=K.dtype, rng=0)
        layer._load_cores(tt.cores)
        layer._copy_bias_from(conv)
        return layer

    def extra_repr(self) -> str:
        return (f"in_modes={self.in_modes}, out_modes={self.out_modes}, ranks={self.ranks}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"bias={'bias' in self.params}, algorithm={self.algorithm!r}")


# ---------------------------------------------------------------------------
class NaiveTTConv2d(_TTLayer):
    """The naive TT-conv baseline: the 4-D kernel ``(l, l, C, S)`` itself in TT format.

    ``K[s, c, i, j] = H_1[0, i, :] H_2[:, j, :] H_3[:, c, :] H_4[:, s, 0]`` with
    three internal ranks (Garipov et al. 2016, §3, the scheme their Table 1
    compares against). Evaluated by building the kernel and convolving.

    Parameters
    ----------
    in_channels, out_channels : int
    ranks : int or sequence of 3 ints
        The exact internal ranks ``(r_1, r_2, r_3)`` (or the full tuple).
    kernel_size : int (or a pair of equal ints)
    stride, padding : int or pair
    bias : bool
    dtype : np.float32 or np.float64
    rng : np.random.Generator, int seed or None
        Draws the cores with the He variance ``2 / (C l²)`` for the kernel.

    Attributes
    ----------
    params : ``core0 (1, l, r_1)``, ``core1 (r_1, l, r_2)``, ``core2 (r_2, C, r_3)``,
        ``core3 (r_3, S, 1)``, ``bias`` (S,).
    """

    def __init__(self, in_channels: int, out_channels: int, ranks: Any, kernel_size: Any,
                 stride: Any = 1, padding: Any = 0, bias: bool = True, dtype: Any = np.float32,
                 rng: Any = None) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", minimum=1)
        self.out_channels = check_int(out_channels, "out_channels", minimum=1)
        (kh, kw), self.stride, self.padding = window_params(kernel_size, stride, padding)
        if kh != kw:
            raise ValueError(f"kernel_size must be square for NaiveTTConv2d, got {(kh, kw)}")
        self.kernel_size = kh
        self._workspace: dict[str, np.ndarray] = {}  # the dense convolution's buffers
        r = (1,) + internal_ranks(ranks, 3) + (1,)
        dtype = check_dtype(dtype)
        modes = (kh, kh, self.in_channels, self.out_channels)
        shapes = [(r[k], modes[k], r[k + 1]) for k in range(4)]
        fan_in = self.in_channels * kh * kh
        self._add_cores(tt_normal_cores(shapes, 2.0 / fan_in, rng=check_rng(rng), dtype=dtype))
        if check_bool(bias, "bias"):
            self.add_param("bias", np.zeros(self.out_channels, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(B, C, H, W) → (B, S, H', W')."""
        out, self._cache = TF.naive_tt_conv2d_forward(x, self.cores, self.params.get("bias"),
                                                      self.stride, self.padding,
                                                      workspace=self._workspace)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Write the core (and bias) gradients of the last forward; return dx."""
        dx, dcores, dbias = TF.naive_tt_conv2d_backward(dout, self._last_cache())
        self._write_core_grads(dcores, dbias)
        return dx

    def weight(self) -> np.ndarray:
        """The dense ``(S, C, l, l)`` kernel reconstructed from the cores (a new array)."""
        return TF.naive_tt_kernel_forward(self.cores)[0]

    @classmethod
    def from_conv(cls, conv: Conv2d, max_rank: Any = None, eps: float | None = None, *,
                  ranks: Any = None) -> "NaiveTTConv2d":
        """Compress a (trained) :class:`~ttnet.nn.layers.Conv2d` with the naive scheme.

        TT-SVD of the 4-D kernel ``(l, l, C, S)``
        (:func:`ttnet.ops.kernel_layouts.conv_kernel_to_naive_tt`), with the same
        guarantee ``‖K − K_TT‖_F <= eps ‖K‖_F`` as :meth:`TTConv2d.from_conv`;
        ``max_rank`` caps the internal ranks (``ranks=`` is its old name, accepted
        with a ``DeprecationWarning`` until the next release); stride, padding and
        bias are kept.
        """
        if not isinstance(conv, Conv2d):
            raise TypeError(f"conv must be a ttnet.nn.Conv2d, got {type(conv).__name__}")
        K = conv.params["weight"]
        max_rank = renamed_cap(max_rank, ranks, "NaiveTTConv2d.from_conv")
        tt = conv_kernel_to_naive_tt(K, max_rank=max_rank, eps=eps)
        layer = cls(K.shape[1], K.shape[0], tt.ranks[1:-1], K.shape[2], conv.stride,
                    conv.padding, bias="bias" in conv.params, dtype=K.dtype, rng=0)
        layer._load_cores(tt.cores)
        layer._copy_bias_from(conv)
        return layer

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, ranks={self.ranks}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"bias={'bias' in self.params}")

