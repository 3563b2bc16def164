"""Dense layers as :class:`~ttnet.nn.module.Module` objects over :mod:`ttnet.nn.functional`.

Every layer follows docs/conventions.md §5: ``forward(x)`` caches what ``backward``
needs; ``backward(dout)`` *writes* ``grads`` for the last forward (no
accumulation across calls) and returns ∂L/∂x. Layers with parameters keep
their dtype (float32 by default, float64 for gradient checks) and raise
``TypeError`` for an input of another dtype instead of converting it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import (as_float_array, check_allocation, check_bool, check_dtype, check_in_range,
                       check_int, check_rng)
from ..ops.im2col import window_params
from ..ops.pool import pool_window
from . import functional as F
from .init import he_normal
from .module import Module

__all__ = ["Linear", "Conv2d", "BatchNorm1d", "BatchNorm2d", "ReLU", "MaxPool2d", "AvgPool2d",
           "GlobalAvgPool2d", "Dropout", "Flatten", "Sequential"]


class Linear(Module):
    """Fully connected layer ``y = x Wᵀ + b``.

    Parameters
    ----------
    in_features, out_features : int
        N and M: x has shape (B, N), y has shape (B, M).
    bias : bool
        Whether to learn ``bias``.
    dtype : np.float32 or np.float64
    rng : np.random.Generator, int seed or None
        Draws the He-normal initial weight (:func:`ttnet.nn.init.he_normal`);
        the bias starts at zero.

    Attributes
    ----------
    params : ``weight`` (M, N) and, with ``bias=True``, ``bias`` (M,).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = np.float32, rng: Any = None) -> None:
        super().__init__()
        self.in_features = check_int(in_features, "in_features", minimum=1)
        self.out_features = check_int(out_features, "out_features", minimum=1)
        dtype = check_dtype(dtype)
        bias = check_bool(bias, "bias")
        check_allocation(self.out_features * (self.in_features + bias), dtype,
                         f"Linear(in_features={self.in_features}, "
                         f"out_features={self.out_features})")
        self.add_param("weight", he_normal((self.out_features, self.in_features),
                                           rng=check_rng(rng), dtype=dtype))
        if bias:
            self.add_param("bias", np.zeros(self.out_features, dtype=dtype))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(B, in_features) → (B, out_features)."""
        out, self._cache = F.linear_forward(x, self.params["weight"], self.params.get("bias"))
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Write ``grads["weight"]`` (and ``grads["bias"]``) of the last forward; return dx."""
        dx, _, dbias = F.linear_backward(dout, self._last_cache(),
                                         dweight_out=self.grads["weight"])
        self._write_grads(bias=dbias)
        return dx

    def weight(self) -> np.ndarray:
        """The dense (out_features, in_features) weight matrix, as a copy."""
        return self.params["weight"].copy()

    def extra_repr(self) -> str:
        return (f"{self.in_features}, {self.out_features}, bias={'bias' in self.params}, "
                f"dtype={self.params['weight'].dtype}")


