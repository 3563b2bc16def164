"""Batching, normalisation and data augmentation for image batches of shape (N, C, H, W).

The training pipeline of the paper (Garipov et al., 2016, Section 5; see
``docs/paper.md``) is, for every mini-batch::

    x = augment(batch_images, rng, flip=dataset.horizontal_flip)   # pad 4, random crop, flip, contrast
    x = normalizer(x)                                              # (x - mean_c) / std_c, float32

with ``normalizer = Normalizer.fit(train.images)``; evaluation only
normalises. Every function here works on a whole batch at once: there is no
Python loop over images (the tests compare each one with a loop-per-image
twin).
"""

from __future__ import annotations

import numbers
from typing import Any, Iterator, Sequence

import numpy as np

from .._checks import (as_float_array, check_bool, check_dtype, check_finite, check_int, check_rng,
                       describe)

__all__ = ["zero_pad", "Normalizer", "augment", "batches", "num_batches", "BatchIterator"]


def _check_images(images: Any, name: str = "images") -> np.ndarray:
    """A real numeric ndarray of shape (N, C, H, W); integers and floats keep their dtype."""
    if not isinstance(images, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array of shape (N, C, H, W), got {describe(images)}")
    if images.dtype.kind not in "uif":
        raise TypeError(f"{name} must have an integer or floating dtype, got {images.dtype}")
    if images.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {images.ndim} dimensions "
                         f"(shape {images.shape})")
    return images


def zero_pad(images: np.ndarray, pad: int) -> np.ndarray:
    """Surround every image with ``pad`` rows / columns of zeros on each side.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
        Any numeric dtype; kept.
    pad : int
        Number of zero pixels added on each of the four sides (>= 0).

    Returns
    -------
    ndarray, shape (N, C, H + 2·pad, W + 2·pad)
        A new array; the original image sits at ``[..., pad:pad+H, pad:pad+W]``.

    Examples
    --------
    Fashion-MNIST's 28×28 images become 32×32 with ``zero_pad(images, 2)``.
    """
    images = _check_images(images)
    pad = check_int(pad, "pad", minimum=0)
    n, c, h, w = images.shape
    out = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=images.dtype)
    out[:, :, pad:pad + h, pad:pad + w] = images
    return out


