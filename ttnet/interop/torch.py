"""ttnet networks in PyTorch and back: ``to_torch``, ``from_torch``, ``load_torch_state``.

:func:`to_torch` turns a ttnet network into a ``torch.nn.Module`` of the same
structure (a ``torch.nn.Sequential`` whose entry ``k`` is layer ``k``), with the
same parameter values and dtype:

==================================  ==========================================================
ttnet layer                         PyTorch module
==================================  ==========================================================
``Linear``, ``Conv2d``              ``torch.nn.Linear``, ``torch.nn.Conv2d`` (same layouts)
``BatchNorm1d`` / ``BatchNorm2d``   ``torch.nn.BatchNorm1d`` / ``2d``: ``gamma`` → ``weight``,
                                    ``beta`` → ``bias``; same ``eps`` and ``momentum``
``ReLU``, ``MaxPool2d``,            ``torch.nn.ReLU``, ``MaxPool2d``, ``AvgPool2d``
``AvgPool2d``                       (``count_include_pad=True``, as ttnet)
``GlobalAvgPool2d``                 :class:`GlobalAvgPool2d` (mean over H, W: (B, C, H, W) → (B, C))
``Flatten``, ``Dropout``            ``torch.nn.Flatten``, ``torch.nn.Dropout`` (torch's own masks)
``TTLinear``, ``TTConv2d``,         :class:`TTLinear`, :class:`TTConv2d`, :class:`NaiveTTConv2d`
``NaiveTTConv2d``                   here: parameters ``core0``, ``core1``, … of ttnet's shapes
``Sequential``                      ``torch.nn.Sequential`` (nested ones too)
==================================  ==========================================================

The BatchNorm conventions agree exactly: both normalise with the *biased*
batch variance and update ``running = (1 − momentum) running + momentum · batch``
with the *unbiased* batch variance, so ``torch.nn.BatchNorm*d`` is used as it is.
The state-dict names are ttnet's names with ``gamma``/``beta`` read as
``weight``/``bias`` (:func:`torch_names`); torch's ``num_batches_tracked``
counter has no ttnet twin and is ignored when loading back.

:func:`from_torch` / :func:`load_torch_state` copy parameters and BatchNorm
buffers back into a ttnet model, after checking everything (architecture,
names, shapes) so that nothing is copied when anything differs. Values are
cast to the ttnet model's dtype; a float64 model that went to torch and back is
bit-for-bit unchanged.

The TT modules compute in PyTorch what ttnet computes in NumPy, with the
same algorithms: ``"full"`` rebuilds the dense weight from the cores and
calls ``F.linear`` / ``F.conv2d``; ``"sequential"`` contracts the input with
one core at a time and never forms the weight; ``"separable"`` (``TTConv2d``
only) convolves every channel with the spatial core and applies the channel
cores' matrix as a 1 × 1 convolution; ``"auto"`` (``TTLinear`` and
``TTConv2d``) picks the one ttnet's own cost model predicts to be fastest.
Autograd provides the backward pass.

:class:`SyncBatchNorm` and :func:`convert_sync_batchnorm` give batch
statistics over all processes of a ``torch.distributed`` group on any device
(``torch.nn.SyncBatchNorm`` works on GPUs only), so that data-parallel
training on CPUs computes what one process computes on the whole batch.

The conventions (core shapes, index order, NCHW, BatchNorm statistics) are
documented in ``docs/interop.md``.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Mapping, Sequence

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "ttnet.interop.torch needs PyTorch, which is not installed. Install ttnet's torch "
        "extra: pip install -e \".[torch]\" (from a checkout) or pip install \"ttnet[torch]\"."
    ) from exc

import numpy as np

from .._checks import check_dtype, describe
from ..nn import layers as L
from ..nn import tt_functional as TF
from ..nn import tt_layers as T
from ..nn.module import Module

__all__ = ["to_torch", "from_torch", "load_torch_state", "torch_names", "TTLinear", "TTConv2d",
           "NaiveTTConv2d", "GlobalAvgPool2d", "SyncBatchNorm", "convert_sync_batchnorm"]

_TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}
_NUMPY_DTYPES = {v: k for k, v in _TORCH_DTYPES.items()}


def _numpy_dtype(dtype: Any) -> np.dtype:
    """float32 / float64 given as a NumPy or a torch dtype, as a NumPy dtype."""
    if isinstance(dtype, torch.dtype):
        if dtype not in _NUMPY_DTYPES:
            raise TypeError(f"dtype must be float32 or float64, got {dtype}")
        return _NUMPY_DTYPES[dtype]
    return check_dtype(dtype)


def _tensor(arr: np.ndarray) -> torch.Tensor:
    """A torch copy of ``arr`` with its dtype (never shares memory with ttnet)."""
    return torch.from_numpy(np.array(arr, copy=True))


# ---------------------------------------------------------------- the TT maths in torch
def _tt_matrix_full(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """The dense ``(M, N)`` matrix of TT-matrix cores ``(r_{k-1}, m_k, n_k, r_k)``.

    ``W[(i_1..i_d), (j_1..j_d)] = G_1[:, i_1, j_1, :] ⋯ G_d[:, i_d, j_d, :]``, the
    multi-indices row-major (first mode most significant), as in ttnet.
    """
    rows = [c.shape[1] for c in cores]
    cols = [c.shape[2] for c in cores]
    d = len(cores)
    acc = cores[0].reshape(-1, cores[0].shape[3])                    # (m_1 n_1, r_1)
    for core in cores[1:]:
        r0, m, n, r1 = core.shape
        acc = (acc @ core.reshape(r0, m * n * r1)).reshape(-1, r1)   # (… m_k n_k, r_k)
    order = list(range(0, 2 * d, 2)) + list(range(1, 2 * d, 2))
    interleaved = [x for m, n in zip(rows, cols) for x in (m, n)]
    return acc.reshape(interleaved).permute(order).reshape(math.prod(rows), math.prod(cols))


def _core_steps(z: torch.Tensor, cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """Contract ``z`` read as ``(p, r_0, n_1, q)`` with one core after the other.

    Step k:
    ``Z[p, i_k, r_k, q] = Σ_{r_{k-1}, j_k} G_k[r_{k-1}, i_k, j_k, r_k] Z[p, r_{k-1}, j_k, q]``,
    then ``i_k`` joins the leading index and ``n_{k+1}`` is split off the
    trailing one. Returns ``(p · m_1 ⋯ m_d, 1, 1, q')``.
    """
    for k, core in enumerate(cores):
        r0, m, n, r1 = core.shape
        p, _, _, q = z.shape
        gmat = core.permute(1, 3, 0, 2).reshape(m * r1, r0 * n)
        z = torch.matmul(gmat, z.reshape(p, r0 * n, q))             # (p, m r_k, q)
        n_next = cores[k + 1].shape[2] if k + 1 < len(cores) else 1
        z = z.reshape(p * m, r1, n_next, q // n_next)
    return z


def _matrix_to_kernel(matrix: torch.Tensor, l: int) -> torch.Tensor:
    """``K_mat[s, (i l + j) C + c]`` → ``K[s, c, i, j]`` (ttnet.ops.kernel_layouts.matrix_to_kernel)."""
    S = matrix.shape[0]
    return matrix.reshape(S, l, l, -1).permute(0, 3, 1, 2).contiguous()


# ---------------------------------------------------------------- TT modules
class _TTModule(nn.Module):
    """Shared code: ``core{k}`` parameters, ``cores``, ``ranks`` and construction from ttnet."""

    _ttnet_class: type
    _algorithms: tuple[str, ...]

    def _init_from(self, layer: Module, algorithm: str) -> None:
        if not isinstance(algorithm, str) or algorithm not in self._algorithms:
            raise ValueError(f"algorithm must be one of {', '.join(map(repr, self._algorithms))}, "
                             f"got {algorithm!r}")
        self.algorithm = algorithm
        self.last_algorithm: str | None = None
        self.n_cores = layer.n_cores
        for k, core in enumerate(layer.cores):
            self.register_parameter(f"core{k}", nn.Parameter(_tensor(core)))
        bias = layer.params.get("bias")
        self.bias = None if bias is None else nn.Parameter(_tensor(bias))
        self.stride = getattr(layer, "stride", None)
        self.padding = getattr(layer, "padding", None)

    @property
    def cores(self) -> list[torch.Tensor]:
        """``[core0, core1, …]``, the parameters themselves."""
        return [getattr(self, f"core{k}") for k in range(self.n_cores)]

    @property
    def ranks(self) -> tuple[int, ...]:
        """The full rank tuple ``(1, …, 1)``, as ttnet's ``layer.ranks``."""
        return (1,) + tuple(int(c.shape[-1]) for c in self.cores)

    @classmethod
    def from_ttnet(cls, layer: Module, algorithm: str | None = None) -> "_TTModule":
        """The torch twin of a ttnet layer, with a copy of its cores and bias.

        ``algorithm=None`` keeps the layer's own (``"full"`` for ``NaiveTTConv2d``).
        """
        if not isinstance(layer, cls._ttnet_class):
            raise TypeError(f"layer must be a ttnet.nn.{cls._ttnet_class.__name__}, got "
                            f"{describe(layer)}")
        module = cls.__new__(cls)
        nn.Module.__init__(module)
        module._copy_config(layer)
        module._init_from(layer, getattr(layer, "algorithm", "full") if algorithm is None
                          else algorithm)
        return module

    def _copy_config(self, layer: Module) -> None:
        raise NotImplementedError

    def _choose(self, x: torch.Tensor) -> str:
        if self.algorithm != "auto":
            return self.algorithm
        return TF.fastest_algorithm(self._cost(tuple(x.shape)))

    def _cost(self, shape: tuple[int, ...]) -> dict[str, dict[str, int]]:
        raise NotImplementedError

    def _check_input(self, x: Any, ndim: int, layout: str, channels: int) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {describe(x)}")
        if x.ndim != ndim or x.shape[1] != channels:
            raise ValueError(f"{type(self).__name__} expects x of shape {layout} with "
                             f"{channels} at position 1, got shape {tuple(x.shape)}")
        if x.dtype != self.core0.dtype:
            raise TypeError(f"x has dtype {x.dtype} but the cores are {self.core0.dtype}: "
                            f"convert one of them (ttnet never converts silently)")


class TTLinear(_TTModule):
    """TT-FC layer in PyTorch: ``y = x Wᵀ + b`` with W the TT-matrix of the cores.

    Same arguments, parameters and initialisation as :class:`ttnet.nn.TTLinear`:
    ``core{k}`` has shape ``(r_{k-1}, m_{k+1}, n_{k+1}, r_{k+1})`` with row
    (output) modes ``m`` and column (input) modes ``n``; ``bias`` (M,).
    ``dtype`` may be a NumPy or a torch dtype (float32 or float64).

    ``algorithm``: ``"full"`` builds W (:meth:`weight`) and calls ``F.linear``;
    ``"sequential"`` applies the core steps to x read as ``(B, n_1, …, n_d)``;
    ``"auto"`` picks the one ttnet's time model predicts to be fastest for the
    batch (:func:`ttnet.nn.tt_functional.tt_linear_cost`). Input (B, N) → output (B, M).
    """

    _ttnet_class = T.TTLinear
    _algorithms = ("auto",) + TF.ALGORITHMS

    def __init__(self, in_modes: Sequence[int], out_modes: Sequence[int], ranks: Any,
                 bias: bool = True, dtype: Any = torch.float32, rng: Any = None,
                 algorithm: str = "auto") -> None:
        super().__init__()
        layer = T.TTLinear(in_modes, out_modes, ranks, bias=bias, dtype=_numpy_dtype(dtype),
                           rng=rng)
        self._copy_config(layer)
        self._init_from(layer, algorithm)

    def _copy_config(self, layer: Module) -> None:
        self.in_modes, self.out_modes = layer.in_modes, layer.out_modes
        self.in_features, self.out_features = layer.in_features, layer.out_features

    def _cost(self, shape: tuple[int, ...]) -> dict[str, dict[str, int]]:
        return TF.tt_linear_cost(self.in_modes, self.out_modes, self.ranks, shape[0],
                                 self.core0.element_size())

    def weight(self) -> torch.Tensor:
        """The dense ``(M, N)`` weight built from the cores (differentiable)."""
        return _tt_matrix_full(self.cores)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N) → (B, M)."""
        self._check_input(x, 2, "(B, N)", self.in_features)
        algorithm = self._choose(x)
        self.last_algorithm = algorithm
        if algorithm == "full":
            return F.linear(x, self.weight(), self.bias)
        B = x.shape[0]
        y = _core_steps(x.reshape(B, 1, self.in_modes[0], -1), self.cores).reshape(B, -1)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return (f"in_modes={self.in_modes}, out_modes={self.out_modes}, ranks={self.ranks}, "
                f"bias={self.bias is not None}, algorithm={self.algorithm!r}")


class TTConv2d(_TTModule):
    """TT-conv layer (Garipov et al. 2016) in PyTorch.

    Same arguments, parameters and initialisation as :class:`ttnet.nn.TTConv2d`:
    ``core0`` ``(1, 1, l², r_0)`` is the spatial core, ``core{k}`` ``(r_{k-1}, s_k, c_k, r_k)``,
    and ``K[s, c, i, j] = G_0[0, 0, i l + j, :] G_1[:, s_1, c_1, :] ⋯ G_d[:, s_d, c_d, 0]``.

    ``algorithm``: ``"full"`` builds the ``(S, C, l, l)`` kernel (:meth:`weight`)
    and calls ``F.conv2d``; ``"sequential"`` convolves every input channel
    with the spatial core (a convolution of the ``B·C`` single-channel images
    with ``r_0`` filters) and then contracts the channel cores one by one;
    ``"separable"`` does the same spatial convolution and then applies the
    channel cores' ``S × (r_0 C)`` matrix as a 1 × 1 convolution;
    ``"auto"`` picks the one ttnet's time model predicts to be fastest
    (:func:`ttnet.nn.tt_functional.tt_conv2d_cost`). NCHW in and out.
    """

    _ttnet_class = T.TTConv2d
    _algorithms = ("auto",) + TF.CONV_ALGORITHMS

    def __init__(self, in_modes: Sequence[int], out_modes: Sequence[int], ranks: Any,
                 kernel_size: Any, stride: Any = 1, padding: Any = 0, bias: bool = True,
                 algorithm: str = "auto", dtype: Any = torch.float32, rng: Any = None) -> None:
        super().__init__()
        layer = T.TTConv2d(in_modes, out_modes, ranks, kernel_size, stride, padding, bias=bias,
                           dtype=_numpy_dtype(dtype), rng=rng)
        self._copy_config(layer)
        self._init_from(layer, algorithm)

    def _copy_config(self, layer: Module) -> None:
        self.in_modes, self.out_modes = layer.in_modes, layer.out_modes
        self.in_channels, self.out_channels = layer.in_channels, layer.out_channels
        self.kernel_size = layer.kernel_size

    def _cost(self, shape: tuple[int, ...]) -> dict[str, dict[str, int]]:
        return TF.tt_conv2d_cost(self.in_modes, self.out_modes, self.ranks, self.kernel_size,
                                 shape, self.stride, self.padding, self.core0.element_size())

    def weight(self) -> torch.Tensor:
        """The dense ``(S, C, l, l)`` kernel built from the cores (differentiable)."""
        return _matrix_to_kernel(_tt_matrix_full(self.cores), self.kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) → (B, S, H', W')."""
        self._check_input(x, 4, "(B, C, H, W)", self.in_channels)
        algorithm = self._choose(x)
        self.last_algorithm = algorithm
        if algorithm == "full":
            return F.conv2d(x, self.weight(), self.bias, self.stride, self.padding)
        B, C, H, W = x.shape
        l, r0 = self.kernel_size, self.core0.shape[3]
        spatial = self.core0.reshape(l, l, r0).permute(2, 0, 1).reshape(r0, 1, l, l)
        z = F.conv2d(x.reshape(B * C, 1, H, W), spatial, None, self.stride, self.padding)
        Ho, Wo = z.shape[2:]
        z = z.reshape(B, C, r0, Ho * Wo).permute(0, 2, 1, 3)         # (B, r_0, C, P)
        if algorithm == "separable":      # the channel cores' S × (r_0 C) matrix, one product
            G1 = self.cores[1]
            first = G1.permute(1, 0, 2, 3).reshape(1, G1.shape[1], r0 * G1.shape[2], G1.shape[3])
            W = _tt_matrix_full([first] + list(self.cores[2:]))
            y = F.conv2d(z.reshape(B, r0 * C, Ho, Wo), W.reshape(self.out_channels, r0 * C, 1, 1))
            return y if self.bias is None else y + self.bias.reshape(1, -1, 1, 1)
        z = _core_steps(z.reshape(B, r0, self.in_modes[0], -1), self.cores[1:])
        y = z.reshape(B, self.out_channels, Ho, Wo)
        return y if self.bias is None else y + self.bias.reshape(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return (f"in_modes={self.in_modes}, out_modes={self.out_modes}, ranks={self.ranks}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"bias={self.bias is not None}, algorithm={self.algorithm!r}")


class NaiveTTConv2d(_TTModule):
    """The naive TT-conv baseline in PyTorch: the kernel ``(l, l, C, S)`` as a 4-core TT.

    Same arguments, parameters and initialisation as :class:`ttnet.nn.NaiveTTConv2d`:
    ``K[s, c, i, j] = H_1[0, i, :] H_2[:, j, :] H_3[:, c, :] H_4[:, s, 0]``, cores
    ``core0 (1, l, r_1)``, ``core1 (r_1, l, r_2)``, ``core2 (r_2, C, r_3)``, ``core3 (r_3, S, 1)``.

    ``algorithm``: ``"full"`` (default, what ttnet does) builds the kernel and
    calls ``F.conv2d``; ``"sequential"`` applies the cores one at a time: the
    channel core ``H_3`` as a 1×1 convolution, ``H_2`` as a ``1 × l``
    convolution along the width, ``H_1`` as an ``l × 1`` convolution along the
    height (each of the ``r_3`` channel mixtures separately), then ``H_4`` as a
    1×1 convolution to the S outputs. Padding and stride of each direction go
    with the core of that direction.
    """

    _ttnet_class = T.NaiveTTConv2d
    _algorithms = TF.ALGORITHMS

    def __init__(self, in_channels: int, out_channels: int, ranks: Any, kernel_size: Any,
                 stride: Any = 1, padding: Any = 0, bias: bool = True,
                 dtype: Any = torch.float32, rng: Any = None, algorithm: str = "full") -> None:
        super().__init__()
        layer = T.NaiveTTConv2d(in_channels, out_channels, ranks, kernel_size, stride, padding,
                                bias=bias, dtype=_numpy_dtype(dtype), rng=rng)
        self._copy_config(layer)
        self._init_from(layer, algorithm)

    def _copy_config(self, layer: Module) -> None:
        self.in_channels, self.out_channels = layer.in_channels, layer.out_channels
        self.kernel_size = layer.kernel_size

    def weight(self) -> torch.Tensor:
        """The dense ``(S, C, l, l)`` kernel built from the cores (differentiable)."""
        h1, h2, h3, h4 = self.cores
        t = torch.einsum("ia,ajb,bce,es->ijcs", h1[0], h2, h3, h4[..., 0])   # (l, l, C, S)
        return t.permute(3, 2, 0, 1).contiguous()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) → (B, S, H', W')."""
        self._check_input(x, 4, "(B, C, H, W)", self.in_channels)
        self.last_algorithm = self.algorithm
        if self.algorithm == "full":
            return F.conv2d(x, self.weight(), self.bias, self.stride, self.padding)
        h1, h2, h3, h4 = self.cores
        B, C, H, W = x.shape
        l, r1, r2, r3 = self.kernel_size, h1.shape[2], h2.shape[2], h3.shape[2]
        (sh, sw), (ph, pw) = self.stride, self.padding
        # H_3: t[b, (β, e)] = Σ_c H_3[β, c, e] x[b, c]
        t = F.conv2d(x, h3.permute(0, 2, 1).reshape(r2 * r3, C, 1, 1).contiguous())
        t = t.reshape(B, r2, r3, H, W).permute(0, 2, 1, 3, 4).reshape(B * r3, r2, H, W)
        # H_2 along the width: u[a] = Σ_{β, j} H_2[a, j, β] t[β, :, q sw + j]
        u = F.conv2d(t, h2.permute(0, 2, 1).reshape(r1, r2, 1, l).contiguous(), None, (1, sw),
                     (0, pw))
        # H_1 along the height: v = Σ_{a, i} H_1[0, i, a] u[a, p sh + i, :]
        v = F.conv2d(u, h1[0].t().reshape(1, r1, l, 1).contiguous(), None, (sh, 1), (ph, 0))
        Ho, Wo = v.shape[2:]
        # H_4: y[b, s] = Σ_e H_4[e, s, 0] v[b, e]
        return F.conv2d(v.reshape(B, r3, Ho, Wo), h4[..., 0].t().reshape(-1, r3, 1, 1).contiguous(),
                        self.bias)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, ranks={self.ranks}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"bias={self.bias is not None}, algorithm={self.algorithm!r}")


class GlobalAvgPool2d(nn.Module):
    """Mean over all positions of each channel: (B, C, H, W) → (B, C), as ttnet's layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


# ---------------------------------------------------------------- batch norm across processes
class _AllReduceSum(torch.autograd.Function):
    """Sum over the processes of the default group, differentiable.

    The gradient of the sum with respect to each process's input is the sum of
    the output gradients of all processes (every process's loss depends on the
    sum), so the backward pass is the same all-reduce.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        out = x.clone()
        torch.distributed.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        out = grad.clone()
        torch.distributed.all_reduce(out)
        return out


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch normalisation with statistics over every process of the default group.

    In training mode, with ``torch.distributed`` initialised, the per-channel
    sums ``Σ x`` and ``Σ (x − μ)²`` and the value counts are summed over all
    processes with a differentiable all-reduce,
    so every process normalises with the mean and biased variance of the
    *whole* distributed batch, and the gradients are those of one process
    holding the whole batch. The running statistics get the unbiased variance
    of the whole batch (ttnet's and PyTorch's convention). Otherwise (evaluation,
    or no process group) it is ``torch.nn.BatchNorm1d/2d``.

    ``torch.nn.SyncBatchNorm`` does the same on GPUs only; this module works on
    any device and backend (gloo on CPUs, NCCL on GPUs). Parameters and
    buffers are those of ``torch.nn.BatchNorm2d``; input (B, C) or (B, C, H, W).
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() not in (2, 4):
            raise ValueError(f"SyncBatchNorm expects x of shape (B, C) or (B, C, H, W), got "
                             f"{x.dim()} dimensions (shape {tuple(x.shape)})")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        dist = torch.distributed
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(x)
        all_reduce = _AllReduceSum.apply
        C = x.shape[1]
        dims = [0] + list(range(2, x.dim()))
        view = [1, C] + [1] * (x.dim() - 2)
        count = x.new_full((1,), x.numel() // C)
        totals = all_reduce(torch.cat([x.sum(dims), count]))
        n = totals[C]
        mean = totals[:C] / n
        centred = x - mean.reshape(view)
        var = all_reduce((centred * centred).sum(dims)) / n
        out = centred * torch.rsqrt(var + self.eps).reshape(view)
        out = out * self.weight.reshape(view) + self.bias.reshape(view)
        with torch.no_grad():
            if n.item() < 2:
                raise ValueError(f"batch normalisation in training mode needs more than one "
                                 f"value per channel over all processes, got {int(n.item())}")
            self.num_batches_tracked.add_(1)
            self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
            self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))
        return out


def convert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``torch.nn.BatchNorm1d/2d`` in ``module`` by a :class:`SyncBatchNorm`.

    Parameters, buffers, ``eps``, ``momentum`` and the training mode are kept;
    the replaced modules are returned in place in the same container (``module``
    itself is returned, or a new SyncBatchNorm if it is a BatchNorm).
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {describe(module)}")
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        sync = SyncBatchNorm(module.num_features, module.eps, module.momentum,
                             device=module.weight.device, dtype=module.weight.dtype)
        sync.load_state_dict(module.state_dict())
        sync.train(module.training)
        return sync
    for name, child in module.named_children():
        setattr(module, name, convert_sync_batchnorm(child))
    return module


# ---------------------------------------------------------------- ttnet -> torch
_SUPPORTED = (L.Linear, L.Conv2d, L.BatchNorm1d, L.BatchNorm2d, L.ReLU, L.MaxPool2d, L.AvgPool2d,
              L.GlobalAvgPool2d, L.Flatten, L.Dropout, L.Sequential, T.TTLinear, T.TTConv2d,
              T.NaiveTTConv2d)
_SUPPORTED_NAMES = ", ".join(c.__name__ for c in _SUPPORTED)


def _unsupported(layer: Any, where: str) -> TypeError:
    return TypeError(f"{where} is a {type(layer).__name__}, which ttnet.interop.torch cannot "
                     f"convert; supported layers: {_SUPPORTED_NAMES}")


def _convert(layer: Module, where: str, algorithm: str | None) -> nn.Module:
    if isinstance(layer, L.Sequential):
        return nn.Sequential(*[_convert(child, f"{where}[{k}]", algorithm)
                               for k, child in enumerate(layer.layers)])
    if type(layer) is L.Linear:
        w = layer.params["weight"]
        out = nn.Linear(layer.in_features, layer.out_features, bias="bias" in layer.params,
                        dtype=_TORCH_DTYPES[w.dtype])
    elif type(layer) is L.Conv2d:
        w = layer.params["weight"]
        out = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                        layer.padding, bias="bias" in layer.params, dtype=_TORCH_DTYPES[w.dtype])
    elif type(layer) in (L.BatchNorm1d, L.BatchNorm2d):
        cls = nn.BatchNorm1d if type(layer) is L.BatchNorm1d else nn.BatchNorm2d
        out = cls(layer.num_features, eps=layer.eps, momentum=layer.momentum,
                  dtype=_TORCH_DTYPES[layer.params["gamma"].dtype])
    elif type(layer) is L.ReLU:
        out = nn.ReLU()
    elif type(layer) is L.MaxPool2d:
        out = nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding)
    elif type(layer) is L.AvgPool2d:
        out = nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding, count_include_pad=True)
    elif type(layer) is L.GlobalAvgPool2d:
        out = GlobalAvgPool2d()
    elif type(layer) is L.Flatten:
        out = nn.Flatten()
    elif type(layer) is L.Dropout:
        out = nn.Dropout(layer.p)
    elif type(layer) in (T.TTLinear, T.TTConv2d, T.NaiveTTConv2d):
        cls = {T.TTLinear: TTLinear, T.TTConv2d: TTConv2d, T.NaiveTTConv2d: NaiveTTConv2d}
        chosen = algorithm
        if chosen == "auto" and type(layer) is T.NaiveTTConv2d:
            chosen = None                   # the naive layer has no cost model: keep "full"
        out = cls[type(layer)].from_ttnet(layer, chosen)
    else:
        raise _unsupported(layer, where)
    out.train(layer.training)
    if not isinstance(out, _TTModule):
        with torch.no_grad():
            state = out.state_dict()
            for name, torch_name in _leaf_names(layer):
                arr = layer.params[name] if name in layer.params else layer.buffers[name]
                state[torch_name].copy_(_tensor(arr))
    return out


def to_torch(model: Module, algorithm: str | None = None) -> nn.Module:
    """The ttnet network ``model`` as a PyTorch module of the same structure and values.

    Parameters
    ----------
    model : ttnet.nn.Module
        A ``Sequential`` (e.g. from :func:`ttnet.models.build`) or a single layer
        of the supported kinds (module docstring).
    algorithm : {"auto", "full", "sequential", "separable"}, optional
        Algorithm of the TT modules; ``None`` keeps each layer's own
        (``"auto"`` is not applied to ``NaiveTTConv2d``, which keeps ``"full"``).
        ``"separable"`` exists for TT-conv only: a model with a TT-FC layer given
        it raises ``ValueError``.

    Returns
    -------
    torch.nn.Module
        ``torch.nn.Sequential`` for a ``Sequential`` (entry ``k`` is layer ``k``),
        else the converted layer; parameters of the model's dtype (float32 or
        float64) on the CPU, copies (not views) of ttnet's arrays, in the
        model's training / evaluation mode. BatchNorm layers carry the running
        statistics. Dropout masks are drawn by torch, not by the ttnet layer's rng.

    Raises
    ------
    TypeError
        ``model`` is not a ttnet Module, or contains a layer that cannot be
        converted (the message gives its position, e.g. ``model[3]``, and type).
    ValueError
        An unknown ``algorithm``.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
    if algorithm is not None and (not isinstance(algorithm, str)
                                  or algorithm not in ("auto",) + TF.CONV_ALGORITHMS):
        raise ValueError(f"algorithm must be None, 'auto', 'full', 'sequential' or 'separable', "
                         f"got {algorithm!r}")
    return _convert(model, "model", algorithm)