class Conv2d(Module):
    """2-D convolution (cross-correlation) of NCHW batches, by im2col or Winograd's F(2×2, 3×3).

    ``Y[b, s, p, q] = Σ_{c,i,j} K[s, c, i, j] · X̃[b, c, p·sh + i, q·sw + j] + bias[s]``
    (:func:`ttnet.nn.functional.conv2d_forward`).

    Parameters
    ----------
    in_channels, out_channels : int
        C and S.
    kernel_size : int or pair of int
        ``(kh, kw)``.
    stride : int or pair of int
    padding : int or pair of int
        Zero padding on each side.
    bias : bool
    dtype : np.float32 or np.float64
    rng : np.random.Generator, int seed or None
        Draws the He-normal initial kernel; the bias starts at zero.
    algorithm : {"auto", "im2col", "winograd"}
        How to compute the convolution (:func:`ttnet.nn.functional.conv_algorithm`);
        ``"auto"`` runs Winograd's algorithm for 3×3 stride-1 kernels on
        ``WINOGRAD_MIN_CHANNELS`` (32) or more input channels and a batch of at least
        ``WINOGRAD_MIN_TILES`` (512) 2×2 output tiles when the numba kernels are on,
        im2col otherwise (decided on every call, from the batch it gets).

    Attributes
    ----------
    params : ``weight`` (S, C, kh, kw) and, with ``bias=True``, ``bias`` (S,).

    Notes
    -----
    The layer keeps its scratch arrays between batches (the patch matrix and
    its gradient, each C·kh·kw·B·H'·W' numbers, or Winograd's transformed
    tiles, 16·C·B·H'·W'/4 numbers each): allocating them afresh costs about as
    much as filling them.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, bias: bool = True, dtype: Any = np.float32,
                 rng: Any = None, algorithm: str = "auto") -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", minimum=1)
        self.out_channels = check_int(out_channels, "out_channels", minimum=1)
        self.kernel_size, self.stride, self.padding = window_params(kernel_size, stride, padding)
        F.conv_algorithm(algorithm, self.kernel_size, self.stride, self.in_channels)  # checks it
        self.algorithm = algorithm
        dtype = check_dtype(dtype)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        bias = check_bool(bias, "bias")
        check_allocation(math.prod(shape) + bias * self.out_channels, dtype,
                         f"Conv2d(in_channels={self.in_channels}, out_channels="
                         f"{self.out_channels}, kernel_size={self.kernel_size})")
        self.add_param("weight", he_normal(shape, rng=check_rng(rng), dtype=dtype))
        if bias:
            self.add_param("bias", np.zeros(self.out_channels, dtype=dtype))
        self._workspace: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(B, C, H, W) → (B, S, H', W')."""
        out, self._cache = F.conv2d_forward(x, self.params["weight"], self.params.get("bias"),
                                            self.stride, self.padding,
                                            workspace=self._workspace, algorithm=self.algorithm)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Write ``grads["weight"]`` (and ``grads["bias"]``) of the last forward; return dx."""
        dx, dweight, dbias = F.conv2d_backward(dout, self._last_cache())
        self._write_grads(weight=dweight, bias=dbias)
        return dx

    def weight(self) -> np.ndarray:
        """The dense (S, C, kh, kw) kernel, as a copy."""
        return self.params["weight"].copy()

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={'bias' in self.params}, "
                f"dtype={self.params['weight'].dtype}"
                + (f", algorithm={self.algorithm!r}" if self.algorithm != "auto" else ""))


class _BatchNorm(Module):
    """Shared code of BatchNorm1d and BatchNorm2d (they differ in the input's ndim)."""

    _ndim: int
    _layout: str

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.num_features = check_int(num_features, "num_features", minimum=1)
        self.eps = check_in_range(eps, "eps", 0.0, np.inf, include_low=False)
        self.momentum = check_in_range(momentum, "momentum", 0.0, 1.0)
        dtype = check_dtype(dtype)
        self.add_param("gamma", np.ones(self.num_features, dtype=dtype))
        self.add_param("beta", np.zeros(self.num_features, dtype=dtype))
        self.add_buffer("running_mean", np.zeros(self.num_features, dtype=dtype))
        self.add_buffer("running_var", np.ones(self.num_features, dtype=dtype))

    @property
    def running_mean(self) -> np.ndarray:
        """Running average of the batch means (updated in place in training mode)."""
        return self.buffers["running_mean"]

    @property
    def running_var(self) -> np.ndarray:
        """Running average of the unbiased batch variances (updated in place)."""
        return self.buffers["running_var"]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Normalise with batch statistics (training) or running statistics (evaluation).

        In training mode the running statistics are then updated, as in PyTorch:
        ``running = (1 − momentum) · running + momentum · batch_statistic``,
        where the variance fed in is the *unbiased* batch variance
        ``σ² · m / (m − 1)`` (m values per channel), while the normalisation
        itself uses the biased σ².
        """
        arr = as_float_array(x, "x", finite=False)
        if arr.ndim != self._ndim:
            raise ValueError(f"{type(self).__name__} expects x of shape {self._layout}, got "
                             f"{arr.ndim} dimensions (shape {arr.shape})")
        if not isinstance(x, np.ndarray):
            x = arr           # the functional form names the dtype of an ndarray as given
        out, cache = F.batchnorm_forward(
            x, self.params["gamma"], self.params["beta"], eps=self.eps, training=self.training,
            running_mean=self.running_mean, running_var=self.running_var)
        if self.training:
            m, keep = cache["m"], 1 - self.momentum
            self.running_mean[...] = keep * self.running_mean + self.momentum * cache["mean"]
            self.running_var[...] = (keep * self.running_var
                                     + (self.momentum * m / (m - 1)) * cache["var"])
        self._cache = cache
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Write ``grads["gamma"]``, ``grads["beta"]`` of the last forward; return dx.

        Uses the mode of the last forward (batch statistics depend on x in
        training mode; running statistics are constants in evaluation mode).
        """
        dx, dgamma, dbeta = F.batchnorm_backward(dout, self._last_cache())
        self._write_grads(gamma=dgamma, beta=dbeta)
        return dx

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"dtype={self.params['gamma'].dtype}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (B, C) features (:func:`ttnet.nn.functional.batchnorm_forward`).

    Parameters
    ----------
    num_features : int
        C.
    eps : float
        Added to the variance; the attribute ``eps`` is what forward uses.
    momentum : float in [0, 1]
        Weight of the new batch in the running averages (PyTorch convention).
    dtype : np.float32 or np.float64

    Attributes
    ----------
    params : ``gamma`` (C,) = 1 and ``beta`` (C,) = 0 initially.
    running_mean, running_var : ndarray (C,)
        Buffers (also in ``buffers``), 0 and 1 initially, used in eval mode.
    """

    _ndim, _layout = 2, "(B, C)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of NCHW feature maps, statistics per channel over (B, H, W).

    Parameters and attributes as :class:`BatchNorm1d`.
    """

    _ndim, _layout = 4, "(B, C, H, W)"


class ReLU(Module):
    """``y = max(x, 0)``, any shape; the gradient at 0 is taken as 0."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self._cache = F.relu_forward(x)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.relu_backward(dout, self._last_cache())


class _Pool2d(Module):
    """Shared constructor of MaxPool2d and AvgPool2d."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = pool_window(kernel_size, stride, padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max pooling of NCHW maps; padding is −∞ and never wins the max.

    The gradient of each window goes to one maximum: the first in row-major
    window order when entries tie (:func:`ttnet.nn.functional.maxpool2d_forward`).

    Parameters
    ----------
    kernel_size : int or pair of int
    stride : int or pair of int, optional
        Defaults to ``kernel_size``.
    padding : int or pair of int
        At most half of the kernel size (every window holds a real value).
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(B, C, H, W) → (B, C, H', W')."""
        out, self._cache = F.maxpool2d_forward(x, self.kernel_size, self.stride, self.padding)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.maxpool2d_backward(dout, self._last_cache())


class AvgPool2d(_Pool2d):
    """Average pooling of NCHW maps; padded zeros count in the divisor ``kh·kw``.

    This is PyTorch's default ``count_include_pad=True``. Parameters as
    :class:`MaxPool2d`.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(B, C, H, W) → (B, C, H', W')."""
        out, self._cache = F.avgpool2d_forward(x, self.kernel_size, self.stride, self.padding)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.avgpool2d_backward(dout, self._last_cache())


class GlobalAvgPool2d(Module):
    """Mean over all positions of each channel: (B, C, H, W) → (B, C)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self._cache = F.global_avgpool2d_forward(x)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.global_avgpool2d_backward(dout, self._last_cache())


class Dropout(Module):
    """Inverted dropout: zero each entry with probability ``p`` and scale the rest by 1/(1−p).

    The identity in evaluation mode (:meth:`eval`). The masks are drawn from
    ``rng``, so a seed reproduces them.

    Parameters
    ----------
    p : float in [0, 1)
    rng : np.random.Generator, int seed or None
    """

    def __init__(self, p: float = 0.5, rng: Any = None) -> None:
        super().__init__()
        self.p = check_in_range(p, "p", 0.0, 1.0, include_high=False)
        self.rng = check_rng(rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self._cache = F.dropout_forward(x, self.p, self.rng, training=self.training)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return F.dropout_backward(dout, self._last_cache())

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Module):
    """(B, d1, d2, ...) → (B, d1·d2·…), row-major (a reshape, no copy)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "x", min_ndim=2, finite=False)
        out = x.reshape(x.shape[0], math.prod(x.shape[1:]))    # not -1: B may be 0
        self._cache = {"x_shape": x.shape, "out_shape": out.shape, "dtype": x.dtype}
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        cache = self._last_cache()
        return F.check_dout(dout, cache).reshape(cache["x_shape"])


class Sequential(Module):
    """Layers applied in order; backward runs through them in reverse.

    ``params``, ``grads`` and ``buffers`` hold the children's arrays (the same
    objects, not copies) under dotted names: ``"0.weight"``, ``"1.gamma"``,
    ``"1.running_mean"``, ... (nested Sequentials give ``"2.0.weight"``).
    Updating ``seq.params[name]`` in place therefore updates the child.

    Parameters
    ----------
    *layers : Module

    Examples
    --------
    >>> import numpy as np
    >>> from ttnet.nn import Sequential, Linear, ReLU
    >>> net = Sequential(Linear(4, 8, rng=0), ReLU(), Linear(8, 2, rng=1))
    >>> sorted(net.params)
    ['0.bias', '0.weight', '2.bias', '2.weight']
    >>> net(np.ones((3, 4), dtype=np.float32)).shape
    (3, 2)
    """

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for k, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"layers[{k}] must be a ttnet.nn Module, got "
                                f"{type(layer).__name__}")
        self.layers = list(layers)
        for k, layer in enumerate(self.layers):
            for name, value in layer.params.items():
                self.params[f"{k}.{name}"] = value
                self.grads[f"{k}.{name}"] = layer.grads[name]
            for name, value in layer.buffers.items():
                self.buffers[f"{k}.{name}"] = value

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Backward through every layer in reverse; each writes its own grads."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def children(self) -> list[Module]:
        return list(self.layers)

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        lines = [f"  ({k}): {layer!r}".replace("\n", "\n  ") for k, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"
