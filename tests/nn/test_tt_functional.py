"""nn/tt_functional.py on its own: the TT layers' functions, one algorithm per function (the
layers' gradient checks through TTLinear / TTConv2d are in test_tt_layers.py)."""

import numpy as np
import pytest

from ttnet.nn.tt_layers import TTLinear


def test_split_functions_match_the_dispatchers():
    from ttnet.nn import tt_functional as TF
    rng = np.random.default_rng(0)
    lin = TTLinear((2, 3), (3, 2), 2, dtype=np.float64, rng=0)
    x, b = rng.standard_normal((4, 6)), rng.standard_normal(6)
    for alg in ("full", "sequential"):
        y, cache = getattr(TF, f"tt_linear_{alg}_forward")(x, lin.cores, b)
        y2, cache2 = TF.tt_linear_forward(x, lin.cores, b, alg)
        assert cache["algorithm"] == alg
        np.testing.assert_array_equal(y, y2)
        for g, g2 in zip(getattr(TF, f"tt_linear_{alg}_backward")(y, cache)[1],
                         TF.tt_linear_backward(y2, cache2)[1]):
            np.testing.assert_array_equal(g, g2)
    with pytest.raises(TypeError, match="cache must be the dict returned"):
        TF.tt_linear_backward(y, {"algorithm": "other"})
    with pytest.raises(TypeError, match="cache must be the dict returned"):
        TF.tt_conv2d_backward(y, None)
