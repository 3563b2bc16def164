"""ttnet: tensor-train compressed neural networks, from scratch in NumPy.

A readable reference implementation of *Ultimate tensorization: compressing
convolutional and FC layers alike* (Garipov et al., 2016), the TT-FC layer of
*Tensorizing Neural Networks* (Novikov et al., 2015) and the TT-SVD of
Oseledets (2011). Subpackages, lowest first:

* ``ttnet.tt`` -- the tensor-train format (TTTensor, TTMatrix, tt_svd, tt_round);
* ``ttnet.ops`` -- im2col convolution, conv-kernel reshaping, TT contractions;
* ``ttnet.nn`` -- layers with hand-written backward passes, dense and TT;
* ``ttnet.gradcheck`` -- finite-difference checks of backward passes;
* ``ttnet.data``, ``ttnet.train``, ``ttnet.models``, ``ttnet.experiments`` -- training
  the paper's networks on real images; ``ttnet.cli`` -- the ``ttnet`` command.
"""

import os as _os
import sys as _sys

# OpenBLAS worker threads busy-wait after every matrix product; numba kernels that run
# right after one then share the cores with them and slow down about 2x
# (benchmarks/bench_layers.py). A short spin timeout avoids that. It only takes effect if
# NumPy is not loaded yet, and a value the user has set is kept.
if "numpy" not in _sys.modules:
    _os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from .tt import TTMatrix, TTTensor, factorize, max_ranks, tt_round, tt_svd  # noqa: E402

__version__ = "0.1.0"

__all__ = ["TTTensor", "TTMatrix", "tt_svd", "tt_round", "factorize", "max_ranks", "__version__"]
