"""Loss functions as modules: ``forward(logits, labels) -> loss``, ``backward() -> dlogits``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import functional as F
from .module import Module

__all__ = ["SoftmaxCrossEntropy"]


class SoftmaxCrossEntropy(Module):
    """Mean cross-entropy of the softmax of the logits against integer labels.

    ``L = (1/B) Σ_b (log Σ_k exp z_bk − z_{b, y_b})``, with a stable
    log-sum-exp (:func:`ttnet.nn.functional.softmax_cross_entropy_forward`).

    Examples
    --------
    >>> import numpy as np
    >>> from ttnet.nn import SoftmaxCrossEntropy
    >>> loss_fn = SoftmaxCrossEntropy()
    >>> loss = loss_fn(np.zeros((2, 4), dtype=np.float32), np.array([0, 3]))
    >>> round(float(loss), 4)   # log 4
    1.3863
    >>> loss_fn.backward().shape
    (2, 4)
    """

    def forward(self, logits: np.ndarray, labels: Any) -> np.ndarray:
        """Mean loss over the batch.

        Parameters
        ----------
        logits : ndarray, shape (B, K) with B, K >= 1, float32 or float64, finite
        labels : ndarray of int, shape (B,), values in [0, K)

        Returns
        -------
        loss : 0-d ndarray of the dtype of ``logits``

        Raises
        ------
        ValueError
            For an empty batch (B = 0: the mean loss is undefined) or no classes,
            non-finite logits, or labels of the wrong length or out of range
            (each message names the argument).
        """
        loss, self._cache = F.softmax_cross_entropy_forward(logits, labels)
        return loss

    def backward(self, dout: Any = 1.0) -> np.ndarray:
        """∂(dout · L)/∂logits for the last forward, shape (B, K), dtype of the logits.

        ``dout`` is the upstream scalar gradient, 1 when L is the final loss.
        """
        return F.softmax_cross_entropy_backward(dout, self._last_cache())
