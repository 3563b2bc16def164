"""The CIFAR-10 batch parser on pickles laid out like the official files."""

import os
import pickle

import numpy as np
import pytest

from ttnet.data import DatasetError, parse_cifar_batch

from . import cifar_batch_bytes


def test_batch_round_trip_in_nchw_order(rng):
    images = rng.integers(0, 256, size=(4, 3, 32, 32), dtype=np.uint8)
    labels = [3, 0, 9, 1]
    out_images, out_labels = parse_cifar_batch(cifar_batch_bytes(images, labels), "data_batch_1")
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, labels)
    assert out_images.dtype == np.uint8 and out_labels.dtype == np.int64
    assert out_images.flags.writeable


def test_rows_are_red_then_green_then_blue():
    # The official layout: 1024 red values, 1024 green, 1024 blue, each row-major.
    row = np.concatenate([np.full(1024, 10), np.full(1024, 20), np.arange(1024) % 256]).astype(np.uint8)
    batch = {b"data": row[None, :], b"labels": [7]}
    images, _ = parse_cifar_batch(pickle.dumps(batch, protocol=2))
    assert (images[0, 0] == 10).all() and (images[0, 1] == 20).all()
    np.testing.assert_array_equal(images[0, 2, 0, :5], [0, 1, 2, 3, 4])      # row-major within a channel
    assert images[0, 2, 1, 0] == 32


@pytest.mark.parametrize("numpy1_names", [True, False])
def test_numpy1_and_numpy2_pickles_load(rng, numpy1_names):
    images = rng.integers(0, 256, size=(2, 3, 32, 32), dtype=np.uint8)
    data = cifar_batch_bytes(images, [1, 2], numpy1_names=numpy1_names)
    assert (b"numpy.core.multiarray" in data) == numpy1_names
    np.testing.assert_array_equal(parse_cifar_batch(data)[0], images)


def test_str_keys_and_array_labels_are_accepted(rng):
    data = rng.integers(0, 256, size=(2, 3072), dtype=np.uint8)
    batch = pickle.dumps({"data": data, "labels": np.array([4, 5])})
    images, labels = parse_cifar_batch(batch)
    np.testing.assert_array_equal(labels, [4, 5])
    np.testing.assert_array_equal(images.reshape(2, -1), data)


def test_empty_batch():
    images, labels = parse_cifar_batch(pickle.dumps({b"data": np.zeros((0, 3072), np.uint8), b"labels": []}))
    assert images.shape == (0, 3, 32, 32) and labels.shape == (0,)


class _Sneaky:
    def __reduce__(self):
        return (os.getpid, ())


def test_pickles_with_other_globals_are_refused():
    data = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0], b"x": _Sneaky()}, protocol=2)
    with pytest.raises(DatasetError, match=r"data_batch_1: .*refusing to load global '(posix|nt)\.getpid'"):
        parse_cifar_batch(data, "data_batch_1")


def _good(n=2):
    return {b"data": np.zeros((n, 3072), np.uint8), b"labels": list(range(n))}


@pytest.mark.parametrize("data, message", [
    (b"not a pickle at all", "cannot unpickle"),
    (pickle.dumps(_good(), protocol=2)[:-40], "cannot unpickle"),
    (b"", "cannot unpickle"),
    (pickle.dumps([1, 2, 3]), "expected a pickled dict, got list"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}), r"missing key\(s\) \['labels'\]"),
    (pickle.dumps({**_good(), b"data": np.zeros((2, 3072), np.float32)}), "'data' must be a uint8 array"),
    (pickle.dumps({**_good(), b"data": np.zeros((2, 1024), np.uint8)}), "'data' must be a uint8 array"),
    (pickle.dumps({**_good(), b"data": [[0] * 3072] * 2}), "'data' must be a uint8 array"),
    (pickle.dumps({**_good(), b"labels": [0, 1, 2]}), "2 images but 3 labels"),
    (pickle.dumps({**_good(), b"labels": [0, 10]}), r"labels must lie in 0..9"),
    (pickle.dumps({**_good(), b"labels": [-1, 0]}), r"labels must lie in 0..9"),
    (pickle.dumps({**_good(), b"labels": ["cat", "dog"]}), "'labels' must be a list of integers"),
    (pickle.dumps({**_good(), b"labels": [[0], [1, 2]]}), "'labels' must be a list of integers"),
    (pickle.dumps({**_good(), b"labels": [0.5, 1.0]}), "'labels' must be a list of integers"),
])
def test_malformed_batches_raise_naming_the_file(data, message):
    with pytest.raises(DatasetError, match=message) as info:
        parse_cifar_batch(data, "cifar-10-batches-py/test_batch")
    assert str(info.value).startswith("cifar-10-batches-py/test_batch: ")


def test_argument_errors():
    with pytest.raises(TypeError, match="data must be bytes"):
        parse_cifar_batch("abc")
    with pytest.raises(TypeError, match="filename must be a string"):
        parse_cifar_batch(b"abc", None)