class Normalizer:
    """Per-channel standardisation with statistics of the training images.

    ``x̂[n, c, i, j] = (x[n, c, i, j] − μ_c) / σ_c``, where μ_c and σ_c are the
    mean and the (population, ddof = 0) standard deviation of channel c over
    all training images and pixels. Fit it once on the training split and
    apply the same object to every split, so the test set is transformed with
    training statistics only.

    Parameters
    ----------
    mean, std : array_like, shape (C,)
        Per-channel statistics in pixel units (0..255 for uint8 images);
        ``std`` must be positive.

    Attributes
    ----------
    mean, std : ndarray, float64, shape (C,)

    Examples
    --------
    >>> norm = Normalizer.fit(train.images)        # doctest: +SKIP
    >>> x = norm(test.images[:100])                # float32, (100, C, H, W)  # doctest: +SKIP
    """

    def __init__(self, mean: Any, std: Any) -> None:
        mean = as_float_array(mean, "mean", ndim=1).astype(np.float64)
        std = as_float_array(std, "std", ndim=1).astype(np.float64)
        if mean.shape != std.shape:
            raise ValueError(f"mean and std must have the same shape (C,), got {mean.shape} and {std.shape}")
        if len(mean) == 0:
            raise ValueError("mean and std must have at least one channel, got shape (0,)")
        if np.any(std <= 0):
            raise ValueError(f"std must be positive in every channel, got {std.tolist()}")
        self.mean = mean
        self.std = std

    @classmethod
    def fit(cls, images: np.ndarray, *, chunk_size: int = 4096) -> "Normalizer":
        """Compute per-channel mean and standard deviation of ``images``.

        Parameters
        ----------
        images : ndarray, shape (N, C, H, W)
            Training images, any real dtype (typically uint8).
        chunk_size : int
            Images converted to float64 at a time (bounds the memory used:
            the whole CIFAR-10 training set in float64 would be 1.2 GB).

        Returns
        -------
        Normalizer

        Raises
        ------
        ValueError
            Empty ``images``, non-finite values, or a constant channel (σ_c = 0).
        """
        images = _check_images(images)
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
        n, c, h, w = images.shape
        if n == 0 or h * w == 0:
            raise ValueError(f"images must not be empty, got shape {images.shape}")
        count = n * h * w
        total = np.zeros(c)
        for start in range(0, n, chunk_size):  # two passes: the mean, then squared deviations
            block = images[start:start + chunk_size].astype(np.float64)
            check_finite(block, "images")
            total += block.sum(axis=(0, 2, 3))
        mean = total / count
        squares = np.zeros(c)
        for start in range(0, n, chunk_size):
            block = images[start:start + chunk_size].astype(np.float64) - mean[:, None, None]
            squares += np.einsum("nchw,nchw->c", block, block)
        std = np.sqrt(squares / count)
        if np.any(std == 0):
            raise ValueError(f"images has a constant channel (std = 0 in channel(s) "
                             f"{np.flatnonzero(std == 0).tolist()}); it cannot be standardised")
        return cls(mean, std)

    def __call__(self, images: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        """Standardise ``images`` (N, C, H, W) → a new array of ``dtype`` (float32 by default)."""
        images = _check_images(images)
        dtype = check_dtype(dtype)
        if images.shape[1] != len(self.mean):
            raise ValueError(f"images must have {len(self.mean)} channel(s) (the normalizer was fitted "
                             f"on {len(self.mean)}), got shape {images.shape}")
        mean = self.mean.astype(dtype)[:, None, None]
        scale = (1.0 / self.std).astype(dtype)[:, None, None]
        return (images.astype(dtype, copy=False) - mean) * scale

    def inverse(self, x: np.ndarray) -> np.ndarray:
        """Undo the standardisation: ``x·σ_c + μ_c`` (for showing normalised images), same dtype."""
        x = as_float_array(x, "x", ndim=4, finite=False)
        if x.shape[1] != len(self.mean):
            raise ValueError(f"x must have {len(self.mean)} channel(s), got shape {x.shape}")
        return x * self.std.astype(x.dtype)[:, None, None] + self.mean.astype(x.dtype)[:, None, None]

    def __repr__(self) -> str:
        fmt = lambda a: "[" + ", ".join(f"{v:.4g}" for v in a) + "]"  # noqa: E731
        return f"Normalizer(mean={fmt(self.mean)}, std={fmt(self.std)})"


def _check_contrast(contrast: Any) -> tuple[float, float] | None:
    if contrast is None:
        return None
    if isinstance(contrast, (str, bytes)) or not isinstance(contrast, (Sequence, np.ndarray)) \
            or len(contrast) != 2:
        raise TypeError(f"contrast must be None or a pair (low, high), got {describe(contrast)}")
    low, high = contrast
    for v in (low, high):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise TypeError(f"contrast must hold two finite real numbers, got {describe(contrast)}")
    if not 0 <= low <= high:
        raise ValueError(f"contrast must satisfy 0 <= low <= high, got ({low}, {high})")
    return float(low), float(high)


def _draw_augmentation(rng: np.random.Generator, n: int, pad: int, flip: bool,
                       contrast: tuple[float, float] | None) -> dict[str, np.ndarray | None]:
    """The random choices of :func:`augment` for ``n`` images, drawn in a fixed order.

    Returns ``offsets`` (n, 2) crop corners in the padded image (row, column),
    ``flips`` (n,) bool and ``factors`` (n,) contrast factors (None without contrast).
    """
    offsets = rng.integers(0, 2 * pad + 1, size=(n, 2))
    flips = rng.random(n) < 0.5 if flip else np.zeros(n, dtype=bool)
    factors = rng.uniform(contrast[0], contrast[1], size=n) if contrast is not None else None
    return {"offsets": offsets, "flips": flips, "factors": factors}


def _apply_augmentation(images: np.ndarray, pad: int, offsets: np.ndarray, flips: np.ndarray,
                        factors: np.ndarray | None, dtype: np.dtype) -> np.ndarray:
    """Crop, flip and re-contrast every image in one gather and a few broadcasts."""
    n, c, h, w = images.shape
    padded = zero_pad(images, pad)
    rows = offsets[:, 0, None] + np.arange(h)                 # (n, h): source row of each output row
    cols = offsets[:, 1, None] + np.arange(w)                 # (n, w)
    cols = np.where(flips[:, None], cols[:, ::-1], cols)      # a flipped crop reads its columns backwards
    out = padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                 rows[:, None, :, None], cols[:, None, None, :]].astype(dtype)
    if factors is not None:  # TensorFlow's adjust_contrast: (x − mean) · f + mean, per image and channel
        mean = out.mean(axis=(2, 3), keepdims=True)
        out -= mean                                           # in place: out is our own copy
        out *= factors.astype(dtype)[:, None, None, None]
        out += mean
    return out


