"""Array algorithms that layers are built from.

* :mod:`ttnet.ops.im2col` — convolution as one matrix product: :func:`im2col`, its adjoint
  :func:`col2im`, and the direct loop :func:`conv2d_loop`;
* :mod:`ttnet.ops.winograd` — the 3×3 stride-1 convolution as 16 smaller products by
  Winograd's F(2×2, 3×3), forward and backward;
* :mod:`ttnet.ops.spatial_step` — the TT-conv's first step: every input channel convolved
  with the spatial core's filters;
* :mod:`ttnet.ops.workspace` — scratch arrays that layers keep between batches;
* :mod:`ttnet.ops.pool` — max pooling that records the position of each maximum
  (:func:`max_pool2d`) and its backward scatter (:func:`max_pool2d_backward`);
* :mod:`ttnet.ops.kernel_layouts` — the conv-kernel layouts: the paper's TT-matrix view
  (:func:`conv_kernel_to_tt`) and the naive 4-D TT (:func:`conv_kernel_to_naive_tt`);
* :mod:`ttnet.ops.contract` — the TT core step and the full reconstruction, with their
  reverse modes (used by the TT layers); :mod:`ttnet.ops.contract_loops` — the same step as
  numba loops, for notebook 04 and the benchmark only;
* :mod:`ttnet.ops._numba` — the ``TTNET_NUMBA`` switch between numba kernels and their NumPy
  twins (:func:`numba_enabled`).
"""

from ._numba import numba_enabled
from .im2col import col2im, conv2d_loop, conv_output_shape, im2col, window_params
from .kernel_layouts import (conv_kernel_to_naive_tt, conv_kernel_to_tt, kernel_to_matrix,
                      kernel_to_naive_tensor, matrix_to_kernel, naive_tensor_to_kernel,
                      tt_to_conv_kernel)
from .pool import max_pool2d, max_pool2d_backward, pool_params, pool_window

__all__ = ["im2col", "col2im", "conv2d_loop", "conv_output_shape", "window_params",
           "max_pool2d", "max_pool2d_backward", "pool_params", "pool_window", "numba_enabled",
           "kernel_to_matrix", "matrix_to_kernel", "conv_kernel_to_tt", "tt_to_conv_kernel",
           "kernel_to_naive_tensor", "naive_tensor_to_kernel", "conv_kernel_to_naive_tt"]
