"""ttnet: tensor-train compressed neural networks, from scratch in NumPy.

A readable reference implementation of *Ultimate tensorization: compressing
convolutional and FC layers alike* (Garipov et al., 2016), the TT-FC layer of
*Tensorizing Neural Networks* (Novikov et al., 2015) and the TT-SVD of
Oseledets (2011). Subpackages, lowest first: ``ttnet.tt`` (the format).
"""

from .tt import TTMatrix, TTTensor, factorize, max_ranks, tt_round, tt_svd

__version__ = "0.1.0"

__all__ = ["TTTensor", "TTMatrix", "tt_svd", "tt_round", "factorize", "max_ranks", "__version__"]
