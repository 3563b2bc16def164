"""Neural-network layers with hand-written backward passes (docs/conventions.md §5).

* :mod:`ttnet.nn.functional` — the maths as pure ``*_forward`` / ``*_backward`` functions;
* :mod:`ttnet.nn.module` — the :class:`Module` base class (``params``, ``grads``, ``forward``,
  ``backward``, ``train``, ``eval``, ``n_params``);
* :mod:`ttnet.nn.layers` — Linear, Conv2d, BatchNorm1d/2d, ReLU, MaxPool2d, AvgPool2d,
  GlobalAvgPool2d, Dropout, Flatten, Sequential;
* :mod:`ttnet.nn.losses` — SoftmaxCrossEntropy;
* :mod:`ttnet.nn.init` — He and Glorot initialisers, and the TT-aware :func:`~ttnet.nn.init.tt_normal_cores`;
* :mod:`ttnet.nn.tt_functional` and :mod:`ttnet.nn.tt_layers` — the TT layers TTLinear (TT-FC),
  TTConv2d (the paper's TT-conv) and NaiveTTConv2d (the baseline).
"""

from . import functional, init, tt_functional
from .layers import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten,
                     GlobalAvgPool2d, Linear, MaxPool2d, ReLU, Sequential)
from .losses import SoftmaxCrossEntropy
from .module import Module
from .tt_layers import NaiveTTConv2d, TTConv2d, TTLinear

__all__ = ["Module", "Linear", "Conv2d", "BatchNorm1d", "BatchNorm2d", "ReLU", "MaxPool2d",
           "AvgPool2d", "GlobalAvgPool2d", "Dropout", "Flatten", "Sequential",
           "SoftmaxCrossEntropy", "TTLinear", "TTConv2d", "NaiveTTConv2d", "functional",
           "tt_functional", "init"]