def augment(images: np.ndarray, rng: Any = None, *, flip: bool, pad: int = 4,
            contrast: tuple[float, float] | None = (0.75, 1.25)) -> np.ndarray:
    """The paper's training augmentation, applied to a whole batch at once.

    For each image independently (Garipov et al., 2016, Section 5):

    1. zero-pad ``pad`` pixels on every side and crop an H×W window at a
       uniformly random position (for 32×32 images and ``pad=4``: a random
       32×32 crop of the 40×40 padded image);
    2. with ``flip``, mirror it left–right with probability 1/2 (the paper
       does this for CIFAR-10 only; see ``Dataset.horizontal_flip``);
    3. with ``contrast=(low, high)``, draw f ~ U(low, high) and set every
       channel c to ``(x_c − mean(x_c))·f + mean(x_c)`` (the mean over that
       image's pixels, as TensorFlow's ``random_contrast``; no clipping).

    Apply it to raw pixel values (before :class:`Normalizer`), so padding is
    black. The random numbers are drawn from ``rng`` in this order: crop
    offsets ``integers(0, 2·pad+1, (N, 2))``, then (with ``flip``) ``random(N)``,
    then (with ``contrast``) ``uniform(low, high, N)``.

    Parameters
    ----------
    images : ndarray, shape (N, C, H, W)
        uint8 (or any integer) or float images.
    rng : np.random.Generator, int seed or None
    flip : bool
        Whether to use random horizontal flips (keyword, required: it depends
        on the data set).
    pad : int
        Padding before the random crop; 0 disables cropping.
    contrast : (float, float) or None
        Range of the contrast factor, ``0 <= low <= high``; None disables it.

    Returns
    -------
    ndarray, shape (N, C, H, W)
        A new array: float32 for integer input, else the input's float dtype.
    """
    images = _check_images(images)
    rng = check_rng(rng)
    flip = check_bool(flip, "flip")
    pad = check_int(pad, "pad", minimum=0)
    contrast = _check_contrast(contrast)
    dtype = images.dtype if images.dtype.kind == "f" else np.dtype(np.float32)
    draws = _draw_augmentation(rng, len(images), pad, flip, contrast)
    return _apply_augmentation(images, pad, draws["offsets"], draws["flips"], draws["factors"],
                               dtype)


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Number of batches :func:`batches` yields for ``n`` examples: ⌈n/B⌉, or ⌊n/B⌋ with ``drop_last``."""
    n = check_int(n, "n", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    drop_last = check_bool(drop_last, "drop_last")
    return n // batch_size if drop_last else -(-n // batch_size)


class BatchIterator:
    """The mini-batches of one pass over a data set (what :func:`batches` returns).

    ``len()`` is the number of batches; iterating yields them in the order
    fixed when the object was made (iterating twice gives the same batches).

    Attributes
    ----------
    order : ndarray, int64, shape (N,)
        The example order of this pass (a permutation with ``shuffle=True``).
    """

    def __init__(self, arrays: tuple[np.ndarray, ...], order: np.ndarray, batch_size: int,
                 drop_last: bool, start: int, single: bool) -> None:
        self._arrays = arrays
        self.order = order
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.start = start
        self._single = single

    def __len__(self) -> int:
        return max(num_batches(len(self.order), self.batch_size, self.drop_last) - self.start, 0)

    def __iter__(self) -> Iterator[Any]:
        total = num_batches(len(self.order), self.batch_size, self.drop_last)
        for k in range(self.start, total):
            idx = self.order[k * self.batch_size:(k + 1) * self.batch_size]
            batch = tuple(a[idx] for a in self._arrays)
            yield batch[0] if self._single else batch


def batches(data: Any, batch_size: int, *, shuffle: bool = True, rng: Any = None,
            drop_last: bool = False, start: int = 0) -> BatchIterator:
    """Split a data set into mini-batches, optionally in a seeded random order.

    Parameters
    ----------
    data : Dataset, ndarray, or tuple / list of ndarrays
        A :class:`~ttnet.data.Dataset` yields ``(images, labels)`` batches; a
        tuple of arrays with the same first dimension N yields tuples of
        batches; a single array yields arrays.
    batch_size : int
        B, examples per batch; the last batch is smaller unless ``drop_last``.
    shuffle : bool
        Visit the examples in the order ``rng.permutation(N)`` (drawn once,
        now) instead of 0..N−1.
    rng : np.random.Generator, int seed or None
        Source of the permutation; the same seed gives the same batches.
    drop_last : bool
        Leave out a last batch smaller than B (BatchNorm dislikes tiny batches).
    start : int
        Skip the first ``start`` batches. The permutation is drawn exactly as
        without it, so ``batches(d, B, rng=r, start=k)`` yields batches k, k+1, …
        of ``batches(d, B, rng=r)`` — resuming in the middle of an epoch.

    Returns
    -------
    BatchIterator
        Iterable with ``len()``; batches are new arrays (copies), never views
        of ``data``.

    Examples
    --------
    >>> for x, y in batches(train, 128, rng=np.random.default_rng(0)):   # doctest: +SKIP
    ...     ...                                     # x: (128, C, H, W) uint8, y: (128,) int64
    """
    from .datasets import Dataset  # datasets imports this module

    if isinstance(data, Dataset):
        arrays, single = (data.images, data.labels), False
    elif isinstance(data, np.ndarray):
        arrays, single = (data,), True
    elif isinstance(data, (tuple, list)) and data and all(isinstance(a, np.ndarray) for a in data):
        arrays, single = tuple(data), False
    else:
        raise TypeError(f"data must be a Dataset, an ndarray or a non-empty tuple of ndarrays, "
                        f"got {describe(data)}")
    if any(a.ndim == 0 for a in arrays):
        raise ValueError("data arrays must have at least one dimension (the examples), got a 0-d array")
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(f"data arrays must have the same first dimension, got lengths {lengths}")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    shuffle = check_bool(shuffle, "shuffle")
    drop_last = check_bool(drop_last, "drop_last")
    start = check_int(start, "start", minimum=0)
    n = lengths[0]
    total = num_batches(n, batch_size, drop_last)
    if start > total:
        raise ValueError(f"start must be <= the number of batches ({total}), got {start}")
    rng = check_rng(rng)
    order = rng.permutation(n) if shuffle else np.arange(n)
    return BatchIterator(arrays, order.astype(np.int64), batch_size, drop_last, start, single)