# ---------------------------------------------------------------- names
def _leaf_names(layer: Module) -> list[tuple[str, str]]:
    """``(ttnet name, torch state-dict name)`` of one layer's parameters and buffers."""
    rename = {"gamma": "weight", "beta": "bias"} if isinstance(layer, L._BatchNorm) else {}
    return [(name, rename.get(name, name)) for name in list(layer.params) + list(layer.buffers)]


def _walk(model: Module, prefix: str = "", where: str = "model"
          ) -> Iterator[tuple[str, str, Module]]:
    """``(path, where, layer)`` for every leaf layer: path ``"2.0."``, where ``model[2][0]``."""
    if isinstance(model, L.Sequential):
        for k, child in enumerate(model.layers):
            yield from _walk(child, f"{prefix}{k}.", f"{where}[{k}]")
    else:
        yield prefix, where, model


def torch_names(model: Module) -> dict[str, str]:
    """Map every ttnet parameter / buffer name of ``model`` to its torch state-dict key.

    The names are the same except BatchNorm's ``gamma`` → ``weight`` and
    ``beta`` → ``bias``: ``{"0.weight": "0.weight", "1.gamma": "1.weight",
    "1.running_mean": "1.running_mean", "3.core0": "3.core0", …}``.

    Raises
    ------
    TypeError
        ``model`` is not a ttnet Module or holds a layer without a torch twin.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
    names = {}
    for prefix, where, layer in _walk(model):
        if not isinstance(layer, _SUPPORTED):
            raise _unsupported(layer, where)
        for name, torch_name in _leaf_names(layer):
            names[prefix + name] = prefix + torch_name
    return names


# ---------------------------------------------------------------- torch -> ttnet
def _as_numpy(value: Any, key: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            raise TypeError(f"state_dict[{key!r}] must hold floating-point numbers, got a tensor "
                            f"of dtype {value.dtype}")
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind != "f":
            raise TypeError(f"state_dict[{key!r}] must hold floating-point numbers, got an "
                            f"array of dtype {value.dtype}")
        return value
    raise TypeError(f"state_dict[{key!r}] must be a torch.Tensor or an ndarray, got "
                    f"{describe(value)}")


def load_torch_state(state_dict: Mapping[str, Any], model: Module) -> None:
    """Copy a torch state dict (of :func:`to_torch`'s layout) into the ttnet ``model``.

    Every parameter and BatchNorm buffer of ``model`` is overwritten in place
    (so optimisers and views stay valid), cast to the model's dtype. Keys that
    all start with ``"module."`` (a ``DistributedDataParallel`` state dict) are
    read without it; BatchNorm's ``num_batches_tracked`` is ignored.

    Parameters
    ----------
    state_dict : mapping of str to torch.Tensor (or ndarray)
        E.g. ``module.state_dict()`` of the module :func:`to_torch` returned.
    model : ttnet.nn.Module
        A network of the same architecture.

    Raises
    ------
    TypeError
        ``state_dict`` is not a mapping, a value is not a floating-point
        tensor, or ``model`` is not a ttnet Module.
    ValueError
        Keys missing from the state dict, keys the model does not have, or
        shapes that differ: every difference is listed (key, torch shape,
        ttnet shape), and nothing is copied.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to tensors (module.state_dict()),"
                        f" got {describe(state_dict)}")
    names = torch_names(model)
    state = dict(state_dict)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    arrays = {**model.params, **model.buffers}
    expected = {torch_name: ttnet_name for ttnet_name, torch_name in names.items()}
    problems = []
    missing = [k for k in expected if k not in state]
    if missing:
        problems.append(f"missing from the state dict: {', '.join(missing)}")
    unexpected = [k for k in state if k not in expected and not k.endswith("num_batches_tracked")]
    if unexpected:
        problems.append(f"not in the ttnet model: {', '.join(unexpected)}")
    values = {}
    for key, ttnet_name in expected.items():
        if key not in state:
            continue
        value = _as_numpy(state[key], key)
        target = arrays[ttnet_name]
        if value.shape != target.shape:
            problems.append(f"{key}: shape {tuple(value.shape)} in the state dict, "
                            f"{target.shape} in the ttnet model ({ttnet_name})")
        values[ttnet_name] = value
    if problems:
        raise ValueError("the state dict does not fit the ttnet model (nothing was copied):\n  - "
                         + "\n  - ".join(problems))
    for ttnet_name, value in values.items():
        arrays[ttnet_name][...] = value


