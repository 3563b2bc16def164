"""zero_pad, Normalizer, augment and batches, each checked against an obvious per-image loop."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttnet.data import BatchIterator, Dataset, Normalizer, augment, batches, num_batches, zero_pad
from ttnet.data.transforms import _draw_augmentation


# ----------------------------------------------------------------------------- zero_pad

def test_zero_pad(rng):
    x = rng.integers(1, 256, size=(3, 2, 5, 4), dtype=np.uint8)
    out = zero_pad(x, 2)
    assert out.shape == (3, 2, 9, 8) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, :, 2:7, 2:6], x)
    assert out.sum(dtype=np.int64) == x.sum(dtype=np.int64)      # everything else is zero
    same = zero_pad(x, 0)
    np.testing.assert_array_equal(same, x)
    assert not np.shares_memory(same, x)


def test_zero_pad_errors():
    with pytest.raises(ValueError, match="pad must be >= 0"):
        zero_pad(np.zeros((1, 1, 2, 2)), -1)
    with pytest.raises(TypeError, match="pad must be an integer"):
        zero_pad(np.zeros((1, 1, 2, 2)), 1.0)
    with pytest.raises(ValueError, match=r"images must have shape \(N, C, H, W\), got 3 dimensions"):
        zero_pad(np.zeros((1, 2, 2)), 1)
    with pytest.raises(TypeError, match="images must be a NumPy array"):
        zero_pad([[[[1]]]], 1)
    with pytest.raises(TypeError, match="images must have an integer or floating dtype"):
        zero_pad(np.zeros((1, 1, 2, 2), dtype=complex), 1)


# ----------------------------------------------------------------------------- Normalizer

def test_normalizer_fit_matches_numpy(rng):
    x = rng.integers(0, 256, size=(50, 3, 6, 7), dtype=np.uint8)
    x[:, 1] //= 4                                                  # channels with different statistics
    norm = Normalizer.fit(x)
    np.testing.assert_allclose(norm.mean, x.mean(axis=(0, 2, 3), dtype=np.float64), rtol=1e-12)
    np.testing.assert_allclose(norm.std, x.astype(np.float64).std(axis=(0, 2, 3)), rtol=1e-12)
    small_chunks = Normalizer.fit(x, chunk_size=7)
    np.testing.assert_allclose(small_chunks.mean, norm.mean, rtol=1e-12)
    np.testing.assert_allclose(small_chunks.std, norm.std, rtol=1e-12)


def test_normalizer_standardises_the_training_set(rng):
    x = rng.integers(0, 256, size=(40, 2, 8, 8), dtype=np.uint8)
    norm = Normalizer.fit(x)
    y = norm(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-5)


def test_normalizer_applies_training_statistics_to_other_data(rng):
    train = rng.integers(0, 256, size=(30, 3, 4, 4), dtype=np.uint8)
    test = rng.integers(100, 200, size=(5, 3, 4, 4), dtype=np.uint8)
    norm = Normalizer.fit(train)
    out = norm(test, dtype=np.float64)
    assert out.dtype == np.float64
    for c in range(3):  # the loop version of the formula
        np.testing.assert_allclose(out[:, c], (test[:, c] - norm.mean[c]) / norm.std[c], rtol=1e-12)
    np.testing.assert_allclose(norm.inverse(out), test, atol=1e-10)
    floats = norm(test.astype(np.float32))                         # float input works too
    np.testing.assert_allclose(floats, out, rtol=1e-5, atol=1e-5)


def test_normalizer_from_given_statistics():
    norm = Normalizer([10.0, 20.0], [2, 4])
    x = np.full((1, 2, 1, 1), 30, np.uint8)
    np.testing.assert_allclose(norm(x).ravel(), [10.0, 2.5])
    assert repr(norm) == "Normalizer(mean=[10, 20], std=[2, 4])"
    assert norm.inverse(norm(x)).dtype == np.float32


@pytest.mark.parametrize("call, error, message", [
    (lambda: Normalizer([0.0], [0.0]), ValueError, "std must be positive"),
    (lambda: Normalizer([0.0, 1.0], [1.0]), ValueError, "same shape"),
    (lambda: Normalizer([], []), ValueError, "at least one channel"),
    (lambda: Normalizer([[0.0]], [[1.0]]), ValueError, "mean must have 1 dimensions"),
    (lambda: Normalizer(["a"], [1.0]), TypeError, "mean must be a real numeric array"),
    (lambda: Normalizer([np.nan], [1.0]), ValueError, "mean must contain only finite numbers"),
    (lambda: Normalizer.fit(np.zeros((4, 2, 3, 3), np.uint8) + np.array([0, 1], np.uint8)[:, None, None]),
     ValueError, r"constant channel \(std = 0 in channel\(s\) \[0, 1\]\)"),
    (lambda: Normalizer.fit(np.zeros((0, 1, 3, 3), np.uint8)), ValueError, "must not be empty"),
    (lambda: Normalizer.fit(np.full((2, 1, 2, 2), np.nan)), ValueError, "images must contain only finite"),
    (lambda: Normalizer.fit(np.zeros((2, 3, 3), np.uint8)), ValueError, r"shape \(N, C, H, W\)"),
    (lambda: Normalizer.fit(np.ones((2, 1, 3, 3)), chunk_size=0), ValueError, "chunk_size must be >= 1"),
    (lambda: Normalizer([0.0], [1.0])(np.zeros((1, 3, 2, 2))), ValueError, r"must have 1 channel\(s\)"),
    (lambda: Normalizer([0.0], [1.0])(np.zeros((1, 1, 2, 2)), dtype=np.int32), TypeError, "dtype must be"),
    (lambda: Normalizer([0.0], [1.0]).inverse(np.zeros((1, 2, 2, 2))), ValueError, r"1 channel\(s\)"),
])
def test_normalizer_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------------- augment

def augment_loop(images, seed, *, flip, pad=4, contrast=(0.75, 1.25)):
    """The obvious version: one image at a time, same random numbers as augment."""
    rng = np.random.default_rng(seed)
    draws = _draw_augmentation(rng, len(images), pad, flip, contrast)
    dtype = images.dtype if images.dtype.kind == "f" else np.dtype(np.float32)
    out = np.empty(images.shape, dtype)
    h, w = images.shape[2:]
    for n, image in enumerate(images):
        padded = np.pad(image, ((0, 0), (pad, pad), (pad, pad)))
        dy, dx = draws["offsets"][n]
        crop = padded[:, dy:dy + h, dx:dx + w].astype(dtype)
        if draws["flips"][n]:
            crop = crop[:, :, ::-1]
        if contrast is not None:
            for c in range(len(crop)):
                m = crop[c].mean()
                crop[c] = (crop[c] - m) * dtype.type(draws["factors"][n]) + m
        out[n] = crop
    return out


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("pad", [0, 1, 4])
@pytest.mark.parametrize("contrast", [None, (0.75, 1.25)])
def test_augment_matches_the_loop(rng, flip, pad, contrast):
    x = rng.integers(0, 256, size=(16, 3, 10, 9), dtype=np.uint8)
    out = augment(x, np.random.default_rng(7), flip=flip, pad=pad, contrast=contrast)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out, augment_loop(x, 7, flip=flip, pad=pad, contrast=contrast),
                               rtol=1e-5, atol=1e-4)


@given(n=st.integers(0, 5), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7),
       pad=st.integers(0, 5), flip=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_augment_matches_the_loop_property(n, c, h, w, pad, flip, seed):
    x = np.random.default_rng(seed).standard_normal((n, c, h, w))
    out = augment(x, seed, flip=flip, pad=pad)
    assert out.dtype == np.float64 and out.shape == x.shape
    np.testing.assert_allclose(out, augment_loop(x, seed, flip=flip, pad=pad), rtol=1e-12, atol=1e-12)


def test_augment_is_seeded_and_does_not_touch_its_input(rng):
    x = rng.integers(0, 256, size=(8, 1, 32, 32), dtype=np.uint8)
    before = x.copy()
    a = augment(x, np.random.default_rng(3), flip=True)
    np.testing.assert_array_equal(a, augment(x, 3, flip=True))
    assert not np.array_equal(a, augment(x, 4, flip=True))
    np.testing.assert_array_equal(x, before)


def test_augment_without_randomness_is_the_identity(rng):
    x = rng.integers(0, 256, size=(4, 3, 32, 32), dtype=np.uint8)
    np.testing.assert_array_equal(augment(x, 0, flip=False, pad=0, contrast=None), x.astype(np.float32))
    np.testing.assert_allclose(augment(x, 0, flip=False, pad=0, contrast=(1.0, 1.0)), x, atol=1e-4)


def test_augment_crops_are_shifted_windows_of_the_padded_image(rng):
    x = rng.integers(1, 256, size=(200, 1, 32, 32), dtype=np.uint8)    # no zeros inside the images
    out = augment(x, 0, flip=False, contrast=None)
    draws = _draw_augmentation(np.random.default_rng(0), 200, 4, False, None)
    assert draws["offsets"].min() == 0 and draws["offsets"].max() == 8  # every shift in [-4, 4] occurs
    for n in (0, 57, 199):
        sy, sx = draws["offsets"][n] - 4          # out[r, c] = x[r + sy, c + sx] where that exists
        np.testing.assert_array_equal(out[n, 0, max(-sy, 0):32 - max(sy, 0), max(-sx, 0):32 - max(sx, 0)],
                                      x[n, 0, max(sy, 0):32 + min(sy, 0), max(sx, 0):32 + min(sx, 0)])
        assert (out[n] == 0).sum() == 32 * 32 - (32 - abs(sy)) * (32 - abs(sx))   # the rest is padding


def test_augment_flips_about_half_and_only_left_right(rng):
    x = rng.integers(0, 256, size=(400, 2, 6, 6), dtype=np.uint8)
    out = augment(x, 1, flip=True, pad=0, contrast=None)
    flipped = np.all(out == x[:, :, :, ::-1], axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped | kept)
    assert 150 < flipped.sum() < 250


def test_augment_contrast_keeps_channel_means_and_scales_deviations(rng):
    x = rng.integers(0, 256, size=(300, 3, 8, 8), dtype=np.uint8).astype(np.float64)
    out = augment(x, 2, flip=False, pad=0, contrast=(0.75, 1.25))
    np.testing.assert_allclose(out.mean(axis=(2, 3)), x.mean(axis=(2, 3)), atol=1e-9)
    ratio = out.std(axis=(2, 3)) / x.std(axis=(2, 3))                    # the factor of each image
    assert np.allclose(ratio, ratio[:, :1])                             # one factor for all channels
    assert 0.75 <= ratio.min() and ratio.max() <= 1.25
    assert ratio.min() < 0.8 and ratio.max() > 1.2                      # the whole range is used


def test_augment_then_normalise_pipeline(rng):
    train = Dataset(rng.integers(0, 256, size=(64, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, 64))
    norm = Normalizer.fit(train.images)
    for x, y in batches(train, 16, rng=0):
        z = norm(augment(x, rng, flip=train.horizontal_flip))
        assert z.dtype == np.float32 and z.shape == (16, 3, 32, 32) and y.shape == (16,)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(flip=1), TypeError, "flip must be True or False"),
    (dict(flip=True, pad=-1), ValueError, "pad must be >= 0"),
    (dict(flip=True, contrast=(1.25, 0.75)), ValueError, r"0 <= low <= high, got \(1.25, 0.75\)"),
    (dict(flip=True, contrast=(-0.5, 1.0)), ValueError, "0 <= low <= high"),
    (dict(flip=True, contrast="big"), TypeError, r"contrast must be None or a pair"),
    (dict(flip=True, contrast=(0.5,)), TypeError, r"contrast must be None or a pair"),
    (dict(flip=True, contrast=(0.5, np.inf)), TypeError, "two finite real numbers"),
    (dict(flip=True, contrast=(0.5, True)), TypeError, "two finite real numbers"),
    (dict(flip=True, rng="seed"), TypeError, "rng must be None, an int seed"),
])
def test_augment_errors(kwargs, error, message):
    x = np.zeros((2, 1, 4, 4), np.uint8)
    rng = kwargs.pop("rng", None)
    with pytest.raises(error, match=message):
        augment(x, rng, **kwargs)


def test_augment_needs_flip_and_an_image_batch():
    with pytest.raises(TypeError, match="flip"):
        augment(np.zeros((2, 1, 4, 4), np.uint8), 0)
    with pytest.raises(ValueError, match=r"images must have shape \(N, C, H, W\)"):
        augment(np.zeros((1, 4, 4), np.uint8), 0, flip=False)


# ----------------------------------------------------------------------------- batches

def test_batches_visit_every_example_once():
    x = np.arange(23)
    y = np.arange(23) * 10
    it = batches((x, y), 5, rng=0)
    assert isinstance(it, BatchIterator) and len(it) == 5
    got = list(it)
    assert [len(b[0]) for b in got] == [5, 5, 5, 5, 3]
    seen = np.concatenate([b[0] for b in got])
    assert sorted(seen) == list(range(23)) and not np.array_equal(seen, x)
    for bx, by in got:
        np.testing.assert_array_equal(by, bx * 10)                        # arrays stay aligned
    np.testing.assert_array_equal(seen, it.order)


def test_batches_are_seeded_and_repeatable():
    x = np.arange(50)
    first = [b.copy() for b in batches(x, 8, rng=np.random.default_rng(5))]
    again = [b.copy() for b in batches(x, 8, rng=5)]
    other = [b.copy() for b in batches(x, 8, rng=6)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    it = batches(x, 8, rng=5)
    assert all(np.array_equal(a, b) for a, b in zip(it, it))             # iterating twice: same order


def test_batches_draw_one_permutation_from_the_generator():
    gen = np.random.default_rng(9)
    it = batches(np.arange(10), 3, rng=gen)
    np.testing.assert_array_equal(it.order, np.random.default_rng(9).permutation(10))
    second = batches(np.arange(10), 3, rng=gen)                          # the next epoch differs
    assert not np.array_equal(second.order, it.order)


def test_batches_in_order_and_drop_last():
    x = np.arange(10)
    assert [b.tolist() for b in batches(x, 4, shuffle=False)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [b.tolist() for b in batches(x, 4, shuffle=False, drop_last=True)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(batches(x, 4, drop_last=True)) == 2
    assert list(batches(np.arange(0), 4)) == [] and len(batches(np.arange(0), 4)) == 0


def test_batches_of_a_dataset_are_copies(rng):
    ds = Dataset(rng.integers(0, 256, size=(10, 1, 2, 2), dtype=np.uint8), np.arange(10) % 3)
    for images, labels in batches(ds, 4, shuffle=False):
        assert images.dtype == np.uint8 and labels.dtype == np.int64
        assert not np.shares_memory(images, ds.images)
    (images, labels), = batches(ds, 10, rng=1)
    order = batches(ds, 10, rng=1).order
    np.testing.assert_array_equal(images, ds.images[order])
    np.testing.assert_array_equal(labels, ds.labels[order])


@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_start_resumes_mid_epoch(drop_last):
    x = np.arange(37)
    full = [b.copy() for b in batches(x, 5, rng=11, drop_last=drop_last)]
    for k in (0, 3, len(full)):
        rest = list(batches(x, 5, rng=11, drop_last=drop_last, start=k))
        assert len(batches(x, 5, rng=11, drop_last=drop_last, start=k)) == len(full) - k == len(rest)
        assert all(np.array_equal(a, b) for a, b in zip(full[k:], rest))


@pytest.mark.parametrize("args, kwargs, error, message", [
    (([[1, 2]], 2), {}, TypeError, "data must be a Dataset, an ndarray or a non-empty tuple"),
    (((), 2), {}, TypeError, "non-empty tuple of ndarrays"),
    (((np.zeros(3), np.zeros(4)), 2), {}, ValueError, r"same first dimension, got lengths \[3, 4\]"),
    ((np.array(3.0), 2), {}, ValueError, "at least one dimension"),
    ((np.zeros(3), 0), {}, ValueError, "batch_size must be >= 1"),
    ((np.zeros(3), 2.0), {}, TypeError, "batch_size must be an integer"),
    ((np.zeros(3), 2), dict(shuffle=1), TypeError, "shuffle must be True or False"),
    ((np.zeros(3), 2), dict(drop_last=None), TypeError, "drop_last must be True or False"),
    ((np.zeros(3), 2), dict(start=3), ValueError, r"start must be <= the number of batches \(2\)"),
    ((np.zeros(3), 2), dict(start=-1), ValueError, "start must be >= 0"),
    ((np.zeros(3), 2), dict(rng=1.5), TypeError, "rng must be None, an int seed"),
])
def test_batches_errors(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        batches(*args, **kwargs)


def test_num_batches():
    assert num_batches(10, 3) == 4 and num_batches(10, 3, True) == 3
    assert num_batches(9, 3) == 3 == num_batches(9, 3, drop_last=True)
    assert num_batches(0, 3) == 0
    with pytest.raises(ValueError, match="n must be >= 0"):
        num_batches(-1, 3)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        num_batches(3, 0)
    with pytest.raises(TypeError, match="drop_last must be True or False"):
        num_batches(3, 1, "no")
