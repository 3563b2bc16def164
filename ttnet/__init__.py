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


def _cpu_count() -> int:
    """The CPUs this process may run on (all of the machine's where the OS cannot tell)."""
    if hasattr(_os, "sched_getaffinity"):
        return len(_os.sched_getaffinity(0))
    return _os.cpu_count() or 1


def _numpy_uses_openblas() -> bool:
    """True if the loaded NumPy was built with OpenBLAS (False when it cannot tell)."""
    try:
        blas = _sys.modules["numpy"].__config__.CONFIG["Build Dependencies"]["blas"]["name"]
    except (AttributeError, KeyError, TypeError):
        return False
    return "openblas" in str(blas).lower()


# OpenBLAS worker threads busy-wait for about 0.1 s after every threaded matrix product;
# numba kernels that run right after one then share the cores with them and slow down
# about 2x (docs/design_notes.md, "One OpenBLAS setting at import"). A short spin timeout
# avoids that. OpenBLAS reads it once, when NumPy loads it, so it can only be set here if
# NumPy is not loaded yet; a value the user has set is always kept. If NumPy came first,
# remember it: the first numba kernel to run then says so, once (ttnet.ops._numba).
_OPENBLAS_SPINS = False
if "numpy" not in _sys.modules:
    _os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
else:
    _OPENBLAS_SPINS = ("OPENBLAS_THREAD_TIMEOUT" not in _os.environ
                       and _cpu_count() > 1
                       and _os.environ.get("OPENBLAS_NUM_THREADS", "").strip() != "1"
                       and _numpy_uses_openblas())

from .tt import TTMatrix, TTTensor, factorize, max_ranks, tt_round, tt_svd  # noqa: E402

__version__ = "0.1.0"

__all__ = ["TTTensor", "TTMatrix", "tt_svd", "tt_round", "factorize", "max_ranks", "__version__"]