def _config(module: Any) -> dict[str, Any]:
    """The settings of a torch module that a ttnet twin must share (for error messages)."""
    if isinstance(module, nn.Linear):
        return {"in_features": module.in_features, "out_features": module.out_features,
                "bias": module.bias is not None}
    if isinstance(module, nn.Conv2d):
        return {"in_channels": module.in_channels, "out_channels": module.out_channels,
                "kernel_size": tuple(module.kernel_size), "stride": tuple(module.stride),
                "padding": tuple(module.padding), "bias": module.bias is not None,
                "dilation": tuple(module.dilation), "groups": module.groups}
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return {"num_features": module.num_features, "eps": module.eps,
                "momentum": module.momentum, "affine": module.affine}
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        pair = nn.modules.utils._pair
        out = {"kernel_size": pair(module.kernel_size), "stride": pair(module.stride),
               "padding": pair(module.padding), "ceil_mode": module.ceil_mode}
        if isinstance(module, nn.MaxPool2d):
            out["dilation"] = pair(module.dilation)
        else:
            out["count_include_pad"] = module.count_include_pad
        return out
    if isinstance(module, nn.Dropout):
        return {"p": module.p}
    if isinstance(module, nn.Flatten):
        return {"start_dim": module.start_dim, "end_dim": module.end_dim}
    if isinstance(module, (TTLinear, TTConv2d, NaiveTTConv2d)):
        out = {"ranks": module.ranks, "bias": module.bias is not None}
        for attr in ("in_modes", "out_modes", "in_channels", "out_channels", "kernel_size",
                     "stride", "padding"):
            if hasattr(module, attr):
                out[attr] = getattr(module, attr)
        return out
    return {}


