"""The "python version" of CIFAR-10: pickled batches.

The official archive ``cifar-10-python.tar.gz`` unpacks to a directory
``cifar-10-batches-py/`` holding ``data_batch_1`` … ``data_batch_5`` (the
50,000 training images) and ``test_batch`` (10,000 test images), plus
``batches.meta`` (class names). Each batch is a pickled dict written by
Python 2 whose keys are byte strings:

* ``b"data"`` — a uint8 array of shape (10000, 3072): each row is one 32×32
  colour image, the 1024 red values first, then green, then blue, each
  channel row-major. So ``data.reshape(-1, 3, 32, 32)`` is exactly NCHW.
* ``b"labels"`` — a list of 10000 integers in 0..9.

Reference: A. Krizhevsky, *Learning Multiple Layers of Features from Tiny
Images* (2009), and the CIFAR web page's "Dataset layout" section.

Unpickling can run arbitrary code, so batches are read with a restricted
unpickler that only knows how to rebuild NumPy arrays; anything else in the
file is refused. (The loaders also check each file's checksum first.)
"""

from __future__ import annotations

import codecs
import io
import pickle
from typing import Any

import numpy as np

from .._checks import describe
from .errors import DatasetError

__all__ = ["parse_cifar_batch", "CIFAR10_IMAGE_SHAPE"]

#: (channels, height, width) of a CIFAR-10 image.
CIFAR10_IMAGE_SHAPE = (3, 32, 32)
_NUM_CLASSES = 10


def _numpy_reconstruct():
    try:  # NumPy >= 2
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # NumPy 1.x
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return _reconstruct


class _BatchUnpickler(pickle.Unpickler):
    """An unpickler that can build dicts, lists, numbers, strings and NumPy arrays — nothing else."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,  # pickled by NumPy 1.x
        ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,  # pickled by NumPy 2.x
        ("numpy", "ndarray"): lambda: np.ndarray,
        ("numpy", "dtype"): lambda: np.dtype,
        ("_codecs", "encode"): lambda: codecs.encode,  # bytes pickled by Python 3, protocol 2
    }

    def find_class(self, module: str, name: str) -> Any:
        factory = self._ALLOWED.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(f"refusing to load global '{module}.{name}': a CIFAR-10 "
                                         f"batch only contains NumPy arrays and lists")
        return factory()


def parse_cifar_batch(data: bytes, filename: str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Decode one pickled CIFAR-10 batch.

    Parameters
    ----------
    data : bytes
        The content of e.g. ``data_batch_1``.
    filename : str
        Used in error messages only.

    Returns
    -------
    images : ndarray, uint8, shape (n, 3, 32, 32)
        NCHW, channels in RGB order.
    labels : ndarray, int64, shape (n,)
        Class indices in 0..9.

    Raises
    ------
    DatasetError
        The bytes are not a pickle, are truncated, contain anything but
        arrays / lists / numbers / strings, lack the ``data`` or ``labels``
        key, or hold arrays of the wrong dtype, shape or range; the message
        names ``filename``.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {describe(data)}")
    if not isinstance(filename, str):
        raise TypeError(f"filename must be a string, got {describe(filename)}")
    try:
        batch = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # a corrupt pickle can fail in many ways; all mean the same here
        raise DatasetError(f"{filename}: not a valid CIFAR-10 batch: cannot unpickle it "
                           f"({type(exc).__name__}: {exc})") from exc
    if not isinstance(batch, dict):
        raise DatasetError(f"{filename}: not a valid CIFAR-10 batch: expected a pickled dict, "
                           f"got {type(batch).__name__}")
    # Python 2 pickles (the official files) have byte-string keys; accept str keys too.
    batch = {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    missing = [k for k in ("data", "labels") if k not in batch]
    if missing:
        raise DatasetError(f"{filename}: not a valid CIFAR-10 batch: missing key(s) {missing}; "
                           f"found {sorted(map(str, batch))}")
    images, labels = batch["data"], batch["labels"]
    n_pixels = int(np.prod(CIFAR10_IMAGE_SHAPE))
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 \
            or images.shape[1] != n_pixels:
        raise DatasetError(f"{filename}: 'data' must be a uint8 array of shape (n, {n_pixels}), "
                           f"got {describe(images)}")
    try:
        label_array = np.asarray(labels)
        if label_array.shape == (0,):  # an empty list is float64 to NumPy
            label_array = label_array.astype(np.int64)
    except (ValueError, TypeError):  # ragged nested lists
        label_array = None
    if label_array is None or label_array.ndim != 1 or label_array.dtype.kind not in "iu":
        raise DatasetError(f"{filename}: 'labels' must be a list of integers, got {describe(labels)}")
    labels = label_array
    if len(labels) != len(images):
        raise DatasetError(f"{filename}: {len(images)} images but {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() >= _NUM_CLASSES):
        raise DatasetError(f"{filename}: labels must lie in 0..{_NUM_CLASSES - 1}, "
                           f"got values from {labels.min()} to {labels.max()}")
    return images.reshape((-1,) + CIFAR10_IMAGE_SHAPE).copy(), labels.astype(np.int64)
