"""SoftmaxCrossEntropy: value, stability, gradient, dtype, errors."""

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttnet.gradcheck import check_function
from ttnet.nn import SoftmaxCrossEntropy
from ttnet.nn import functional as F


def naive_loss(logits, labels):
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return -np.mean(np.log(probs[np.arange(len(labels)), labels]))


@given(B=st.integers(1, 6), K=st.integers(2, 7), seed=st.integers(0, 2**32 - 1))
def test_value_and_gradient(B, K, seed):
    rng = np.random.default_rng(seed)
    # moderate logits: with a saturated softmax the loss hardly moves and finite differences
    # drown in round-off (see ttnet.gradcheck)
    logits, labels = rng.standard_normal((B, K)), rng.integers(0, K, B)
    loss_fn = SoftmaxCrossEntropy()
    np.testing.assert_allclose(loss_fn(logits, labels), naive_loss(logits, labels), rtol=1e-12)
    forward = functools.partial(F.softmax_cross_entropy_forward, labels=labels)
    result = check_function(forward, {"logits": logits}, F.softmax_cross_entropy_backward,
                            rng=seed + 1)
    assert result.passed(1e-7), str(result)


def test_backward_is_softmax_minus_onehot_over_batch():
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn(np.zeros((2, 4)), np.array([1, 3]))
    np.testing.assert_allclose(loss, np.log(4))
    expected = np.full((2, 4), 0.25)
    expected[[0, 1], [1, 3]] -= 1
    np.testing.assert_allclose(loss_fn.backward(), expected / 2)
    np.testing.assert_allclose(loss_fn.backward(3.0), 3 * expected / 2)


def test_large_logits_are_stable():
    loss_fn = SoftmaxCrossEntropy()
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4]], dtype=np.float32)
    loss = loss_fn(logits, np.array([0, 1]))
    assert np.isfinite(loss) and loss.dtype == np.float32
    np.testing.assert_allclose(loss, np.log(2) / 2, rtol=1e-6)
    assert np.all(np.isfinite(loss_fn.backward()))


def test_float32_stays_float32():
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn(np.ones((3, 5), np.float32), np.array([0, 1, 4]))
    assert loss.dtype == np.float32 and loss_fn.backward().dtype == np.float32


@pytest.mark.parametrize("logits, labels, error, words", [
    (np.array([[0.0, np.nan]]), np.array([0]), ValueError, "logits must contain only finite"),
    (np.array([[0.0, np.inf]]), np.array([0]), ValueError, "logits must contain only finite"),
    (np.zeros((2, 3)), np.array([0, 3]), ValueError, r"labels must be in \[0, 3\)"),
    (np.zeros((2, 3)), np.array([-1, 0]), ValueError, r"labels must be in \[0, 3\)"),
    (np.zeros((2, 3)), np.array([0, 1, 2]), ValueError, "one entry per row of logits"),
    (np.zeros((2, 3)), np.array([0.0, 1.0]), TypeError, "labels must be integer"),
    (np.zeros((2, 3)), np.array([[0], [1]]), ValueError, "labels must have 1 dimension"),
    (np.zeros(3), np.array([0]), ValueError, "logits must have 2 dimensions"),
    (np.zeros((0, 3), np.float32), np.zeros(0, int), ValueError,
     r"logits must have at least one row and one class.*got shape \(0, 3\)"),
    (np.zeros((2, 0)), np.zeros(2, int), ValueError,
     r"logits must have at least one row and one class.*got shape \(2, 0\)"),
])
def test_bad_input_raises_clear_error(logits, labels, error, words):
    with pytest.raises(error, match=words):
        SoftmaxCrossEntropy()(logits, labels)
    with pytest.raises(error, match=words):
        F.softmax_cross_entropy_forward(logits, labels)


def test_empty_batch_raises_before_any_warning():
    with np.errstate(all="raise"):                  # a NumPy warning would become an error here
        with pytest.raises(ValueError, match="logits must have at least one row"):
            SoftmaxCrossEntropy()(np.zeros((0, 4), np.float32), np.zeros(0, np.int64))