_TWINS: dict[type, tuple[type, ...]] = {
    L.Linear: (nn.Linear,), L.Conv2d: (nn.Conv2d,),
    L.BatchNorm1d: (nn.BatchNorm1d, SyncBatchNorm), L.BatchNorm2d: (nn.BatchNorm2d, SyncBatchNorm),
    L.ReLU: (nn.ReLU,), L.MaxPool2d: (nn.MaxPool2d,), L.AvgPool2d: (nn.AvgPool2d,),
    L.GlobalAvgPool2d: (GlobalAvgPool2d,), L.Flatten: (nn.Flatten,), L.Dropout: (nn.Dropout,),
    T.TTLinear: (TTLinear,), T.TTConv2d: (TTConv2d,), T.NaiveTTConv2d: (NaiveTTConv2d,),
}


def _architecture_differences(module: nn.Module, layer: Module, where: str) -> list[str]:
    if isinstance(layer, L.Sequential):
        if not isinstance(module, nn.Sequential):
            return [f"{where}: the ttnet model has a Sequential of {len(layer)} layers, the "
                    f"torch module a {type(module).__name__}"]
        if len(module) != len(layer):
            return [f"{where}: the ttnet model has {len(layer)} layers, the torch module "
                    f"{len(module)}"]
        out = []
        for k, (child, sub) in enumerate(zip(module, layer.layers)):
            out += _architecture_differences(child, sub, f"{where}[{k}]")
        return out
    if type(layer) not in _TWINS:
        raise _unsupported(layer, where)
    if not isinstance(module, _TWINS[type(layer)]):
        return [f"{where}: the ttnet model has a {type(layer).__name__}, the torch module a "
                f"{type(module).__name__} (expected "
                f"{' or '.join(c.__name__ for c in _TWINS[type(layer)])})"]
    want = _config(_convert(layer, where, None))          # a torch twin with the layer's settings
    have = _config(module)
    differ = [f"{key} {have.get(key)!r} (torch) vs {want[key]!r} (ttnet)" for key in want
              if have.get(key) != want[key]]
    if differ:
        return [f"{where} ({type(layer).__name__}): " + ", ".join(differ)]
    return []


