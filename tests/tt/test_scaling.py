"""tt/_scaling.py: power-of-two rescaling is exact, and stored cores keep the tensor in range."""

import math

import numpy as np
import pytest

from ttnet.tt._scaling import ldexp_float, max_abs, normalized, pow2_exponent, store_cores


@pytest.mark.parametrize("x", [1.0, 0.75, 3.0, 1e300, 5e-324, 2.0 ** -1030, 1234.5])
def test_pow2_exponent_brings_a_number_into_half_to_one(x):
    e = pow2_exponent(x)
    assert 0.5 <= math.ldexp(x, -e) < 1.0
    assert pow2_exponent(0.0) == 0


def test_normalized_is_exact_and_puts_the_largest_entry_in_half_to_one(rng):
    for scale in (1e-300, 1.0, 1e250):
        a = rng.standard_normal((4, 5)) * scale
        b, e = normalized(a)
        assert 0.5 <= max_abs(b) < 1.0
        assert np.array_equal(np.ldexp(b, e), a)            # bit for bit
    zero = np.zeros(3)
    assert normalized(zero)[1] == 0


def test_ldexp_float_saturates_to_a_signed_infinity():
    assert ldexp_float(0.75, 3) == 6.0
    assert ldexp_float(1.0, 5000) == math.inf and ldexp_float(-1.0, 5000) == -math.inf


def _full(cores):
    out = cores[0].astype(np.float64)
    for core in cores[1:]:
        out = np.tensordot(out, core.astype(np.float64), axes=(out.ndim - 1, 0))
    return out.reshape(out.shape[1:-1])


@pytest.mark.parametrize("exponent", [0, 40, 200, -200])
def test_store_cores_represents_the_scaled_tensor_with_finite_float32_cores(exponent, rng):
    q, _ = np.linalg.qr(rng.standard_normal((3, 2)))
    cores = [q.reshape(1, 3, 2), rng.standard_normal((2, 4, 1))]
    stored = store_cores(cores, exponent, np.float32)
    assert all(c.dtype == np.float32 and np.isfinite(c).all() for c in stored)
    expected = _full(cores)
    got = _full(stored)
    # compare in units of 2**exponent, so that the check itself cannot overflow
    got_scaled = got if exponent == 0 else np.ldexp(got, -exponent)
    assert np.allclose(got_scaled, expected, rtol=1e-6, atol=0)
    spread = abs(exponent) > 64                # 2**exponent alone would leave float32's range
    assert np.array_equal(stored[0], cores[0].astype(np.float32)) != spread
