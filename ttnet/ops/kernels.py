"""Deprecated name of :mod:`ttnet.ops.kernel_layouts` (removed in the next release).

The module holds layouts of convolution kernels, not numba kernels, and was
renamed; importing it under the old name warns and re-exports everything.
"""

import warnings

from .kernel_layouts import *  # noqa: F401,F403
from .kernel_layouts import __all__  # noqa: F401

warnings.warn("ttnet.ops.kernels was renamed ttnet.ops.kernel_layouts; the old name will be "
              "removed in the next release", DeprecationWarning, stacklevel=2)