def from_torch(module: nn.Module, model: Module) -> None:
    """Copy the trained parameters and BatchNorm buffers of ``module`` into ``model``.

    ``module`` must have the architecture :func:`to_torch` gives for ``model``:
    the same layers in the same order, of the twin types (``torch.nn.BatchNorm*d``
    or :class:`SyncBatchNorm` for ttnet's BatchNorm) and with the same settings
    (channels, modes, ranks, kernel sizes, strides, paddings, eps, momentum, …).
    A ``DistributedDataParallel`` wrapper is looked through (its ``.module``).
    Then :func:`load_torch_state` copies the values, cast to the model's dtype.

    Raises
    ------
    TypeError
        ``module`` is not a torch module, ``model`` not a ttnet Module or holds a
        layer without a torch twin.
    ValueError
        The architectures differ: every difference is listed, by position
        (``model[3]``), type and setting; nothing is copied.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {describe(module)}")
    if not isinstance(model, Module):
        raise TypeError(f"model must be a ttnet.nn Module, got {describe(model)}")
    parallel = torch.nn.parallel.DistributedDataParallel
    if isinstance(module, parallel):
        module = module.module
    problems = _architecture_differences(module, model, "model")
    if problems:
        raise ValueError("the torch module does not have the architecture of the ttnet model "
                         "(nothing was copied):\n  - " + "\n  - ".join(problems))
    load_torch_state(module.state_dict(), model)
